"""What monitoring keeps: raw request records and replica samples (days), their minute and hour
rollups (weeks and months), and load tests.

Raw records of gateway calls are the gateway's own `gateway.UsageRecord`; `RequestRecord` holds
the others (playground, live demos, load tests). Rollups carry no foreign keys: they are written
by `INSERT … ON CONFLICT DO UPDATE` with added counters (monitoring.upsert), keyed by a scope,
the scope's id and the bucket's start, and they outlive what they describe until retention.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from endpoints.models import Endpoint
from monitoring import histogram


class Source(models.TextChoices):
    GATEWAY = "gateway", _("Gateway")
    PLAYGROUND = "playground", _("Playground")
    DEMO = "demo", _("Live demo")
    COMPARE = "compare", _("Compare")
    LOADTEST = "loadtest", _("Load test")


class Scope(models.IntegerChoices):
    """Whose rollup a row is: every request adds to the team's, its endpoint's and its key's."""

    TEAM = 0, _("Team")
    ENDPOINT = 1, _("Endpoint")
    KEY = 2, _("Key")


class RequestRecord(models.Model):
    """One request that did not come through the gateway, moved here in batches by the drain."""

    request_id = models.UUIDField(unique=True, editable=False)
    at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    endpoint = models.ForeignKey(Endpoint, null=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.PositiveSmallIntegerField()
    prompt_tokens = models.PositiveIntegerField(null=True)
    completion_tokens = models.PositiveIntegerField(null=True)
    ttft_ms = models.PositiveIntegerField(null=True)
    total_ms = models.PositiveIntegerField(null=True)
    # Why it failed: a code of playground.failures and its parameters, rendered per reader.
    error_code = models.CharField(max_length=40, blank=True)
    error_params = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("request record")
        verbose_name_plural = _("request records")

    def __str__(self) -> str:
        return f"{self.source} {self.request_id} {self.status}"

    @property
    def error(self) -> str:
        """Why it failed, in the active language ("" when it did not): what the rollups read
        (a 200 with an error broke off) and what a page shows."""
        from playground import failures

        return failures.render(self.error_code, self.error_params)


class RequestRollup(models.Model):
    """Requests of one scope in one bucket. Counters only, so that rows add up: outcomes, tokens,
    the time to first token as a histogram (monitoring.histogram) and the generation time."""

    scope = models.PositiveSmallIntegerField(choices=Scope.choices)
    scope_id = models.BigIntegerField()  # 0 for the team
    start = models.DateTimeField()
    ok = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)  # 4xx but 429
    limited = models.PositiveIntegerField(default=0)  # 429
    failed = models.PositiveIntegerField(default=0)  # 5xx, or a stream that broke off
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    ttft_count = models.PositiveIntegerField(default=0)
    ttft_ms_sum = models.BigIntegerField(default=0)
    # Tokens after the first and the time they took: the output speed (as the playground shows it).
    gen_tokens = models.BigIntegerField(default=0)
    gen_ms = models.BigIntegerField(default=0)
    total_ms_sum = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "scope_id", "start"], name="%(app_label)s_%(class)s_bucket"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.scope_id} @ {self.start:%Y-%m-%d %H:%M}"


# One column per histogram bucket (h00 … h23): counters that an upsert can add in SQL.
for _name in histogram.FIELDS:
    RequestRollup.add_to_class(_name, models.PositiveIntegerField(default=0))


class RequestMinute(RequestRollup):
    class Meta(RequestRollup.Meta):
        verbose_name = _("requests per minute")
        verbose_name_plural = _("requests per minute")


class RequestHour(RequestRollup):
    class Meta(RequestRollup.Meta):
        verbose_name = _("requests per hour")
        verbose_name_plural = _("requests per hour")


class ReplicaSample(models.Model):
    """What a reconcile pass (or a running load test) saw of an endpoint's replicas."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(db_index=True)
    replicas = models.PositiveSmallIntegerField()
    min_replicas = models.PositiveSmallIntegerField()
    max_replicas = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=20)

    class Meta:
        constraints = [
            # One per endpoint and moment: a batch stored twice (a retried drain) adds no rows.
            models.UniqueConstraint(fields=["endpoint", "at"], name="monitoring_sample_once")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} @ {self.at:%H:%M:%S}: {self.replicas}"


class ReplicaRollup(models.Model):
    """Replica-seconds observed in a bucket (replicas held from one sample to the next), how much
    of the bucket was observed, the peak, and the min/max setting then."""

    endpoint_id = models.BigIntegerField()
    start = models.DateTimeField()
    replica_seconds = models.FloatField(default=0)
    observed_seconds = models.FloatField(default=0)
    peak = models.PositiveSmallIntegerField(default=0)
    min_replicas = models.PositiveSmallIntegerField(default=0)
    max_replicas = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint_id", "start"], name="%(app_label)s_%(class)s_bucket"
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} @ {self.start:%Y-%m-%d %H:%M}"


class ReplicaMinute(ReplicaRollup):
    pass


class ReplicaHour(ReplicaRollup):
    pass


class ReplicaState(models.Model):
    """Per endpoint, the last sample taken into the rollups: the next one integrates from it."""

    endpoint_id = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    replicas = models.PositiveSmallIntegerField()
    min_replicas = models.PositiveSmallIntegerField()
    max_replicas = models.PositiveSmallIntegerField()

    def __str__(self) -> str:
        return f"{self.endpoint_id}: {self.replicas} since {self.at}"


class LoadTest(models.Model):
    """A bounded load test of one endpoint, run by a worker (monitoring.loadrunner)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        STOPPED = "stopped", _("Stopped")
        FAILED = "failed", _("Failed")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="load_tests")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    concurrency = models.PositiveSmallIntegerField(_("concurrent streams"))
    duration_seconds = models.PositiveSmallIntegerField(_("duration (seconds)"))
    max_tokens = models.PositiveSmallIntegerField(_("max tokens per reply"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    stop_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the runner as it goes: one entry per concurrency step, one sample per second.
    steps = models.JSONField(default=list, blank=True)
    samples = models.JSONField(default=list, blank=True)
    # Why it failed: a code of monitoring.loadtests.FAILURES and its parameters (per reader).
    error_code = models.CharField(max_length=40, blank=True)
    error_params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("load test")
        verbose_name_plural = _("load tests")
        constraints = [
            # One at a time per endpoint: a second start while one is queued or running fails.
            models.UniqueConstraint(
                fields=["endpoint"],
                condition=Q(status__in=["queued", "running"]),
                name="monitoring_one_load_test_per_endpoint",
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id}: {self.concurrency} x {self.duration_seconds}s ({self.status})"

    def is_active(self) -> bool:
        return self.status in self.ACTIVE
