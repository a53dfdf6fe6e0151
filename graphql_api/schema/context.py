"""The context resolvers receive as `info.context`: the services, and who is asking.

user_id = info.context.user_id      # raises Unauthenticated without a valid token
                                    # (FORBIDDEN while an admin's reset awaits a new password)
page = await info.context.posts_page(conversation_id, first=..., ...)
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from graphql_api.errors import ApiError, Forbidden, Unauthenticated
from graphql_api.records import PostRecord, QuotaRecord, UsageDayRecord
from graphql_api.security import InvalidToken, TokenClaims
from graphql_api.services.api_keys import is_api_key
from graphql_api.services.pagination import Page, PageWindow

if TYPE_CHECKING:
    from graphql_api.services.wiring import Services

BEARER = "bearer "
PostsKey: TypeAlias = tuple[int, PageWindow]
# A place in a conversation's tree: (conversation, parent post).
PlaceKey: TypeAlias = tuple[int, int | None]
# A user's usage over a number of days: (user, days).
UsageKey: TypeAlias = tuple[int, int]


@dataclass
class Context:
    services: Services
    request_id: str
    authorization: str | None = None
    client_address: str = "unknown"
    connection_params: dict[str, Any] | None = None
    # The WebSocket this context belongs to (None over HTTP).
    websocket: Any = None
    # Over HTTP: the response being made (for cookies), and what the browser says it is.
    response: Any = None
    user_agent: str = ""
    secure: bool = False
    # The HTTP request or WebSocket, for what few resolvers read of it (`base_url`).
    request: Any = None
    _claims: TokenClaims | None = None
    # Why the API key given could not be read (too many wrong keys): raised when it is used.
    _credentials_error: ApiError | None = None

    @property
    def base_url(self) -> str:
        """Where the client reached this API ("https://chat.example/"), for links it is
        given; made when asked for, since making it cost more than the rest of a context."""
        return str(self.request.base_url) if self.request is not None else ""

    @property
    def claims(self) -> TokenClaims:
        """The caller's verified token, checked again on each use (long-lived WebSockets)."""
        if self._claims is None:
            self._claims = self._verify(self.authorization)
        if (
            self._claims.expires_at <= time.time()
            or self._claims.jti in self.services.accounts.revoked
        ):
            raise Unauthenticated("your session has ended; log in again", reason="session_ended")
        self.services.accounts.refuse_until_password_chosen(
            self._claims, choosing=_choosing_password.get()
        )
        return self._claims

    @property
    def user_id(self) -> int:
        return self.claims.user_id

    @property
    def session_user_id(self) -> int:
        """The caller, for what needs a password session: FORBIDDEN with an API key."""
        claims = self.claims
        if claims.api_key_id is not None:
            raise Forbidden(
                "an API key cannot do this; sign in with your password",
                reason="api_key_not_allowed",
            )
        return claims.user_id

    def require_password_session(self) -> None:
        """FORBIDDEN for an API key: what only a person signed in with a password may do."""
        self._claims = self.claims
        self.session_user_id  # noqa: B018  # the property raises

    async def load_credentials(self, authorization: object = None) -> None:
        """Read the caller's API key from the database if this process does not hold it
        (the checks that follow cannot wait); nothing to do for a token."""
        given = self.authorization if authorization is None else authorization
        if isinstance(given, str) and given.lower().startswith(BEARER):
            token = given[len(BEARER) :].strip()
            if is_api_key(token):
                try:
                    await self.services.api_keys.load(token, self.client_address)
                except ApiError as refused:
                    self._credentials_error = refused
            else:
                await self.services.accounts.confirm_password_change(token)

    def require_session(self) -> None:
        """For what only signed-in users see but that is not theirs: UNAUTHENTICATED else."""
        self._claims = self.claims

    def authenticate(self, authorization: object) -> TokenClaims:
        """Verify a token given after the context was made (WebSocket `connection_init`)."""
        self.authorization = authorization if isinstance(authorization, str) else None
        self._claims = self._verify(self.authorization)
        return self._claims

    def _verify(self, authorization: str | None) -> TokenClaims:
        if not authorization or not authorization.lower().startswith(BEARER):
            raise Unauthenticated(
                "log in first: send Authorization: Bearer <token>", reason="not_signed_in"
            )
        token = authorization[len(BEARER) :].strip()
        if self._credentials_error is not None:
            raise self._credentials_error
        try:
            if is_api_key(token):
                return self.services.api_keys.authenticate(token)
            return self.services.accounts.authenticate(token)
        except InvalidToken:
            raise Unauthenticated(
                "your session has ended; log in again", reason="session_ended"
            ) from None

    async def posts_page(
        self,
        conversation_id: int,
        *,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
    ) -> Page[PostRecord]:
        """A page of a conversation's posts; pages asked for together load together."""
        settings = self.services.settings
        window = PageWindow.of(
            first=first,
            after=after,
            last=last,
            before=before,
            default=settings.max_page_size,
            max_size=settings.max_page_size,
        )
        loaders = _operation_loaders.get() or OperationLoaders()  # outside an operation
        return await loaders.posts(self).load((conversation_id, window))

    async def siblings(self, conversation_id: int, parent_id: int | None) -> list[int]:
        """The versions at one place of a tree; the places asked for together load together."""
        loaders = _operation_loaders.get() or OperationLoaders()
        return await loaders.siblings(self).load((conversation_id, parent_id))

    async def siblings_many(self, places: list[PlaceKey]) -> list[list[int]]:
        """The versions at several places at once (a page's posts), batched like `siblings`."""
        loaders = _operation_loaders.get() or OperationLoaders()
        return await loaders.sibling_pages(self).load(tuple(places))

    async def usage_days(self, user_id: int, days: int) -> list[UsageDayRecord]:
        """A user's usage (theirs, or any for an admin); a page of users loads together."""
        loaders = _operation_loaders.get() or OperationLoaders()
        return await loaders.usage(self).load((user_id, days))

    async def quota(self, user_id: int) -> QuotaRecord | None:
        """A user's quota (theirs, or any for an admin); a page of users loads together."""
        loaders = _operation_loaders.get() or OperationLoaders()
        return await loaders.quotas(self).load(user_id)


