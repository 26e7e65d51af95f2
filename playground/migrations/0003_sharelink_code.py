import uuid

from django.db import migrations, models


def give_codes(apps, schema_editor):
    ShareLink = apps.get_model("playground", "ShareLink")
    for pk in ShareLink.objects.filter(code__isnull=True).values_list("pk", flat=True).iterator():
        ShareLink.objects.filter(pk=pk).update(code=uuid.uuid4())


class Migration(migrations.Migration):
    # The unique constraint comes in 0004: PostgreSQL refuses to alter a table in the transaction
    # that just updated its rows (pending trigger events).

    dependencies = [
        ("playground", "0002_share_snapshots"),
    ]

    operations = [
        migrations.AddField(
            model_name="sharelink",
            name="code",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_codes, migrations.RunPython.noop),
    ]
