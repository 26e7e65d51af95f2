"""How long a live demo's message may be, and what a visitor reads when it is too long.

The form counts characters (code points, line breaks as one: forms.MessageField), and the body is
refused before it is read when it could not hold a message of that length (share_views). But a
model counts tokens, and a character may be several: 8,000 emoji are 8,000 characters and more
tokens than a small model's context. Only the model server knows its context, so its refusal
(HTTP 400 with its own words) is recognised here and answered as the visitor's mistake: a 400 that
says what to do, nothing kept in the chat and nothing noted against the link (the link is fine).
"""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.translation import gettext as _

from endpoints.clients.errors import PlatformError

# What model servers say when the prompt and max_tokens do not fit the context:
# OpenAI's code (SEEN in OpenAI's API reference; the local platform says it too), vLLM's words
# ("This model's maximum context length is 2048 tokens. However, you requested …", SEEN in vLLM's
# serving code), Hugging Face TGI's ("`inputs` tokens + `max_new_tokens` must be <= 2048", SEEN in
# its router's validation).
_CODES = {"context_length_exceeded"}
_WORDS = ("maximum context length", "`inputs` tokens + `max_new_tokens`", "context length exceeded")


def too_long_for_the_model(exc: PlatformError) -> bool:
    """The model server refused the prompt for its length (not for a fault of its own)."""
    if exc.status_code == 413:
        return True
    if exc.status_code not in (400, 422):
        return False
    if exc.code in _CODES:
        return True
    words = (exc.message or "").lower()
    return any(w.lower() in words for w in _WORDS)


def too_long_message() -> str:
    return _(
        "This message is too long for the model behind this demo. Send a shorter message, or "
        "reload the page to start a new conversation."
    )


def too_long_response() -> JsonResponse:
    return JsonResponse(
        {"error": {"message": too_long_message(), "retry": False, "code": "too_long"}},
        status=400,
    )
