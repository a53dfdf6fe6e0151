"""The "keep me signed in" cookie: HttpOnly (page scripts cannot read it), SameSite=Strict
(no other site's request carries it), sent only to `/auth` (where it is exchanged), and
Secure whenever the page is served over HTTPS.

    set_refresh_cookie(response, secret, max_age=settings.refresh_ttl_seconds, secure=True)
    clear_refresh_cookie(response)
"""

from __future__ import annotations

from starlette.responses import Response

REFRESH_COOKIE = "chat_refresh"
REFRESH_PATH = "/auth"
# A request to exchange the cookie must carry this header: a form or an image on another
# site cannot, and a script on another origin would need a preflight that CORS refuses.
REFRESH_HEADER = "x-chat-refresh"


def set_refresh_cookie(response: Response, secret: str, *, max_age: int, secure: bool) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        secret,
        max_age=max_age,
        path=REFRESH_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_refresh_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        REFRESH_COOKIE, path=REFRESH_PATH, secure=secure, httponly=True, samesite="strict"
    )
