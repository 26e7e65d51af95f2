"""Gateway keys, model aliases and the usage record of every call.

A key belongs to a person (its owner); an Admin may make one for a named app, still owned by
somebody who answers for it. Only the key's hash and its first characters are stored.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from endpoints.models import Endpoint


class GatewayKey(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="gateway_keys",
        verbose_name=_("owner"),
    )
    # Set when an Admin made the key for an application rather than for the owner's own use.
    app_name = models.CharField(_("application"), max_length=100, blank=True)
    prefix = models.CharField(max_length=20, unique=True, editable=False)
    hashed = models.CharField(max_length=64, unique=True, editable=False)

    all_endpoints = models.BooleanField(_("all endpoints"), default=True)
    endpoints = models.ManyToManyField(
        Endpoint, blank=True, related_name="gateway_keys", verbose_name=_("endpoints")
    )
    # None: no limit of that kind.
    requests_per_minute = models.PositiveIntegerField(
        _("requests per minute"), null=True, blank=True
    )
    tokens_per_minute = models.PositiveIntegerField(_("tokens per minute"), null=True, blank=True)
    tokens_per_day = models.PositiveIntegerField(_("tokens per day"), null=True, blank=True)

    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Written by the usage drain, a few seconds behind the last call (never on the hot path).
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When its settings last changed: an edit made from a page opened before then is refused.
    changed_at = models.DateTimeField(auto_now=True)

    # Not a column: the endpoints a scoped key may call, set by selectors.key_for_gateway.
    scoped_endpoint_ids: list[int]

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("gateway key")
        verbose_name_plural = _("gateway keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def __repr__(self) -> str:
        return f"<GatewayKey {self.pk} {self.prefix}… {self.name!r}>"

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_usable(self, now=None) -> bool:
        return not self.is_revoked() and not self.is_expired(now)


# One word: letters, digits, "-", "_" and "." (no spaces, no slashes: `x/../y` read as a path).
ALIAS_PATTERN = re.compile(r"\w[\w.-]*")
ALIAS_ONE_WORD = _(
    "An alias is one word: letters, digits, “-”, “_” and “.”, without spaces or slashes."
)


def normalize_alias(text: str) -> str:
    """The form an alias is stored and compared in: NFKC (a full-width “chat” is `chat`),
    without surrounding spaces. Aliases are then told apart without regard to case."""
    return unicodedata.normalize("NFKC", text).strip()


class ModelAliasQuerySet(models.QuerySet):
    def named(self, text: str) -> ModelAliasQuerySet:
        """The aliases that are `text` regardless of case and width, in any script. The database
        folds case (iexact), but SQLite's folds ASCII letters only: a name with other letters
        (`MÔ-HÌNH`) is also compared here, in Python, over the aliases (a short list)."""
        wanted = normalize_alias(text)
        if wanted.isascii():
            return self.filter(alias__iexact=wanted)
        folded = wanted.casefold()
        same = [pk for pk, alias in self.values_list("pk", "alias") if alias.casefold() == folded]
        return self.filter(pk__in=same)


class ModelAlias(models.Model):
    """Another name for an endpoint on the gateway (`model` may be the alias or the name)."""

    alias = models.CharField(_("alias"), max_length=100, unique=True)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="gateway_aliases")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ModelAliasQuerySet.as_manager()

    class Meta:
        ordering = ["alias"]
        verbose_name = _("model alias")
        verbose_name_plural = _("model aliases")

    def __str__(self) -> str:
        return self.alias

    def clean(self) -> None:
        """One word, and unique regardless of case or width (`chat`, `CHAT` and a full-width
        “chat” are one name to a caller, as an endpoint's name is)."""
        self.alias = normalize_alias(self.alias or "")
        if not ALIAS_PATTERN.fullmatch(self.alias):
            raise ValidationError({"alias": ALIAS_ONE_WORD})
        same = ModelAlias.objects.named(self.alias).exclude(pk=self.pk).first()
        if same is not None:
            raise ValidationError(
                {
                    "alias": _(
                        "The alias “%(alias)s” exists already (aliases that differ only in "
                        "case are the same name)."
                    )
                    % {"alias": same.alias}
                }
            )


class UsageRecord(models.Model):
    """One call through the gateway, written in batches by the drain task (gateway.usage)."""

    # Minted by the web process for the call: a drain that is retried inserts nothing twice.
    request_id = models.UUIDField(unique=True, editable=False)
    at = models.DateTimeField(db_index=True)
    key = models.ForeignKey(
        GatewayKey, null=True, on_delete=models.SET_NULL, related_name="usage_records"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    endpoint = models.ForeignKey(
        Endpoint, null=True, on_delete=models.SET_NULL, related_name="gateway_usage"
    )
    model = models.CharField(max_length=200, blank=True)
    stream = models.BooleanField(default=False)
    status = models.PositiveSmallIntegerField()
    prompt_tokens = models.PositiveIntegerField(null=True)
    completion_tokens = models.PositiveIntegerField(null=True)
    # The endpoint reported no usage (a stream cut short, a server that does not count): the
    # tokens are the gateway's estimate (prompt characters / 4, content chunks), not a count.
    tokens_estimated = models.BooleanField(default=False)
    # Time to first token: streamed calls only (a plain answer arrives all at once).
    ttft_ms = models.PositiveIntegerField(null=True)
    total_ms = models.PositiveIntegerField(null=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["key", "at"], name="gateway_usage_key_at")]
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")

    def __str__(self) -> str:
        return f"{self.request_id} {self.status}"

    def total_tokens(self) -> int:
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)
