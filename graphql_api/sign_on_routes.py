"""The HTTP routes of single sign-on, beside `/auth/refresh`.

    GET /auth/oidc/login      -> 302 to the provider (state, nonce, PKCE), the flow in a cookie
    GET /auth/oidc/callback   -> 303 to `/?sso=signed-in`, the "keep me signed in" cookie set

The page then exchanges that cookie at `POST /auth/refresh` for its token, as after a kept
password login. A refused sign-in comes back as `/?sso_error=<reason>` (a stable reason the
page words in its language), with no cookie.

The flow cookie is SameSite=Lax, not Strict like the refresh cookie: it must ride on the
provider's redirect back, a top-level navigation from another site. It holds only what this
browser's own callback needs, signed, for ten minutes, and is cleared by the callback.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from graphql_api.errors import ApiError
from graphql_api.refresh_cookie import set_refresh_cookie
from graphql_api.services.accounts import ClientInfo
from graphql_api.services.single_sign_on import FLOW_SECONDS, SingleSignOn
from graphql_api.settings import OIDC_CALLBACK_PATH, OIDC_LOGIN_PATH, Settings

FLOW_COOKIE = "chat_oidc"
FLOW_PATH = "/auth/oidc"
SIGNED_IN = "signed-in"


def sign_on_routes(settings: Settings) -> list[Route]:
    """The two routes; with no provider configured they answer 404."""

    def secure(request: Request) -> bool:
        return request.url.scheme == "https" or settings.public_url.startswith("https://")

    def back_to_page(request: Request, **query: str) -> Response:
        response = RedirectResponse(f"/?{urlencode(query)}", status_code=303)
        response.headers["cache-control"] = "no-store"
        response.delete_cookie(
            FLOW_COOKIE, path=FLOW_PATH, secure=secure(request), httponly=True, samesite="lax"
        )
        return response

    def provider(request: Request) -> SingleSignOn | None:
        found: SingleSignOn | None = request.state.services.single_sign_on
        return found

    async def login(request: Request) -> Response:
        sign_on = provider(request)
        if sign_on is None:
            return PlainTextResponse("single sign-on is not configured", status_code=404)
        try:
            url, flow = await sign_on.start()
        except ApiError as refused:
            return back_to_page(request, sso_error=refused.extra.get("reason", "sso_failed"))
        response = RedirectResponse(url, status_code=302)
        response.headers["cache-control"] = "no-store"
        response.set_cookie(
            FLOW_COOKIE,
            flow,
            max_age=FLOW_SECONDS,
            path=FLOW_PATH,
            secure=secure(request),
            httponly=True,
            samesite="lax",
        )
        return response

    async def callback(request: Request) -> Response:
        sign_on = provider(request)
        if sign_on is None:
            return PlainTextResponse("single sign-on is not configured", status_code=404)
        client = ClientInfo(
            request.headers.get("user-agent", ""),
            request.client.host if request.client else "unknown",
        )
        try:
            _user, _token, claims = await sign_on.finish(
                request.cookies.get(FLOW_COOKIE), request.query_params, client
            )
            secret = await request.state.services.sessions.remember(claims)
        except ApiError as refused:
            return back_to_page(request, sso_error=refused.extra.get("reason", "sso_failed"))
        response = back_to_page(request, sso=SIGNED_IN)
        set_refresh_cookie(
            response, secret, max_age=settings.refresh_ttl_seconds, secure=secure(request)
        )
        return response

    return [Route(OIDC_LOGIN_PATH, login), Route(OIDC_CALLBACK_PATH, callback)]
