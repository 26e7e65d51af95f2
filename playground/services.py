"""Writes of the playground: exchanges, conversations and share links."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from endpoints.models import Endpoint
from playground.models import Conversation, Message, ShareLink
from playground.relay import Reply

TITLE_LENGTH = 60


def title_from(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= TITLE_LENGTH else words[: TITLE_LENGTH - 1].rstrip() + "…"


@transaction.atomic
def exchange_record(
    *,
    conversation_code: uuid.UUID,
    owner,
    endpoint: Endpoint,
    system_prompt: str,
    params: dict,
    user_text: str | None,
    replace: Message | None,
    reply: Reply,
    at: datetime | None = None,
) -> Conversation:
    """Write one exchange at the end of a reply, in one transaction.

    `user_text` is the new message, or None for a retry (its user message is already stored and
    `replace` is the failed reply it replaces). The conversation is created on its first
    exchange, and remembers the endpoint, system prompt and parameters last used. Its messages are
    dated `at`, when the request started (see selectors.ORDER).
    """
    now = timezone.now()
    at = at or now
    conversation, created = Conversation.objects.get_or_create(
        code=conversation_code,
        owner=owner,
        defaults={
            "title": title_from(user_text or "") or "…",
            "endpoint": endpoint,
            "model_name": reply.model,
            "system_prompt": system_prompt,
            "params": params,
            "updated_at": now,
        },
    )
    if not created:
        Conversation.objects.filter(pk=conversation.pk).update(
            endpoint=endpoint,
            model_name=reply.model,
            system_prompt=system_prompt,
            params=params,
            updated_at=now,
        )
    rows = []
    if user_text is not None:
        rows.append(
            Message(
                conversation=conversation, role=Message.Role.USER, content=user_text, created_at=at
            )
        )
    elif replace is not None:
        replace.delete()
    rows.append(
        Message(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            created_at=at,
            **reply.message_fields(),
        )
    )
    Message.objects.bulk_create(rows)
    return conversation


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
) -> ShareLink:
    live = kind == ShareLink.Kind.LIVE
    link = ShareLink(
        conversation=conversation,
        kind=kind,
        # A live demo is for people without an account: it is always open to the link.
        public=True if live else public,
        created_by=created_by,
        expires_at=timezone.now() + expires_in,
        endpoint=endpoint if live else None,
        system_prompt=system_prompt if live else "",
        params=params if live else {},
        rate_per_link=rate_per_link,
        rate_per_visitor=rate_per_visitor,
    )
    link.full_clean()
    link.save()
    return link


def share_link_revoke(*, link: ShareLink, by) -> bool:
    """Revoke at once; the next request through the link is refused. False if it already was."""
    now = timezone.now()
    changed = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by
    )
    if changed:
        link.revoked_at, link.revoked_by = now, by
    return bool(changed)
