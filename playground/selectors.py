"""Reads for the playground: what a person may pick, list and send as context."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from endpoints.models import Endpoint
from playground.models import Conversation, Message, ShareLink, tokens_per_second
from webapp.process_cache import ProcessCache
from webapp.roles import GROUP_FOR_ROLE, Role


def playground_endpoints() -> QuerySet[Endpoint]:
    """Endpoints the playground can call: ACTIVE and linked to the platform (its URL is the one
    the platform gave or the template's); credentials come along in one join."""
    return (
        Endpoint.objects.filter(status=Endpoint.Status.ACTIVE)
        .filter(~Q(url="") | Q(platform_id__isnull=False))
        .select_related("credential", "access_credential")
        .order_by("name", "pk")
    )


def callable_endpoint(code: uuid.UUID) -> Endpoint | None:
    """The playground endpoint with this code, None if there is none.

    Every message sent looks its endpoint up; each web process keeps the answer (the row and its
    credentials) for GATEWAY_ROUTE_CACHE_SECONDS, as the gateway does, so sending reads nothing
    from the database for it. An endpoint paused meanwhile is refused by the platform itself.
    """
    return _callable_endpoints.get(code)


_callable_endpoints: ProcessCache[Endpoint | None] = ProcessCache(
    lambda code: playground_endpoints().filter(code=str(code)).first(),
    lambda: settings.GATEWAY_ROUTE_CACHE_SECONDS,
)


def forget_callable_endpoints() -> None:
    _callable_endpoints.clear()


def conversation_list_for_user(user, *, query: str = "", limit: int = 50) -> QuerySet[Conversation]:
    """A person's conversations, newest first, with the endpoint each used; `query` matches the
    title or any message."""
    qs = Conversation.objects.filter(owner=user)
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(title__icontains=query)
            | Exists(Message.objects.filter(conversation=OuterRef("pk"), content__icontains=query))
        )
    return qs.select_related("endpoint").only(
        "code", "title", "updated_at", "model_name", "endpoint__name"
    )[:limit]


@dataclass(frozen=True)
class ConversationGroup:
    label: str
    conversations: list[Conversation]


def conversations_by_age(
    conversations: Iterable[Conversation], *, today: date | None = None
) -> list[ConversationGroup]:
    """Today, Yesterday, the previous 7 and 30 days, older: the way chat products list them."""
    today = today or timezone.localdate()
    bounds = (
        (today, _("Today")),
        (today - timedelta(days=1), _("Yesterday")),
        (today - timedelta(days=7), _("Previous 7 days")),
        (today - timedelta(days=30), _("Previous 30 days")),
        (date.min, _("Older")),
    )
    groups: list[ConversationGroup] = []
    for conversation in conversations:
        day = timezone.localdate(conversation.updated_at)
        label = str(next(label for start, label in bounds if day >= start))
        if not groups or groups[-1].label != label:
            groups.append(ConversationGroup(label, []))
        groups[-1].conversations.append(conversation)
    return groups


# Messages are ordered by when their request started (then by pk): a reply stopped by its reader
# is saved a moment later, possibly after the next message was sent, and must still come first.
ORDER = ("created_at", "pk")
NEWEST_FIRST = ("-created_at", "-pk")


def conversation_messages(conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.order_by(*ORDER)


def conversation_context(
    conversation: Conversation | None, past_messages: int, *, before: Message | None = None
) -> list[dict]:
    """The last `past_messages` turns to send along, oldest first. An exchange without an answer
    is left out whole: a failed or interrupted reply (or one still being written) and the message
    it answered, which may be why it failed (too long for the model) and would otherwise be sent
    again with every later message, and would leave two user turns in a row."""
    if conversation is None or past_messages <= 0:
        return []
    qs = conversation.messages.all()
    if before is not None:
        qs = qs.filter(
            Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk)
        )
    rows = qs.order_by(*NEWEST_FIRST).values_list("role", "content", "error_code", "finish_reason")
    kept: list[dict] = []
    unanswered = False  # newest first, a reply comes just before the message it answers
    for role, content, error_code, finish_reason in rows[: past_messages * 3]:
        failed = bool(error_code) or finish_reason == Message.INTERRUPTED
        if role == Message.Role.ASSISTANT:
            unanswered = failed
        elif unanswered:
            unanswered = False
            continue
        if failed:
            continue
        kept.append({"role": role, "content": content})
        if len(kept) == past_messages:
            break
    return kept[::-1]


