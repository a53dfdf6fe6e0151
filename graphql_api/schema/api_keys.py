"""API keys: making, listing and revoking them (only from a password session)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from graphql_api.records import ApiKeyRecord
from graphql_api.schema.context import Info


@strawberry.type(description="One of your API keys (the key itself is shown only once).")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="The key's id (for revokeApiKey).")
    name: str = strawberry.field(description="What you called it.")
    created_at: datetime = strawberry.field(description="When it was made.")
    last_used_at: datetime | None = strawberry.field(
        description="When it was last used (to within a few seconds), if ever."
    )

    @classmethod
    def from_record(cls, key: ApiKeyRecord) -> ApiKey:
        return cls(
            id=strawberry.ID(str(key.id)),
            name=key.name,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
        )


@strawberry.type(description="A new API key: `key` is shown this once and never again.")
class ApiKeySecret:
    key: str = strawberry.field(
        description="The key (`e2c_...`): send it as `Authorization: Bearer <key>`."
    )
    api_key: ApiKey = strawberry.field(description="The key as it will be listed.")


@strawberry.type(description="Your API keys.")
class Query:
    @strawberry.field(description="Your API keys not revoked, newest first.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        listed = await info.context.services.api_keys.list(info.context.user_id)
        return [ApiKey.from_record(key) for key in listed]


@strawberry.type(description="Your API keys.")
class Mutation:
    @strawberry.mutation(
        description="Make an API key for a program (FORBIDDEN when asked with an API key)."
    )
    async def create_api_key(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description="What the key is for.")],
    ) -> ApiKeySecret:
        secret, key = await info.context.services.api_keys.create(
            info.context.session_user_id, name
        )
        return ApiKeySecret(key=secret, api_key=ApiKey.from_record(key))

    @strawberry.mutation(
        description="End one of your API keys at once, everywhere (FORBIDDEN with an API key)."
    )
    async def revoke_api_key(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The key's id.")],
    ) -> bool:
        await info.context.services.api_keys.revoke(info.context.session_user_id, id)
        return True
