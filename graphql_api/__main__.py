"""Command line: serve the API, migrate the database, manage users, export the schema.

python -m graphql_api serve                       # applies pending migrations first
python -m graphql_api migrate                     # applies pending migrations, then exits
python -m graphql_api migrate --plan              # lists them, changes nothing
python -m graphql_api makemigrations --name add_x # after changing graphql_api/models.py
python -m graphql_api users create alice          # asks for the password twice
python -m graphql_api users create root --admin   # an administrator (the only way to make one)
python -m graphql_api users promote alice         # or `demote`: never the last admin
echo "$PASSWORD" | python -m graphql_api users reset-password alice --password-stdin
python -m graphql_api users link-identity alice --subject 248289761001   # single sign-on
python -m graphql_api export-schema > schema.graphql
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from pydantic import ValidationError

from graphql_api.errors import ApiError
from graphql_api.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']).upper() or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        sys.exit(f"Invalid configuration: {problems}")


def serve() -> None:
    from graphql_api.observability import configure_logging
    from graphql_api.server import serve as serve_api

    settings = _settings()
    configure_logging(settings)
    serve_api(settings)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != password:
        sys.exit("The passwords differ; nothing changed.")
    return password


async def _manage_user(action: str, username: str, password: str, admin: bool = False) -> str:
    from graphql_api.database import open_database
    from graphql_api.records import Role
    from graphql_api.services.accounts import Accounts
    from graphql_api.services.admin import Admin

    settings = _settings()
    async with open_database(settings) as database:
        with database:
            accounts = Accounts(settings)
            # Answers are written by the servers, not here: nothing of theirs to stop.
            admins = Admin(accounts, stop_answers=_nothing_to_stop)
            try:
                if action == "create":
                    role = Role.ADMIN if admin else Role.USER
                    user = await accounts.create_user(username, password, role)
                    await admins.record_command_line("create_user", user, {"role": role.name})
                    kind = "administrator" if admin else "user"
                    return f"Created {kind} {user.username!r} (id {user.id})."
                if action in ("promote", "demote"):
                    role = Role.ADMIN if action == "promote" else Role.USER
                    user = await admins.set_role_by_name(username, role)
                    now = "an administrator" if user.role is Role.ADMIN else "a plain user"
                    return f"{user.username!r} is now {now}."
                user = await accounts.set_password(username, password)
                await admins.record_command_line("reset_password", user)
                return f"Reset the password of {user.username!r}; their sessions are logged out."
            finally:
                accounts.close()


async def _nothing_to_stop(user_id: int) -> None:
    return None


async def _link_identity(username: str, subject: str, issuer: str | None) -> str:
    from graphql_api.database import open_database
    from graphql_api.services.single_sign_on import link_identity

    settings = _settings()
    issuer = issuer or settings.oidc_issuer
    if not issuer:
        sys.exit("Nothing changed: give --issuer, or set OIDC_ISSUER.")
    async with open_database(settings) as database:
        with database:
            user = await link_identity(username, issuer, subject)
    return f"{user.username!r} now signs in as {subject!r} at {issuer}."


async def _migrate(plan_only: bool, target: str | None) -> list[str]:
    from graphql_api.database import connect
    from graphql_api.migrate import migrate, pending_migrations

    async with connect(_settings()) as database:
        with database:
            if plan_only:
                pending = await pending_migrations(database)
                return [f"Pending: {name}" for name in pending] or ["No pending migrations."]
            result = await migrate(database, target=target)
    lines = [
        f"Recorded {name} as applied: its tables were already there."
        for name in result.recorded_as_applied
    ]
    lines += [f"Applied {name}." for name in result.applied]
    return lines or ["The database is up to date."]


async def _make_migration(name: str | None) -> list[str]:
    from graphql_api.database import connect
    from graphql_api.migrate import write_migration

    # Models and migrations are compared without a database: any connection will do.
    settings = Settings(database_url="sqlite://:memory:")
    async with connect(settings) as database:
        with database:
            paths = await write_migration(database, name)
    if not paths:
        return ["The migrations already match the models."]
    return [f"Wrote {path}" for path in paths] + [
        "Review it, run `ruff format` on it, and bring db/init/ to the same schema "
        "(tests/deploy/test_migrations.py compares them on MariaDB)."
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m graphql_api", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the API (settings from the environment and .env)")
    commands.add_parser("export-schema", help="print the GraphQL SDL")
    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.add_argument("--plan", action="store_true", help="list them and change nothing")
    migrate.add_argument("--target", help="stop after this migration (e.g. 0001_initial)")
    make = commands.add_parser(
        "makemigrations", help="write the migration for a change to graphql_api/models.py"
    )
    make.add_argument("--name", help="what the migration does, e.g. add_post_rating")
    users = commands.add_parser("users", help="create users and reset passwords")
    user_actions = users.add_subparsers(dest="action", required=True)
    for action in ("create", "reset-password"):
        command = user_actions.add_parser(action)
        command.add_argument("username")
        command.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        if action == "create":
            command.add_argument("--admin", action="store_true", help="make an administrator")
    for action, what in (
        ("promote", "make a user an administrator"),
        ("demote", "a plain user again"),
    ):
        user_actions.add_parser(action, help=what).add_argument("username")
    link = user_actions.add_parser(
        "link-identity", help="let an existing account log in through single sign-on"
    )
    link.add_argument("username")
    link.add_argument("--subject", required=True, help="the person's `sub` at the provider")
    link.add_argument("--issuer", help="the provider's issuer URL (default: OIDC_ISSUER)")
    args = parser.parse_args(argv)

    if args.command == "serve":
        serve()
    elif args.command == "migrate":
        from graphql_api.migrate import MigrationError

        try:
            print("\n".join(asyncio.run(_migrate(args.plan, args.target))))
        except MigrationError as exc:
            sys.exit(f"Migration failed: {exc}")
    elif args.command == "makemigrations":
        print("\n".join(asyncio.run(_make_migration(args.name))))
    elif args.command == "export-schema":
        from graphql_api.schema import export_sdl

        sys.stdout.write(export_sdl())
    elif args.action == "link-identity":
        try:
            print(asyncio.run(_link_identity(args.username, args.subject, args.issuer)))
        except ApiError as exc:
            sys.exit(f"Nothing changed: {exc.message}")
    else:
        if args.action in ("promote", "demote"):
            action, password = args.action, ""
        else:
            password = _read_password(args.password_stdin)
            action = "create" if args.action == "create" else "reset"
        admin = getattr(args, "admin", False)
        try:
            print(asyncio.run(_manage_user(action, args.username, password, admin)))
        except ApiError as exc:
            sys.exit(f"Nothing changed: {exc.message}")


if __name__ == "__main__":
    main()
