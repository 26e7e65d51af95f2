"""Failures stored as codes with parameters, not as sentences: request records (the codes of
playground.failures, mapped by the playground's own migration's `to_code`) and load tests (the
codes of monitoring.loadtests.FAILURES). A sentence that matches none is kept as "legacy" {text}.
"""

import importlib
import re

from django.db import migrations, models

LOAD_TESTS = [
    ("worker_gone", re.compile(r"^The worker running it stopped answering\.$")),
    ("crashed", re.compile(r"^The load test failed: (?P<exception>.+?)\.$")),
]


def _load_test_code(text):
    for code, pattern in LOAD_TESTS:
        match = pattern.match(text)
        if match:
            return code, match.groupdict()
    return "legacy", {"text": text}


def sentences_to_codes(apps, schema_editor):
    to_code = importlib.import_module("playground.migrations.0005_failures_as_codes").to_code
    RequestRecord = apps.get_model("monitoring", "RequestRecord")
    LoadTest = apps.get_model("monitoring", "LoadTest")
    for record in RequestRecord.objects.exclude(error="").only("pk", "error").iterator():
        code, params = to_code(record.error)
        RequestRecord.objects.filter(pk=record.pk).update(error_code=code, error_params=params)
    for test in LoadTest.objects.exclude(error="").only("pk", "error").iterator():
        code, params = _load_test_code(test.error.strip())
        LoadTest.objects.filter(pk=test.pk).update(error_code=code, error_params=params)


def codes_to_sentences(apps, schema_editor):
    """Back: the English words (a legacy row gets its text back)."""
    from django.utils import translation

    from monitoring.loadtests import failure_text
    from playground import failures

    RequestRecord = apps.get_model("monitoring", "RequestRecord")
    LoadTest = apps.get_model("monitoring", "LoadTest")
    with translation.override("en"):
        for record in RequestRecord.objects.exclude(error_code="").iterator():
            record.error = failures.render(record.error_code, record.error_params)[:300]
            record.save(update_fields=["error"])
        for test in LoadTest.objects.exclude(error_code="").iterator():
            test.error = failure_text(test.error_code, test.error_params)[:500]
            test.save(update_fields=["error"])


class Migration(migrations.Migration):

    dependencies = [
        ("monitoring", "0002_samples_from_redis"),
        ("playground", "0005_failures_as_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="requestrecord",
            name="error_code",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="requestrecord",
            name="error_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="loadtest",
            name="error_code",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="loadtest",
            name="error_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(sentences_to_codes, codes_to_sentences),
        migrations.RemoveField(model_name="requestrecord", name="error"),
        migrations.RemoveField(model_name="loadtest", name="error"),
    ]