def last_exchange(conversation: Conversation) -> tuple[Message, Message | None] | None:
    """(the last user message, its reply or None), None for a conversation without one."""
    last_two = list(conversation.messages.order_by(*NEWEST_FIRST)[:2])
    if not last_two:
        return None
    if last_two[0].role == Message.Role.USER:
        return last_two[0], None
    if len(last_two) == 2 and last_two[1].role == Message.Role.USER:
        return last_two[1], last_two[0]
    return None


def last_failed_exchange(conversation: Conversation) -> tuple[Message, Message | None] | None:
    """(the user message, its failed reply or None) when the last exchange did not succeed."""
    last = last_exchange(conversation)
    if last is None or (last[1] is not None and not last[1].failed):
        return None
    return last


def share_links_for_conversation(conversation: Conversation) -> QuerySet[ShareLink]:
    return conversation.share_links.select_related("created_by", "revoked_by", "endpoint")


class LinkState:
    """The Admins' list of share links filters by these: each is one `ShareLink.state()` (ended:
    revoked or expired), so that a tab's rows all read as the tab."""

    ANSWERING = ShareLink.State.ANSWERING.value
    OPEN = ShareLink.State.OPEN.value
    PAUSED = ShareLink.State.PAUSED.value
    ENDED = "ended"
    ALL = ""
    CHOICES = (ALL, ANSWERING, OPEN, PAUSED, ENDED)


def _maker_may_share() -> Q:
    """The database's side of `ShareLink.paused_reason()` (see `webapp.roles.role_of`): the maker
    is active, and a superuser or in the Member or Admin group."""
    in_a_sharing_group = Exists(
        User.groups.through.objects.filter(
            user_id=OuterRef("created_by_id"),
            group__name__in=[GROUP_FOR_ROLE[Role.MEMBER], GROUP_FOR_ROLE[Role.ADMIN]],
        )
    )
    return Q(created_by__is_active=True) & (
        Q(created_by__is_superuser=True) | Q(in_a_sharing_group)
    )


def _usable(now) -> Q:
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def share_links_for_admin(*, state: str = LinkState.ALL, query: str = "") -> QuerySet[ShareLink]:
    """Every share link, newest first: what an Admin sees and may revoke."""
    now = timezone.now()
    qs = ShareLink.objects.select_related("conversation__owner", "created_by", "revoked_by")
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(title__icontains=query)
            | Q(conversation__title__icontains=query)
            | Q(created_by__username__icontains=query)
        )
    if state == LinkState.ANSWERING:
        qs = qs.filter(_usable(now) & _maker_may_share(), kind=ShareLink.Kind.LIVE)
    elif state == LinkState.OPEN:
        qs = qs.filter(_usable(now) & _maker_may_share(), kind=ShareLink.Kind.TRANSCRIPT)
    elif state == LinkState.PAUSED:
        qs = qs.filter(_usable(now) & ~_maker_may_share())
    elif state == LinkState.ENDED:
        qs = qs.filter(~_usable(now))
    return qs.order_by("-created_at", "-pk")


def share_link_counts(*, query: str = "") -> dict[str, int]:
    """How many links each filter of the Admins' list holds."""
    return {
        state: share_links_for_admin(state=state, query=query).count()
        for state in LinkState.CHOICES
    }


def share_links_with_makers(links: Iterable[ShareLink]) -> list[ShareLink]:
    """The links, each maker one object: `role_of` caches a role per user object, so a page of
    links by three people asks for three roles, not one per link."""
    makers: dict[int, User] = {}
    rows = list(links)
    for link in rows:
        link.created_by = makers.setdefault(link.created_by_id, link.created_by)
    return rows


def share_link_by_code(code) -> ShareLink | None:
    return (
        ShareLink.objects.select_related("conversation__owner", "created_by", "revoked_by")
        .filter(code=code)
        .first()
    )


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
