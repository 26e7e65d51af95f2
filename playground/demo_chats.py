"""A live demo visitor's conversation, kept by the server in Redis.

The demo page carries a signed chat id (one per page load: reloading starts afresh, as the page
says). A visitor sends only the new message with it; the turns that go along are the ones this
server stored, the replies as the model wrote them, so a visitor can neither forge an assistant
turn nor send more history than the link's window. Each chat keeps at most the link's "past
messages" turns and expires after an hour without a message.
"""

from __future__ import annotations

import json
import secrets

from django.core import signing

from playground.models import ShareLink
from playground.ratelimit import redis_client

KEY_PREFIX = "idash:playground:demo-chat:"
SALT = "playground.share.chat"
IDLE_SECONDS = 3600


def new_chat_token(link: ShareLink) -> str:
    return signing.dumps({"link": link.pk, "chat": secrets.token_urlsafe(16)}, salt=SALT)


def chat_id(link: ShareLink, token: str) -> str | None:
    """The chat the token names, or None when it is forged, mangled or another link's."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("link") != link.pk:
        return None
    chat = data.get("chat")
    return chat if isinstance(chat, str) else None


def _key(link: ShareLink, chat: str) -> str:
    return f"{KEY_PREFIX}{link.pk}:{chat}"


def _window(link: ShareLink) -> int:
    return max(1, int((link.params or {}).get("past_messages") or 1))


def history(link: ShareLink, chat: str) -> list[dict]:
    raw = redis_client().lrange(_key(link, chat), -_window(link), -1)
    return [json.loads(item) for item in raw]


def append(link: ShareLink, chat: str, *, question: str, answer: str) -> None:
    key = _key(link, chat)
    pipe = redis_client().pipeline(transaction=True)
    pipe.rpush(
        key,
        json.dumps({"role": "user", "content": question}),
        json.dumps({"role": "assistant", "content": answer}),
    )
    pipe.ltrim(key, -_window(link), -1)
    pipe.expire(key, IDLE_SECONDS)
    pipe.execute()
