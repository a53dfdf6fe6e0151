"""Tortoise migrations of graphql_api.models, applied in name order by `graphql_api.migrate`.

A migration, once released, never changes: a schema change is a new migration, written by
`python -m graphql_api makemigrations --name what_it_does` and reviewed by hand. Keep
`db/init/` equal to the latest schema (a test compares them on MariaDB).
"""