class OperationLoaders:
    """The DataLoaders of one operation (the pipeline sets fresh ones for each). A WebSocket
    keeps one `Context` for its whole life, so loaders kept there would cache every page the
    socket ever asked for, and answer later queries from it."""

    def __init__(self) -> None:
        self._posts: DataLoader[PostsKey, Page[PostRecord]] | None = None
        self._siblings: DataLoader[PlaceKey, list[int]] | None = None
        self._sibling_pages: DataLoader[tuple[PlaceKey, ...], list[list[int]]] | None = None
        self._usage: DataLoader[UsageKey, list[UsageDayRecord]] | None = None
        self._quotas: DataLoader[int, QuotaRecord | None] | None = None

    def usage(self, context: Context) -> DataLoader[UsageKey, list[UsageDayRecord]]:
        if self._usage is None:
            services = context.services
            viewer = context.user_id

            async def load(keys: list[UsageKey]) -> list[list[UsageDayRecord]]:
                await services.accounts.require_self_or_admin(viewer, {user for user, _ in keys})
                found: dict[UsageKey, list[UsageDayRecord]] = {}
                for days in {days for _, days in keys}:
                    users = [user for user, wanted in keys if wanted == days]
                    for user, listed in (await services.usage.days_of_many(users, days)).items():
                        found[(user, days)] = listed
                return [found[key] for key in keys]

            self._usage = DataLoader(load_fn=load)
        return self._usage

    def quotas(self, context: Context) -> DataLoader[int, QuotaRecord | None]:
        if self._quotas is None:
            services = context.services
            viewer = context.user_id

            async def load(keys: list[int]) -> list[QuotaRecord | None]:
                await services.accounts.require_self_or_admin(viewer, set(keys))
                found = await services.quotas.of_many(keys)
                return [found.get(key) for key in keys]

            self._quotas = DataLoader(load_fn=load)
        return self._quotas

    def siblings(self, context: Context) -> DataLoader[PlaceKey, list[int]]:
        if self._siblings is None:
            conversations = context.services.conversations
            user_id = context.user_id

            async def load(keys: list[PlaceKey]) -> list[list[int]]:
                found = await conversations.siblings_of_many(user_id, keys)
                return [found[key] for key in keys]

            self._siblings = DataLoader(load_fn=load)
        return self._siblings

    def sibling_pages(self, context: Context) -> DataLoader[tuple[PlaceKey, ...], list[list[int]]]:
        """The versions of a whole page's posts as one key: one future for a page, not one
        per post (a page of 50 spent more on the futures than on its query)."""
        if self._sibling_pages is None:
            conversations = context.services.conversations
            user_id = context.user_id

            async def load(pages: list[tuple[PlaceKey, ...]]) -> list[list[list[int]]]:
                places = list(dict.fromkeys(place for page in pages for place in page))
                found = await conversations.siblings_of_many(user_id, places)
                return [[found[place] for place in page] for page in pages]

            self._sibling_pages = DataLoader(load_fn=load)
        return self._sibling_pages

    def posts(self, context: Context) -> DataLoader[PostsKey, Page[PostRecord]]:
        if self._posts is None:
            conversations = context.services.conversations
            user_id = context.user_id

            async def load(keys: list[PostsKey]) -> list[Page[PostRecord]]:
                by_window: dict[PageWindow, list[int]] = {}
                for conversation_id, window in keys:
                    by_window.setdefault(window, []).append(conversation_id)
                pages: dict[PostsKey, Page[PostRecord]] = {}
                for window, ids in by_window.items():
                    loaded = await conversations.posts_of_many(user_id, ids, window)
                    for conversation_id, page in loaded.items():
                        pages[(conversation_id, window)] = page
                return [pages[key] for key in keys]

            self._posts = DataLoader(load_fn=load)
        return self._posts


_operation_loaders: ContextVar[OperationLoaders | None] = ContextVar(
    "operation_loaders", default=None
)
# Set by the pipeline for an operation that asks only for what a user whose password was
# reset may do (`me`, `changePassword`, `logout`); False anywhere else (HTTP routes too).
_choosing_password: ContextVar[bool] = ContextVar("choosing_password", default=False)


Info: TypeAlias = StrawberryInfo[Context, None]
