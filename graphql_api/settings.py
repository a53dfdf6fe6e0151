"""Settings for graphql_api, read from the environment and an optional `.env` file.

    settings = Settings()            # validated; a bad value raises with the variable's name
    settings.database_url            # "sqlite://data/chat.sqlite3" unless DATABASE_URL is set

Every variable, its meaning and its default:

| variable | meaning | default |
| --- | --- | --- |
| `APP_ENV` | `development` or `production` | `development` |
| `DATABASE_URL` | `mysql://user:pass@host/db` or `sqlite://path` | `sqlite://data/chat.sqlite3` |
| `DATABASE_POOL_SIZE` | MariaDB connections per process | `10` |
| `JWT_SECRET` | HS256 key, at least 32 bytes; required in production | random per start |
| `JWT_TTL_SECONDS` | token lifetime | `86400` |
| `REFRESH_TTL_SECONDS` | how long "keep me signed in" lasts without a visit | `2592000` |
| `REFRESH_ACCESS_TTL_SECONDS` | lifetime of the access tokens a kept sign-in gives | `900` |
| `ALLOW_SIGNUP` | whether `register` works | `true` |
| `SYSTEM_PROMPT` | the system message before every conversation | a short persona |
| `API_HOST`, `API_PORT` | where the API listens | `127.0.0.1`, `8000` |
| `API_WORKERS` | API processes on this host; more than one needs `REDIS_URL` | `1` |
| `LLM_GATEWAY_URL` | where the API finds the gateway | `http://127.0.0.1:8001` |
| `AUTO_TITLES` | a conversation's title written by the model after its first answer | `true` |
| `DEFAULT_MODEL` | the model new conversations use (a name the gateway lists) | its first |
| `LLM_REQUEST_TIMEOUT` | seconds without a byte from the gateway before an answer fails | `150` |
| `GRAPHIQL` | serve GraphiQL and allow introspection (default: on outside production) | |
| `MAX_PROMPT_CHARS` | longest prompt accepted | `32000` |
| `MAX_PAGE_SIZE` | largest `first`/`last` accepted | `100` |
| `MAX_QUERY_DEPTH`, `_ALIASES`, `_TOKENS` | GraphQL query limits | `10`, `15`, `2000` |
| `MAX_QUERY_COST` | items one operation may ask for, across pages, aliases and nesting | `1000` |
| `MAX_RESPONSE_BYTES` | largest response (or WebSocket message) sent | `16777216` |
| `LOGIN_MAX_FAILURES` | failed logins per account before `RATE_LIMITED` | `5` |
| `LOGIN_LOCKOUT_SECONDS` | window over which failures count, and lockout length | `300` |
| `REDIS_URL` | Redis for stop, re-attach and limits across API processes | unset: one process |
| `REDIS_PREFIX` | what every Redis key and channel starts with | `chat` |
| `MAX_ANSWERS_IN_FLIGHT` | answers one user may have streaming at once | `3` |
| `PROMPTS_PER_MINUTE` | prompts one user may send per minute | `20` |
| `DAILY_TOKEN_QUOTA`, `MONTHLY_TOKEN_QUOTA` | tokens per user per UTC day, month | none |
| `WS_AUTH_TIMEOUT_SECONDS` | a WebSocket must authenticate within this time | `5` |
| `MAX_SUBSCRIPTIONS_PER_CONNECTION` | subscriptions one WebSocket may hold | `10` |
| `MAX_STREAMS_PER_USER`, `_PER_PROCESS` | answers followed at once (any transport) | `20`, `2000` |
| `MAX_BODY_BYTES` | largest request body accepted | `1048576` |
| `REQUEST_HEADER_TIMEOUT` | seconds a client may take to send a request's headers | `10` |
| `REQUEST_BODY_TIMEOUT` | seconds a client may pause while sending a body | `30` |
| `LOGIN_MAX_FAILURES_PER_ADDRESS` | failed logins from one address before `RATE_LIMITED` | `30` |
| `CORS_ORIGINS` | comma-separated origins allowed to call the API from a browser | none |
| `FORWARDED_ALLOW_IPS` | proxies whose `X-Forwarded-For` is trusted | `127.0.0.1` |
| `LOG_LEVEL` | `DEBUG`, `INFO`, `WARNING` or `ERROR` | `INFO` |
| `LOG_FORMAT` | `json` or `text` | `json` in production, else `text` |
| `METRICS_ALLOW_IPS` | addresses or networks that may read `/metrics` | `127.0.0.1,::1` |
| `METRICS_TOKEN` | a bearer token that reads `/metrics` from anywhere | none |
| `SIGNUPS_PER_HOUR_PER_ADDRESS` | accounts one client address may register per hour | `10` |
| `PASSWORD_HASH_TIME_COST`, `_MEMORY_KIB`, `_PARALLELISM` | argon2id | `2`, `19456`, `1` |
| `PASSWORD_HASH_THREADS` | passwords hashed at once | the number of cores |
| `PASSWORD_HASH_QUEUE` | passwords waiting to be hashed before `RATE_LIMITED` | `256` |
| `SHARE_MISSES_PER_MINUTE` | unknown share links one address may try per minute | `30` |
| `IMPORT_MAX_BYTES` | largest import file (upload) | `52428800` |
| `IMPORT_MAX_CONVERSATIONS` | conversations one import file may hold | `5000` |
| `IMPORT_MAX_POSTS_PER_CONVERSATION` | posts one imported conversation may hold | `5000` |
| `PUBLIC_URL` | where people reach the product (sign-on returns) | `http://API_HOST:API_PORT` |
| `PASSWORD_LOGIN` | whether `login` (and `register`) take a password | `true` |
| `OIDC_ISSUER` | the OpenID provider's issuer URL; set, single sign-on is offered | unset |
| `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` | this product as a client registered with the provider | |
| `OIDC_SCOPES` | the scopes asked for (space-separated, with `openid`) | `openid email profile` |
| `OIDC_NAME` | the provider's name on the button ("Log in with …") | `single sign-on` |
"""

