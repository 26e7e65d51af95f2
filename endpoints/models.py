"""Credentials, endpoints and their events.

The database is the truth: the poller and the deploy tasks claim rows by compare-and-swap on
`next_poll_at`, and every status change is written as an `EndpointEvent`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from endpoints.fields import EncryptedTextField


class Credential(models.Model):
    """A service account (mints IAM tokens) or an AI Platform API key (private endpoints)."""

    class Kind(models.TextChoices):
        SERVICE_ACCOUNT = "service_account", _("Service account")
        API_KEY = "api_key", _("API key")

    class State(models.TextChoices):
        OK = "ok", _("OK")
        REFRESHING = "refreshing", _("Refreshing")
        FAILING = "failing", _("Failing")
        INVALID = "invalid", _("Invalid")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=100, unique=True)
    region = models.CharField(_("region"), max_length=20, default="HCM")
    client_id = models.CharField(
        _("client ID"), max_length=200, blank=True, help_text=_("Service accounts only.")
    )
    secret = EncryptedTextField(_("secret"))
    secret_last4 = models.CharField(max_length=4, blank=True, editable=False)

    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.OK)
    access_token = EncryptedTextField(blank=True, default="", editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_refresh_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    # What kind of failure `last_error` is (one of ErrorCode), so the page can say it in words
    # and the token service can tell a lockout from a passing outage.
    last_error_code = models.CharField(max_length=30, blank=True, editable=False)
    # When `last_error` happened: the row says what failed last and when, not only how often.
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    retry_not_before = models.DateTimeField(null=True, blank=True, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label"]
        verbose_name = _("credential")
        verbose_name_plural = _("credentials")

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        # Never the secret nor the token: only what the console shows.
        return f"<Credential {self.pk} {self.kind} {self.label!r} …{self.secret_last4}>"

    @property
    def masked_secret(self) -> str:
        return f"••••{self.secret_last4}" if self.secret_last4 else ""

    @property
    def is_service_account(self) -> bool:
        return self.kind == self.Kind.SERVICE_ACCOUNT

    def is_unchecked_key(self) -> bool:
        """An API key the platform has not accepted yet, nor refused: seeded or saved while it
        did not answer. Not known to work, so never shown as healthy."""
        return (
            self.kind == self.Kind.API_KEY
            and self.state == self.State.OK
            and self.last_refresh_at is None
        )

    def token_seconds_left(self, now: datetime | None = None) -> float | None:
        """Seconds until the stored token expires (negative once expired), None without one."""
        if self.token_expires_at is None:
            return None
        return (self.token_expires_at - (now or timezone.now())).total_seconds()

    def refresh_due_at(self) -> datetime | None:
        """When the stored token passes half its life (the beat refreshes it from then on)."""
        if self.token_expires_at is None or self.last_refresh_at is None:
            return None
        return self.last_refresh_at + (self.token_expires_at - self.last_refresh_at) / 2

    def is_refresh_due(self, now: datetime | None = None) -> bool:
        due = self.refresh_due_at()
        return due is None or (now or timezone.now()) >= due

    def is_backing_off(self, now: datetime | None = None) -> bool:
        """IAM must not be called for this credential yet (a lockout or a retry delay)."""
        return self.retry_not_before is not None and self.retry_not_before > (now or timezone.now())

    def error_title(self) -> str:
        """A few words naming the last failure ("Secret refused"), empty when there is none."""
        if not self.last_error:
            return ""
        try:
            return str(ErrorCode(self.last_error_code).label)
        except ValueError:
            return str(_("Error"))

    def error_from_platform(self) -> bool:
        """Whether `last_error` is what the platform (or IAM) said, not the dashboard's note."""
        return ErrorCode.from_platform(self.last_error_code)

    def error_summary(self) -> str:
        """The last failure in words a person understands (empty when there is none)."""
        if not self.last_error:
            return ""
        if self.last_error_code == ErrorCode.UNAVAILABLE and not self.has_usable_token():
            return str(UNAVAILABLE_WITHOUT_TOKEN)
        return str(ERROR_SUMMARIES.get(self.last_error_code, ""))

    def has_usable_token(self, now: datetime | None = None) -> bool:
        left = self.token_seconds_left(now)
        return bool(self.access_token) and left is not None and left > 0


