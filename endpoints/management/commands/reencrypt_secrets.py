"""Re-encrypt every encrypted column with the first key of FIELD_ENCRYPTION_KEYS.

A key rotation: put the new key first (keep the old ones after it), run this command, then remove
the old keys. Safe to run again at any time: each value is decrypted with whichever key works and
written back under the first key. A value no key decrypts is reported (table, row, column) and left
as it is; the command then exits non-zero. Values are never printed.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, router, transaction

from endpoints.fields import DecryptionError, EncryptedTextField, rotate


class Command(BaseCommand):
    help = "Re-encrypt every secret and token with the first FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check that every value decrypts, without writing anything.",
        )

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        rotated = 0
        failures: list[str] = []
        for model in apps.get_models():
            columns = [
                f.column for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
            ]
            if not columns:
                continue
            count, failed = self._model(model, columns, dry_run=dry_run)
            rotated += count
            failures += failed
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(f"{verb} {rotated} value(s).")
        if failures:
            raise CommandError(
                f"{len(failures)} value(s) cannot be decrypted with any configured key and were "
                "left unchanged: " + "; ".join(failures) + ". Add the key they were written with "
                "to FIELD_ENCRYPTION_KEYS and run this again, or enter those secrets again."
            )

    def _model(self, model, columns: list[str], *, dry_run: bool) -> tuple[int, list[str]]:
        """Rotate one table, row by row, reading and writing the raw ciphertext (no ORM decrypt)."""
        alias = router.db_for_write(model)
        connection = connections[alias]
        q = connection.ops.quote_name
        table, pk = q(model._meta.db_table), q(model._meta.pk.column)
        select = ", ".join(q(c) for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk}, {select} FROM {table} ORDER BY {pk}")  # noqa: S608
            rows = cursor.fetchall()
        rotated, failures = 0, []
        for row_pk, *values in rows:
            for column, value in zip(columns, values, strict=True):
                if not value:
                    continue
                try:
                    fresh = rotate(value)
                except DecryptionError:
                    failures.append(f"{model._meta.label} id={row_pk} {column}")
                    continue
                if dry_run:
                    rotated += 1
                    continue
                with transaction.atomic(using=alias), connection.cursor() as cursor:
                    # Compare-and-swap: a value written meanwhile (a new token) is left alone.
                    cursor.execute(
                        f"UPDATE {table} SET {q(column)} = %s WHERE {pk} = %s AND {q(column)} = %s",  # noqa: S608
                        [fresh, row_pk, value],
                    )
                    rotated += cursor.rowcount
        return rotated, failures
