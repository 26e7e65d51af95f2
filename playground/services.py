"""Writes of the playground: exchanges, conversations and share links."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from endpoints.models import Endpoint
from playground.failures import Failure
from playground.models import Conversation, Message, ShareLink, transcript_entry
from playground.relay import Reply

TITLE_LENGTH = 60


def title_from(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= TITLE_LENGTH else words[: TITLE_LENGTH - 1].rstrip() + "…"


@transaction.atomic
def exchange_start(
    *,
    conversation: Conversation | None,
    owner,
    endpoint: Endpoint,
    system_prompt: str,
    params: dict,
    user_text: str | None,
    replace: Message | None,
    model: str,
    at: datetime | None = None,
) -> tuple[Conversation, Message]:
    """Store an exchange before its reply streams: the message, and a reply marked interrupted.

    `user_text` is the new message, or None for a retry (its user message is already stored and
    `replace` is the failed reply it replaces). A new chat (`conversation` None) is created here,
    with its first message; every exchange records the endpoint, system prompt and parameters last
    used. Messages are dated `at`, when the request started (see selectors.ORDER). The reply stays
    interrupted if the web process dies before `exchange_finish`: the message is never lost, and
    the conversation's URL (sent to the browser at the first byte) always exists.
    """
    now = timezone.now()
    at = at or now
    settings_used = {
        "endpoint": endpoint,
        "model_name": model,
        "system_prompt": system_prompt,
        "params": params,
        "updated_at": now,
    }
    if conversation is None:
        conversation = Conversation.objects.create(
            owner=owner, title=title_from(user_text or "") or "…", **settings_used
        )
    else:
        Conversation.objects.filter(pk=conversation.pk).update(**settings_used)
    rows = []
    if user_text is not None:
        rows.append(
            Message(
                conversation=conversation, role=Message.Role.USER, content=user_text, created_at=at
            )
        )
    elif replace is not None:
        replace.delete()
    reply = Message(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        created_at=at,
        finish_reason=Message.INTERRUPTED,
        model_name=model,
    )
    # One INSERT for both (a round trip less before the first byte); ids in this order.
    Message.objects.bulk_create([*rows, reply])
    return conversation, reply


def exchange_finish(*, message: Message, reply: Reply) -> None:
    """Write the reply as it ended (one UPDATE). A reply retried meanwhile is gone: no-op."""
    Message.objects.filter(pk=message.pk).update(**reply.message_fields())


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    conversation.title = title
    conversation.full_clean(exclude=["endpoint", "owner"])
    conversation.save(update_fields=["title"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    conversation.delete()


def share_link_create(
    *,
    conversation: Conversation,
    created_by,
    kind: str,
    public: bool,
    expires_in: timedelta,
    endpoint: Endpoint | None,
    system_prompt: str,
    params: dict,
    rate_per_link: int,
    rate_per_visitor: int,
    show_system_prompt: bool = False,
) -> ShareLink:
    """A link, and the copy it shows: a transcript keeps the messages as they are now, and the
    conversation's system prompt only when `show_system_prompt`."""
    live = kind == ShareLink.Kind.LIVE
    transcript = []
    if not live:
        messages = conversation.messages.order_by("created_at", "pk")
        transcript = [transcript_entry(m) for m in messages]
    link = ShareLink(
        conversation=conversation,
        kind=kind,
        # A live demo is for people without an account: it is always open to the link.
        public=True if live else public,
        created_by=created_by,
        expires_at=timezone.now() + expires_in,
        title=conversation.title,
        model_name=conversation.model_name,
        transcript=transcript,
        endpoint=endpoint if live else None,
        system_prompt=(
            system_prompt if live else (conversation.system_prompt if show_system_prompt else "")
        ),
        params=params if live else {},
        rate_per_link=rate_per_link,
        rate_per_visitor=rate_per_visitor,
    )
    link.full_clean()
    link.save()
    return link


def share_link_note_error(*, link: ShareLink, error: Failure) -> None:
    """Keep what went wrong for a visitor, in full, for the link's owner (as a code: the owner
    reads it in their own language)."""
    now = timezone.now()
    ShareLink.objects.filter(pk=link.pk).update(
        last_error_code=error.code, last_error_params=error.params, last_error_at=now
    )
    link.last_error_code, link.last_error_params, link.last_error_at = (
        error.code,
        error.params,
        now,
    )


def share_link_revoke(*, link: ShareLink, by) -> bool:
    """Revoke at once; the next request through the link is refused. False if it already was."""
    now = timezone.now()
    changed = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by
    )
    if changed:
        link.revoked_at, link.revoked_by = now, by
    return bool(changed)
