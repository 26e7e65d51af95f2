"""Saved playground conversations, their messages, and the links that share them.

A conversation belongs to one person. An exchange (the user's message and the reply) is written
once, when the reply has finished streaming: the relay never writes per chunk.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from endpoints.models import Endpoint


class Conversation(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playground_conversations"
    )
    title = models.CharField(_("title"), max_length=120)
    # The endpoint, system prompt and parameters of the last message sent: reopening restores them.
    endpoint = models.ForeignKey(
        Endpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model_name = models.CharField(max_length=200, blank=True)
    system_prompt = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="conversation_owner_recent")]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self) -> str:
        return self.title


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", _("You")
        ASSISTANT = "assistant", _("Assistant")

    # Not an OpenAI finish reason: the person pressed Stop (or closed the page) mid-reply.
    STOPPED = "stopped"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Replies only: how it ended and how fast it came.
    finish_reason = models.CharField(max_length=30, blank=True)
    error = models.TextField(blank=True)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    total_ms = models.PositiveIntegerField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    model_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="message_in_order")]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"

    @property
    def tokens_per_second(self) -> float | None:
        return tokens_per_second(self.completion_tokens, self.ttft_ms, self.total_ms)

    @property
    def failed(self) -> bool:
        return bool(self.error)


def tokens_per_second(
    completion_tokens: int | None, ttft_ms: int | float | None, total_ms: int | float | None
) -> float | None:
    """Output speed once the first token is out (the wait before it is TTFT, shown apart)."""
    if not completion_tokens or ttft_ms is None or total_ms is None:
        return None
    generating = (total_ms - ttft_ms) / 1000
    if completion_tokens < 2 or generating <= 0:
        return None
    # The first token arrived at TTFT; the remaining ones took the rest of the time.
    return round((completion_tokens - 1) / generating, 1)


def new_share_token() -> str:
    return secrets.token_urlsafe(18)


class ShareLink(models.Model):
    """A link to a conversation: a read-only transcript, or a live demo of its endpoint.

    A live link keeps its own copy of the endpoint, system prompt and parameters, taken when it
    was made, so that later changes to the conversation do not change a demo in progress.
    """

    class Kind(models.TextChoices):
        TRANSCRIPT = "transcript", _("Read-only transcript")
        LIVE = "live", _("Live demo")

    token = models.CharField(max_length=40, unique=True, default=new_share_token, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="share_links"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # Transcripts: readable by signed-in people with a role, or by anyone with the link.
    public = models.BooleanField(_("anyone with the link"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    endpoint = models.ForeignKey(
        Endpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    system_prompt = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    rate_per_link = models.PositiveIntegerField(_("messages per minute, whole link"), default=30)
    rate_per_visitor = models.PositiveIntegerField(_("messages per minute, per visitor"), default=6)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("share link")
        verbose_name_plural = _("share links")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.token[:6]}…"

    def __repr__(self) -> str:
        # The token is the key to the demo: never in a log line.
        return f"<ShareLink {self.pk} {self.kind} conversation={self.conversation_id}>"

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_usable(self, now=None) -> bool:
        return not self.is_revoked() and not self.is_expired(now)

    @property
    def is_live(self) -> bool:
        return self.kind == self.Kind.LIVE