class ErrorCode(models.TextChoices):
    """Why the last token request failed (Credential.last_error_code)."""

    AUTHENTICATION_FAILED = "authentication_failed", _("Secret refused")
    LOCKED = "locked", _("Locked by IAM")
    UNAVAILABLE = "unavailable", _("IAM unreachable")
    RATE_LIMITED = "rate_limited", _("Rate limited")
    REFUSED = "refused", _("Refused")
    UNDECRYPTABLE = "undecryptable", _("Cannot decrypt")
    KEY_DELETED = "key_deleted", _("Key deleted")

    @classmethod
    def from_platform(cls, code: str) -> bool:
        """Whether `last_error` holds the platform's (or IAM's) own words for this code."""
        return code not in (cls.UNDECRYPTABLE, cls.KEY_DELETED)


UNAVAILABLE_WITHOUT_TOKEN = _(
    "IAM could not be reached or answered with a server error, and the last token has expired: "
    "calls to the platform with this service account fail until IAM answers again. The "
    "dashboard keeps retrying on its own, at least every half minute."
)

# Keyed by str: last_error_code is a plain str field (ErrorCode members are str too).
ERROR_SUMMARIES: dict[str, Promise] = {
    ErrorCode.AUTHENTICATION_FAILED: _(
        "IAM refused this client ID and secret. Create a new secret for the service account "
        "in the VNG Cloud IAM console and enter it here: until then no token is requested."
    ),
    ErrorCode.LOCKED: _(
        "IAM locked this service account after too many failed sign-ins. The dashboard waits "
        "before it asks again, so that the lock is not extended."
    ),
    ErrorCode.UNAVAILABLE: _(
        "IAM could not be reached or answered with a server error. The dashboard retries on "
        "its own and keeps using the current token until it expires."
    ),
    ErrorCode.RATE_LIMITED: _(
        "IAM asked the dashboard to slow down. It retries after the delay IAM gave."
    ),
    ErrorCode.REFUSED: _(
        "IAM refused the token request. Check the client ID and the account's policies; the "
        "dashboard retries later."
    ),
    ErrorCode.UNDECRYPTABLE: _(
        "The stored secret cannot be decrypted with the configured encryption keys (was a key "
        "removed before re-encryption?). Enter the secret again."
    ),
}


class EndpointQuerySet(models.QuerySet):
    # The poller's own bookkeeping: moving these is not a change anybody would call an update.
    BOOKKEEPING_FIELDS = frozenset({"next_poll_at", "poll_attempts", "checked_at"})

    def update(self, **kwargs):
        """Like QuerySet.update, but "last updated" follows every real change.

        Status changes are compare-and-swap updates, which skip `auto_now`; without this the
        list's and the detail page's "Last updated" would stay at the creation time.
        """
        if "updated_at" not in kwargs and set(kwargs) - self.BOOKKEEPING_FIELDS:
            kwargs["updated_at"] = timezone.now()
        return super().update(**kwargs)


# The error code of a clash with `endpoint_unique_live_name_ci` in full_clean().
NAME_TAKEN = "endpoint_name_taken"