from __future__ import annotations

import secrets
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful, honest assistant. Answer clearly and concisely; "
    "say so when you do not know."
)
MIN_SECRET_BYTES = 32
# Single sign-on's routes: the callback, under PUBLIC_URL, is what the provider registers.
OIDC_LOGIN_PATH = "/auth/oidc/login"
OIDC_CALLBACK_PATH = "/auth/oidc/callback"
# OWASP's argon2id configurations trade memory for passes at about this product of the two
# (m=47104 KiB with t=1 ... m=7168 KiB with t=5); nothing weaker is accepted.
MIN_ARGON2_MEMORY_KIB = 7168
MIN_ARGON2_MEMORY_TIME = 35_840


class Settings(BaseSettings):
    """The API's configuration; see the module docstring for every variable."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    app_env: Literal["development", "production"] = "development"
    database_url: str = "sqlite://data/chat.sqlite3"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    jwt_secret: str = ""
    jwt_ttl_seconds: int = Field(default=86_400, ge=60)
    refresh_ttl_seconds: int = Field(default=30 * 86_400, ge=3600)
    refresh_access_ttl_seconds: int = Field(default=900, ge=60)
    allow_signup: bool = True
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65_535)
    api_workers: int = Field(default=1, ge=1, le=64)
    llm_gateway_url: str = "http://127.0.0.1:8001"
    default_model: str | None = None
    auto_titles: bool = True
    # Longer than the gateway's queue wait plus its first-token limit (60 + 60 s by default),
    # so that the gateway, which knows why, is the one to give up.
    llm_request_timeout: float = Field(default=150.0, gt=0)
    graphiql: bool | None = None
    max_prompt_chars: int = Field(default=32_000, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    max_query_depth: int = Field(default=10, ge=2)
    max_query_aliases: int = Field(default=15, ge=1)
    max_query_tokens: int = Field(default=2_000, ge=50)
    max_query_cost: int = Field(default=1_000, ge=1)
    max_response_bytes: int = Field(default=16 << 20, ge=1 << 16)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=300, ge=1)
    redis_url: str | None = None
    redis_prefix: str = Field(default="chat", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    max_answers_in_flight: int = Field(default=3, ge=1)
    prompts_per_minute: int = Field(default=20, ge=1)
    # Tokens (prompt and answer) each user may use per UTC day and month, unless an admin
    # sets their own; none by default.
    daily_token_quota: int | None = Field(default=None, ge=0, le=2**31 - 1)
    monthly_token_quota: int | None = Field(default=None, ge=0, le=2**31 - 1)
    ws_auth_timeout_seconds: float = Field(default=5.0, gt=0)
    max_subscriptions_per_connection: int = Field(default=10, ge=1)
    max_streams_per_user: int = Field(default=20, ge=1)
    max_streams_per_process: int = Field(default=2000, ge=1)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    request_header_timeout: float = Field(default=10.0, gt=0)
    request_body_timeout: float = Field(default=30.0, gt=0)
    login_max_failures_per_address: int = Field(default=30, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = []
    forwarded_allow_ips: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] | None = None
    metrics_allow_ips: str = "127.0.0.1,::1"
    metrics_token: str | None = Field(default=None, min_length=16)
    signups_per_hour_per_address: int = Field(default=10, ge=1)
    password_hash_time_cost: int = Field(default=2, ge=1, le=20)
    password_hash_memory_kib: int = Field(default=19_456, ge=MIN_ARGON2_MEMORY_KIB, le=1 << 21)
    password_hash_parallelism: int = Field(default=1, ge=1, le=16)
    password_hash_threads: int | None = Field(default=None, ge=1, le=64)
    password_hash_queue: int = Field(default=256, ge=0)
    share_misses_per_minute: int = Field(default=30, ge=1)
    api_key_misses_per_minute: int = Field(default=30, ge=1)
    import_max_bytes: int = Field(default=50 << 20, ge=1024)
    import_max_conversations: int = Field(default=5_000, ge=1)
    import_max_posts_per_conversation: int = Field(default=5_000, ge=1)
    public_url: str = ""
    password_login: bool = True
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid email profile"
    oidc_name: str = Field(default="single sign-on", min_length=1, max_length=60)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "mysql://")):
            raise ValueError("must start with sqlite:// or mysql://")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("metrics_allow_ips")
    @classmethod
    def _network_list(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ip_network(part.strip(), strict=False)  # ValueError names the bad one
        return value

    @property
    def metrics_networks(self) -> list[IPv4Network | IPv6Network]:
        """`METRICS_ALLOW_IPS` as networks (a bare address is a network of one)."""
        parts = (part.strip() for part in self.metrics_allow_ips.split(","))
        return [ip_network(part, strict=False) for part in parts if part]

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin == "*" or not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an origin like https://chat.example.com")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value or None

    @field_validator("llm_gateway_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _secret_fits_environment(self) -> Settings:
        if len(self.jwt_secret.encode()) >= MIN_SECRET_BYTES:
            return self
        if self.app_env == "production":
            raise ValueError(
                f"JWT_SECRET must be set to at least {MIN_SECRET_BYTES} bytes in production "
                '(generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        if self.jwt_secret:
            raise ValueError(f"JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes")
        # Development without a secret: a random one per start, so tokens die with the process.
        object.__setattr__(self, "jwt_secret", secrets.token_urlsafe(48))
        return self

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be the provider's https:// issuer URL")
        return value or None

    @model_validator(mode="after")
    def _public_url(self) -> Settings:
        url = self.public_url.rstrip("/") or f"http://{self.api_host}:{self.api_port}"
        if not url.startswith(("http://", "https://")):
            raise ValueError("PUBLIC_URL must be an http:// or https:// URL")
        object.__setattr__(self, "public_url", url)
        return self

    @model_validator(mode="after")
    def _single_sign_on_complete(self) -> Settings:
        if not self.oidc_issuer:
            if not self.password_login:
                raise ValueError("PASSWORD_LOGIN=false needs OIDC_ISSUER: nobody could log in")
            return self
        if not self.oidc_client_id:
            raise ValueError("OIDC_ISSUER is set: OIDC_CLIENT_ID must be set too")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("OIDC_SCOPES must include openid")
        if self.app_env == "production" and not self.oidc_issuer.startswith("https://"):
            raise ValueError("OIDC_ISSUER must be an https:// URL in production")
        return self

    @property
    def oidc_redirect_uri(self) -> str:
        """Where the provider sends the browser back: register it with the provider."""
        return f"{self.public_url}{OIDC_CALLBACK_PATH}"

    @model_validator(mode="after")
    def _workers_share_redis(self) -> Settings:
        if self.api_workers > 1 and not self.redis_url:
            raise ValueError(
                f"API_WORKERS={self.api_workers} needs REDIS_URL: the processes must share "
                "stops, answers in progress, logouts and limits (one process needs none)"
            )
        return self

    @model_validator(mode="after")
    def _argon2_at_owasp_floor(self) -> Settings:
        if self.password_hash_memory_kib * self.password_hash_time_cost < MIN_ARGON2_MEMORY_TIME:
            raise ValueError(
                "PASSWORD_HASH_MEMORY_KIB x PASSWORD_HASH_TIME_COST is below OWASP's floor for "
                f"argon2id ({MIN_ARGON2_MEMORY_TIME}, e.g. 19456 KiB with 2 passes)"
            )
        return self

    @model_validator(mode="after")
    def _log_format_for_environment(self) -> Settings:
        if self.log_format is None:
            fmt = "json" if self.app_env == "production" else "text"
            object.__setattr__(self, "log_format", fmt)
        return self

    @property
    def graphiql_enabled(self) -> bool:
        """GraphiQL and introspection: on in development, off in production unless asked."""
        if self.graphiql is not None:
            return self.graphiql
        return self.app_env == "development"
