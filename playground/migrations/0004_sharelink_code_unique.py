import uuid

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("playground", "0003_sharelink_code"),
    ]

    operations = [
        migrations.AlterField(
            model_name="sharelink",
            name="code",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