class Endpoint(models.Model):
    """An inference endpoint as the dashboard knows it; `platform_id` links it to the platform."""

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        CREATING = "CREATING", _("Creating")
        ACTIVE = "ACTIVE", _("Active")
        UPDATING = "UPDATING", _("Updating")
        INACTIVE = "INACTIVE", _("Inactive")
        ERROR = "ERROR", _("Error")
        DELETING = "DELETING", _("Deleting")
        DELETED = "DELETED", _("Deleted")
        MISSING = "MISSING", _("Missing")
        UNKNOWN = "UNKNOWN", _("Unknown")

    class AuthMode(models.TextChoices):
        IAM_TOKEN = "iam_token", _("IAM token")
        API_KEY = "api_key", _("API key")
        NONE = "none", _("None (public)")

    class StatusSource(models.TextChoices):
        # The reconciler compares it with the platform's management API (list, get).
        MANAGEMENT = "management", _("Management API")
        # Connected by its URL while the management routes are unconfirmed: its status is
        # whether its URL answers (GET /v1/models), and the console manages it.
        DATA_PLANE = "data_plane", _("Its URL (data plane)")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("endpoint name"), max_length=50)
    region = models.CharField(_("region"), max_length=20, default="HCM")
    credential = models.ForeignKey(
        Credential, on_delete=models.PROTECT, related_name="endpoints", verbose_name=_("credential")
    )
    access_credential = models.ForeignKey(
        Credential,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="access_endpoints",
        verbose_name=_("API key"),
    )
    auth_mode = models.CharField(max_length=20, choices=AuthMode.choices, default=AuthMode.NONE)
    # Unique among the rows that are not DELETED (Meta.constraints): a deleted row keeps the id
    # for its history, and an endpoint that comes back with the same id is imported afresh.
    # NULL, not "", until the platform gives an id: many rows wait at once, and NULLs never clash.
    platform_id = models.CharField(  # noqa: DJ001
        max_length=100, null=True, blank=True, db_index=True
    )

    model_id = models.CharField(_("model"), max_length=200)
    model_name = models.CharField(max_length=200, blank=True)
    served_model_name = models.CharField(_("served model name"), max_length=200, blank=True)
    framework = models.CharField(max_length=100, blank=True)
    instance_type = models.CharField(_("instance type"), max_length=100)
    instance_spec = models.JSONField(default=dict, blank=True)
    min_replicas = models.PositiveSmallIntegerField(_("min replica count"), default=1)
    max_replicas = models.PositiveSmallIntegerField(_("max replica count"), default=10)
    current_replicas = models.PositiveSmallIntegerField(null=True, blank=True)
    autoscaling = models.JSONField(default=dict, blank=True)
    private_access = models.BooleanField(_("private access"), default=False)

    # Written only by endpoints.lifecycle.transition() (and the reconciler's same-status writes).
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    raw_status = models.CharField(max_length=100, blank=True)
    # Why it is as it is: a code of endpoints.reasons and its parameters, rendered per reader.
    reason_code = models.CharField(max_length=40, blank=True)
    reason_params = models.JSONField(default=dict, blank=True)
    # An action a person asked for that the platform has not answered yet ("stop", "scale", ...).
    pending_action = models.CharField(max_length=20, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)
    # The last time the reconciler compared this row with the platform, and what went wrong then.
    checked_at = models.DateTimeField(null=True, blank=True)
    check_error = models.CharField(max_length=500, blank=True)
    # When the platform refused the deploy: the wizard step its message belongs to (for "Fix it").
    refusal_step = models.CharField(max_length=20, blank=True)
    url = models.URLField(max_length=500, blank=True)
    # Where its status comes from: see StatusSource (endpoints/services/connect.py).
    status_source = models.CharField(
        max_length=20, choices=StatusSource.choices, default=StatusSource.MANAGEMENT
    )

    # One wizard submission makes one endpoint: the key is minted when the wizard starts and a
    # second POST of the same form (a double click, a reload) hits this unique column.
    idempotency_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    next_poll_at = models.DateTimeField(null=True, blank=True)
    poll_attempts = models.PositiveIntegerField(default=0)
    phase_started_at = models.DateTimeField(default=timezone.now)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("endpoint")
        verbose_name_plural = _("endpoints")
        constraints = [
            # Names are compared whatever their case (docs/endpoints.md, "Endpoint names"), in
            # the scope the wizard checks: a service account and a region. A deleted endpoint's
            # name may be used again.
            models.UniqueConstraint(
                Lower("name"),
                F("credential"),
                F("region"),
                condition=~Q(status="DELETED"),
                name="endpoint_unique_live_name_ci",
                violation_error_code=NAME_TAKEN,
                violation_error_message=_("An endpoint of this name already exists here."),
            ),
            models.UniqueConstraint(
                fields=["platform_id"],
                condition=~Q(status="DELETED"),
                name="endpoint_unique_live_platform_id",
            ),
        ]
        indexes = [
            # The Inference list's order: a page of 25 reads 25 rows, not all of them sorted.
            models.Index(fields=["-created_at", "-id"], name="endpoint_list_order"),
            # The poller's query: due rows that are still moving.
            models.Index(
                fields=["next_poll_at"],
                condition=Q(next_poll_at__isnull=False),
                name="endpoint_due_poll",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_final(self) -> bool:
        """Deleted: nothing will ever change again."""
        from endpoints import lifecycle

        return self.status in lifecycle.FINAL

    def is_stable(self) -> bool:
        """At rest (re-checked every ENDPOINT_RECHECK_SECONDS), not on its way somewhere."""
        from endpoints import lifecycle

        return self.status in lifecycle.STABLE

    def is_moving(self) -> bool:
        """On its way somewhere: a deploy, an update, a delete, or an action not yet answered."""
        from endpoints import lifecycle

        return self.status in lifecycle.MOVING or bool(self.pending_action)

    def can_be_called(self) -> bool:
        """Its data plane answers: the playground, share links and snippets work."""
        return self.status == self.Status.ACTIVE

    def status_from_data_plane(self) -> bool:
        """Connected by its URL: its status is whether that URL answers; the console manages it."""
        return self.status_source == self.StatusSource.DATA_PLANE

    def allowed_actions(self) -> frozenset[str]:
        from endpoints import lifecycle

        actions = lifecycle.allowed_actions(self)
        if self.status_from_data_plane():
            # Stop, start and scaling would go through management routes nobody confirmed;
            # Delete only removes it from the dashboard (services/actions.py).
            return actions & {"delete"}
        return actions

    def pending_action_label(self) -> str:
        from endpoints import lifecycle

        return str(lifecycle.ACTION_LABELS.get(self.pending_action, self.pending_action))

    def data_plane_url(self) -> str:
        """The OpenAI-compatible base URL: the one the platform gave, else the documented pattern
        (AIPLATFORM_INFERENCE_URL_TEMPLATE with `{region}`, lower case as in the SEEN hosts, and
        `{endpoint_id}`). Empty before the platform has given the endpoint an id."""
        from endpoints.clients.inference import endpoint_base_url

        if self.url:
            return self.url
        if not self.platform_id:
            return ""
        return endpoint_base_url(self.region, self.platform_id)

    def reason_text(self) -> str:
        """Why it is as it is, in the reader's language; empty when the last change needs no
        explaining (it is in the timeline)."""
        from endpoints import reasons

        text = (
            ""
            if self.reason_code in reasons.NARRATIVE
            else reasons.render(self.reason_code, self.reason_params)
        )
        if not text and self.status_from_data_plane():
            return str(DATA_PLANE_NOTE) % {"seconds": int(settings.ENDPOINT_RECHECK_SECONDS)}
        return text

    def cost_range(self) -> dict | None:
        from endpoints.scaling import cost_range

        return cost_range(self.instance_spec or {}, self.min_replicas, self.max_replicas)

    def phase_duration(self) -> timedelta:
        return timezone.now() - self.phase_started_at


DATA_PLANE_NOTE = _(
    "Connected by its URL. The management routes of this account are not confirmed, so its "
    "status comes from calling its URL (GET /v1/models) every %(seconds)s s, and stopping, "
    "starting and scaling it is done in the VNG console."
)


class EndpointEvent(models.Model):
    """One change of an endpoint: a status transition or an action somebody took."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=100, blank=True)
    to_status = models.CharField(max_length=100, blank=True)
    # What happened: a code of endpoints.reasons and its parameters, rendered per reader.
    code = models.CharField(max_length=40, blank=True)
    params = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.endpoint_id}: {self.from_status} → {self.to_status}"

    def message(self) -> str:
        """What happened, in the reader's language."""
        from endpoints import reasons

        return reasons.render(self.code, self.params)

    def changes_status(self) -> bool:
        return bool(self.to_status) and self.to_status != self.from_status
