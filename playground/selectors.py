"""Reads for the playground: what a person may pick, list and send as context."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from endpoints.models import Endpoint
from playground.models import Conversation, Message, ShareLink, tokens_per_second


def playground_endpoints() -> QuerySet[Endpoint]:
    """Endpoints the playground can call: ACTIVE and linked to the platform (its URL is the one
    the platform gave or the template's); credentials come along in one join."""
    return (
        Endpoint.objects.filter(status=Endpoint.Status.ACTIVE)
        .filter(~Q(url="") | Q(platform_id__isnull=False))
        .select_related("credential", "access_credential")
        .order_by("name", "pk")
    )


def conversation_list_for_user(user, *, limit: int = 50) -> QuerySet[Conversation]:
    return Conversation.objects.filter(owner=user).only(
        "code", "title", "updated_at", "model_name"
    )[:limit]


# Messages are ordered by when their request started (then by pk): a reply stopped by its reader
# is saved a moment later, possibly after the next message was sent, and must still come first.
ORDER = ("created_at", "pk")
NEWEST_FIRST = ("-created_at", "-pk")


def conversation_messages(conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.order_by(*ORDER)


def conversation_context(
    conversation: Conversation | None, past_messages: int, *, before: Message | None = None
) -> list[dict]:
    """The last `past_messages` turns to send along, oldest first; failed and interrupted replies
    (and replies still being written) are left out."""
    if conversation is None:
        return []
    qs = conversation.messages.filter(error="").exclude(finish_reason=Message.INTERRUPTED)
    if before is not None:
        qs = qs.filter(
            Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk)
        )
    rows = list(qs.order_by(*NEWEST_FIRST).values_list("role", "content")[:past_messages])
    return [{"role": role, "content": content} for role, content in reversed(rows)]


def last_failed_exchange(conversation: Conversation) -> tuple[Message, Message | None] | None:
    """(the user message, its failed reply or None) when the last exchange did not succeed."""
    last_two = list(conversation.messages.order_by(*NEWEST_FIRST)[:2])
    if not last_two:
        return None
    if last_two[0].role == Message.Role.USER:
        return last_two[0], None
    if last_two[0].failed and len(last_two) == 2 and last_two[1].role == Message.Role.USER:
        return last_two[1], last_two[0]
    return None


def share_links_for_conversation(conversation: Conversation) -> QuerySet[ShareLink]:
    return conversation.share_links.select_related("created_by", "revoked_by", "endpoint")


def share_link_by_token(token: str) -> ShareLink | None:
    return (
        ShareLink.objects.select_related(
            "conversation",
            "created_by",
            "endpoint__credential",
            "endpoint__access_credential",
        )
        .filter(token=token)
        .first()
    )


@dataclass(frozen=True)
class TranscriptMessage:
    """A message of a transcript snapshot, with what `_bits.html#message` reads."""

    role: str
    content: str
    model_name: str = ""
    failed: bool = False
    finish_reason: str = ""
    ttft_ms: int | None = None
    total_ms: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def tokens_per_second(self) -> float | None:
        return tokens_per_second(self.completion_tokens, self.ttft_ms, self.total_ms)

    @property
    def error_text(self) -> str:
        return str(_("This reply did not finish.")) if self.failed else ""


def share_transcript(link: ShareLink) -> list[TranscriptMessage]:
    fields = TranscriptMessage.__dataclass_fields__
    return [
        TranscriptMessage(**{k: v for k, v in entry.items() if k in fields})
        for entry in link.transcript
        if isinstance(entry, dict)
    ]
