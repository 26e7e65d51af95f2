"""Adding to rollup rows in SQL: `INSERT … ON CONFLICT (key) DO UPDATE SET n = n + excluded.n`.

The same statement runs on PostgreSQL and SQLite (3.24+). The database adds, under its row lock,
so writers running at once (two drains, the gateway's and ours, several workers) never lose an
update, and nothing is read first. Rows are written in key order, so that two writers lock them
in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Model

# Parameters per statement: PostgreSQL takes 65,535; Django says 999 for SQLite (its safe
# minimum). Fewer, larger statements matter when a batch spans many buckets (a backlog).
MAX_PARAMS = 30_000


def bucket_time(epoch: float) -> object:
    """A bucket's start (unix seconds) as the database stores a DateTimeField."""
    return connection.ops.adapt_datetimefield_value(datetime.fromtimestamp(epoch, tz=UTC))


def add(
    model: type[Model],
    *,
    keys: Sequence[str],
    added: Sequence[str] = (),
    maxed: Sequence[str] = (),
    replaced: Sequence[str] = (),
    rows: Iterable[Sequence],
) -> int:
    """Upsert `rows`, each the values of keys + added + maxed + replaced in that order: `added`
    columns are summed, `maxed` keep the larger value, `replaced` take the new one."""
    meta = model._meta
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    names = [*keys, *added, *maxed, *replaced]
    columns = [qn(meta.get_field(name).column) for name in names]  # type: ignore[union-attr,arg-type]
    key_columns = columns[: len(keys)]
    sets = []
    for name, column in zip(names[len(keys) :], columns[len(keys) :], strict=True):
        if name in added:
            sets.append(f"{column} = {table}.{column} + excluded.{column}")
        elif name in maxed:
            sets.append(
                f"{column} = CASE WHEN excluded.{column} > {table}.{column} "
                f"THEN excluded.{column} ELSE {table}.{column} END"
            )
        else:
            sets.append(f"{column} = excluded.{column}")
    ordered = sorted(rows, key=lambda row: tuple(row[: len(keys)]))
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    limit = min(MAX_PARAMS, connection.features.max_query_params or MAX_PARAMS)
    per_statement = max(1, limit // len(columns))
    # Only quoted model column names and placeholders go into the text; values are parameters.
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
    tail = f" ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {', '.join(sets)}"
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), per_statement):
            part = ordered[start : start + per_statement]
            params = [value for row in part for value in row]
            cursor.execute(head + ", ".join([one] * len(part)) + tail, params)
    return len(ordered)
