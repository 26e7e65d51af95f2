"""A chat request's prompt: its messages and tools checked as OpenAI checks them, and its size
estimated for the token budget (gateway.limits reserves it before the call, and the endpoint's
reported usage settles it after).

The estimate is 4 characters a token over everything the model server turns into prompt tokens:
message text, an assistant's tool calls, the tools offered and a response format's schema. A
non-text content part (an image) is counted as its JSON up to IMAGE_CHARS: a base64 image is
billed by its size in pixels, not in bytes, so its length would refuse it on any budget.
"""

from __future__ import annotations

import json

from gateway.errors import bad_request

ROLES = ("system", "developer", "user", "assistant", "tool")
IMAGE_CHARS = 4_000  # about 1,000 tokens: a detailed image on most vision models
PER_MESSAGE = 16  # the chat template's own tokens around each message, as characters


def _json_size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str))


def _content_size(content: object, where: str) -> int:
    if isinstance(content, str):
        return len(content)
    if content is None:
        return 0
    if not isinstance(content, list):
        raise bad_request(
            f"Invalid type for '{where}': expected a string or an array of content parts.",
            param=where,
            code="invalid_type",
        )
    size = 0
    for i, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise bad_request(
                f"Invalid type for '{where}[{i}]': expected a content part object.",
                param=f"{where}[{i}]",
                code="invalid_type",
            )
        text = part.get("text")
        if part["type"] == "text" and not isinstance(text, str):
            raise bad_request(
                f"Invalid type for '{where}[{i}].text': a text part needs its text as a string.",
                param=f"{where}[{i}].text",
                code="invalid_type",
            )
        size += len(text) if isinstance(text, str) else min(_json_size(part), IMAGE_CHARS)
    return size


def _messages_size(messages: object) -> int:
    if not isinstance(messages, list) or not messages:
        raise bad_request(
            "Missing required parameter: 'messages' (a non-empty array).",
            param="messages",
            code="missing_required_parameter",
        )
    chars = 0
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad_request(
                f"Invalid type for '{where}': expected an object.", param=where, code="invalid_type"
            )
        role = message.get("role")
        if role not in ROLES:
            raise bad_request(
                f"Invalid value for '{where}.role': {role!r} is not one of {', '.join(ROLES)}.",
                param=f"{where}.role",
            )
        content = message.get("content")
        if content is None and role != "assistant":  # an assistant's may be tool calls alone
            raise bad_request(
                f"Invalid type for '{where}.content': a {role} message needs content "
                "(a string or an array of content parts), got null.",
                param=f"{where}.content",
                code="invalid_type",
            )
        chars += _content_size(content, f"{where}.content") + PER_MESSAGE
        calls = message.get("tool_calls")
        if calls is not None:
            if not isinstance(calls, list):
                raise bad_request(
                    f"Invalid type for '{where}.tool_calls': expected an array.",
                    param=f"{where}.tool_calls",
                    code="invalid_type",
                )
            chars += _json_size(calls)
    return chars


def _tools_size(body: dict) -> int:
    tools = body.get("tools")
    if tools is None:
        return 0
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise bad_request(
            "Invalid type for 'tools': expected an array of tool objects.",
            param="tools",
            code="invalid_type",
        )
    return _json_size(tools)


def estimate(body: dict) -> int:
    """Check the messages and tools; return the prompt's size in tokens, roughly."""
    chars = _messages_size(body.get("messages")) + _tools_size(body)
    response_format = body.get("response_format")
    if response_format is not None:
        chars += _json_size(response_format)
    return chars // 4 + 1
