"""Names unique whatever their case, and a deleted endpoint's platform id free to come back.

1. `endpoint_unique_live_name` (credential, region, name) becomes
   `endpoint_unique_live_name_ci` on (lower(name), credential, region), still only among the rows
   that are not DELETED: `DEMO-ENDPOINT` and `demo-endpoint` can no longer both be stored, even
   by two people creating them in the same second (the wizard's check runs before the insert).
2. `platform_id` is unique only among the rows that are not DELETED (it keeps a plain index for
   look-ups): a deleted row keeps the id for its history, and an endpoint created again on the
   platform with the same id (the local platform's seed after a restart) is imported again.

Rows that already clash by case are kept, none is dropped or merged: in each group of live rows
with the same service account, region and name in any case, the oldest keeps its name and each
other one is renamed `<name>-2`, `-3`, ... (cut to 50 characters, never a name already taken in
that scope), with an event saying so on its timeline ("renamed", old and new name). Only the
dashboard's name changes: the platform id, the URL and everything else stay, so the endpoint is
still the same one on the platform. Going back keeps the new names (they are valid names) and
restores the case-sensitive constraints.
"""

from django.db import migrations, models
from django.db.models.functions import Lower

NAME_MAX = 50


def rename_case_duplicates(apps, schema_editor):
    Endpoint = apps.get_model("endpoints", "Endpoint")
    EndpointEvent = apps.get_model("endpoints", "EndpointEvent")
    live = Endpoint.objects.exclude(status="DELETED")
    groups: dict[tuple, list] = {}
    for row in live.order_by("created_at", "pk").only(
        "pk", "name", "credential_id", "region", "status", "raw_status"
    ):
        groups.setdefault((row.credential_id, row.region, row.name.lower()), []).append(row)
    taken: dict[tuple, set[str]] = {}
    for (credential_id, region, lowered), _rows in groups.items():
        taken.setdefault((credential_id, region), set()).add(lowered)
    for (credential_id, region, _lowered), rows in groups.items():
        used = taken[(credential_id, region)]
        for row in rows[1:]:  # the oldest keeps its name
            number = 2
            while True:
                suffix = f"-{number}"
                new = row.name[: NAME_MAX - len(suffix)] + suffix
                if new.lower() not in used:
                    break
                number += 1
            used.add(new.lower())
            Endpoint.objects.filter(pk=row.pk).update(name=new)
            shown = row.raw_status if row.status == "UNKNOWN" and row.raw_status else row.status
            EndpointEvent.objects.create(
                endpoint_id=row.pk,
                from_status=shown,
                to_status=shown,
                code="renamed",
                params={"old": row.name, "new": new},
            )


class Migration(migrations.Migration):
    dependencies = [
        ("endpoints", "0005_endpoint_status_source"),
    ]

    operations = [
        migrations.RunPython(rename_case_duplicates, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="endpoint",
            name="endpoint_unique_live_name",
        ),
        migrations.AlterField(
            model_name="endpoint",
            name="platform_id",
            field=models.CharField(blank=True, db_index=True, max_length=100, null=True),
        ),
        migrations.AddConstraint(
            model_name="endpoint",
            constraint=models.UniqueConstraint(
                Lower("name"),
                models.F("credential"),
                models.F("region"),
                condition=~models.Q(status="DELETED"),
                name="endpoint_unique_live_name_ci",
                violation_error_code="endpoint_name_taken",
                violation_error_message="An endpoint of this name already exists here.",
            ),
        ),
        migrations.AddConstraint(
            model_name="endpoint",
            constraint=models.UniqueConstraint(
                condition=~models.Q(status="DELETED"),
                fields=("platform_id",),
                name="endpoint_unique_live_platform_id",
            ),
        ),
    ]
