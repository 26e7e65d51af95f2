"""Saved playground conversations, their messages, and the links that share them.

A conversation belongs to one person. An exchange (the user's message and the reply) is written
before the reply streams, the reply marked interrupted, and the reply updated once when it ends:
a worker that dies mid-reply leaves the message and an interrupted reply, never a lost exchange.
The relay never writes per chunk.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from endpoints.models import Endpoint
from playground import failures


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

    # Not OpenAI finish reasons. STOPPED: the person pressed Stop (or closed the page) mid-reply.
    # INTERRUPTED: the reply never ended here (the web process died or was stopped mid-reply);
    # every reply is stored so until it ends. TIME_LIMIT: it ran past PLAYGROUND_STREAM_MAX_SECONDS.
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    TIME_LIMIT = "time_limit"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Replies only: how it ended and how fast it came.
    finish_reason = models.CharField(max_length=30, blank=True)
    # Why it failed: a code of playground.failures and its parameters, rendered per reader.
    error_code = models.CharField(max_length=40, blank=True)
    error_params = models.JSONField(default=dict, blank=True)
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
        return bool(self.error_code) or self.finish_reason == self.INTERRUPTED

    @property
    def retryable(self) -> bool:
        """Asking again can help (not a conversation too long for the model): Retry is shown."""
        if not self.error_code:
            return True
        return failures.status_of(failures.Failure(self.error_code, self.error_params))[1]

    @property
    def error_text(self) -> str:
        if self.error_code:
            return failures.render(self.error_code, self.error_params)
        if self.finish_reason == self.INTERRUPTED and self.content:
            return str(
                _(
                    "This reply was interrupted: the server stopped before it ended (or it is "
                    "still being written in another tab). What arrived is kept."
                )
            )
        if self.finish_reason == self.INTERRUPTED:
            # Stored only when it ends: a web process killed mid-reply kept none of it.
            return str(
                _(
                    "This reply was interrupted: the server stopped before it was saved (or it "
                    "is still being written in another tab)."
                )
            )
        return ""


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

    Both are copies taken when the link was made: a transcript keeps the messages (and the system
    prompt only if chosen), a live link the endpoint, system prompt and parameters, so that later
    changes to the conversation change neither. A link answers only while the person who made it
    is an active Member (or Admin): see `paused_reason()`.
    """

    class Kind(models.TextChoices):
        TRANSCRIPT = "transcript", _("Read-only transcript")
        LIVE = "live", _("Live demo")

    class State(models.TextChoices):
        """What `state()` says (not a column: it follows the clock and the maker's role)."""

        ANSWERING = "answering", _("Answering")  # a live demo that answers its visitors
        OPEN = "open", pgettext_lazy("share link state", "Open")  # a transcript one may read
        PAUSED = "paused", _("Paused")  # either kind, while its maker may not share
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    token = models.CharField(max_length=40, unique=True, default=new_share_token, editable=False)
    # The console's handle on a link (the Admins' list revokes by it): the token is the key to the
    # demo and never appears on a page but its owner's.
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
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
    # The conversation's title and model when the link was made.
    title = models.CharField(_("title"), max_length=120, blank=True)
    model_name = models.CharField(max_length=200, blank=True)
    # Transcripts: the messages as they were when the link was made (see `transcript_entry`).
    transcript = models.JSONField(default=list, blank=True)
    endpoint = models.ForeignKey(
        Endpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Live: sent to the model, never shown. Transcript: shown, only when its maker chose to.
    system_prompt = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    rate_per_link = models.PositiveIntegerField(_("messages per minute, whole link"), default=30)
    rate_per_visitor = models.PositiveIntegerField(_("messages per minute, per visitor"), default=6)
    # Live: what went wrong last for a visitor, in full, for the owner (visitors read less): a
    # code of playground.failures and its parameters, rendered in the owner's language.
    last_error_code = models.CharField(_("last error"), max_length=40, blank=True)
    last_error_params = models.JSONField(default=dict, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("share link")
        verbose_name_plural = _("share links")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} [{self.log_id}]"

    def __repr__(self) -> str:
        # The token is the key to the demo: never in a log line.
        return f"<ShareLink {self.pk} {self.kind} conversation={self.conversation_id}>"

    @property
    def log_id(self) -> str:
        """What logs write instead of the token (webapp.logfilters)."""
        from webapp.logfilters import share_log_id

        return share_log_id(self.token)

    @property
    def last_error(self) -> str:
        """The last error in the active language ("" when none)."""
        return failures.render(self.last_error_code, self.last_error_params)

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_usable(self, now=None) -> bool:
        return not self.is_revoked() and not self.is_expired(now)

    def paused_reason(self) -> str:
        """Why a link that is neither revoked nor expired does not answer; "" when it does.

        A link works on the team's credentials on behalf of the person who made it: once they are
        deactivated or no longer a Member, it stops, and works again if they become one again.
        """
        from webapp.roles import Role, role_of

        user = self.created_by
        name = user.get_username()
        if not user.is_active:
            return str(_("%(who)s, who made it, is deactivated.") % {"who": name})
        if role_of(user) < Role.MEMBER:
            return str(_("%(who)s, who made it, is no longer a Member.") % {"who": name})
        return ""

    def is_answering(self) -> bool:
        return self.is_usable() and not self.paused_reason()

    def state(self, now=None) -> State:
        """One word for where the link stands; a transcript answers nothing, so it is open."""
        if self.is_revoked():
            return self.State.REVOKED
        if self.is_expired(now):
            return self.State.EXPIRED
        if self.paused_reason():
            return self.State.PAUSED
        return self.State.ANSWERING if self.is_live else self.State.OPEN

    @property
    def is_live(self) -> bool:
        return self.kind == self.Kind.LIVE


def transcript_entry(message: Message) -> dict:
    """One message of a transcript snapshot. A failed reply keeps no error text: the transcript
    may be public, and the details (credentials, platform messages) are the owner's."""
    return {
        "role": message.role,
        "content": message.content,
        "model_name": message.model_name,
        "failed": message.failed,
        "finish_reason": "" if message.failed else message.finish_reason,
        "ttft_ms": message.ttft_ms,
        "total_ms": message.total_ms,
        "prompt_tokens": message.prompt_tokens,
        "completion_tokens": message.completion_tokens,
    }
