"""Reads written by hand, for the paths every page view takes.

Tortoise's query builder spends more CPU building a small query than the database takes to
answer it: on a page of posts, building and decoding the three queries was a third of the
request (bench/bench_read_cpu.py). The few hot reads are therefore written here as SQL, and
their rows decoded as Tortoise's `values()` decodes them: each column by its field's own
`to_python_value` unless the database returns it as Python wants it.

Only ints the services produced are inlined (ids, page sizes); nothing a client sent as
text reaches this SQL. Each query keeps the owner filter of `ownership.py`, first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from tortoise.models import Model

Converter = Callable[[Any], Any]


@cache
def _converters(model: type[Model], columns: tuple[str, ...]) -> tuple[Converter | None, ...]:
    native = {name for _, name, _ in model._meta.db_native_fields}
    fields = model._meta.fields_map
    return tuple(None if column in native else fields[column].to_python_value for column in columns)


def sql_columns(columns: Sequence[str]) -> str:
    """A select list of known column names (the records' own, never a client's)."""
    return ", ".join(columns)


async def fetch_rows(
    model: type[Model], sql: str, columns: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The rows of `sql` (which selects `columns`, in order) as `values()` gives them."""
    converters = _converters(model, columns)
    rows = await model._meta.db.execute_query_dict(sql)
    decoded = []
    for row in rows:
        values = [row[column] for column in columns]
        for index, convert in enumerate(converters):
            if convert is not None:
                values[index] = convert(values[index])
        decoded.append(dict(zip(columns, values, strict=True)))
    return decoded
