"""The chat parameters and their ranges: those of the platform's own playground.

Reference: vngcloud-api.md §6, SEEN (`model-as-a-service/playground.md`): past messages 1..20
(default 10), max tokens 1..10000 (default 800), temperature 0..2 (default 1), top_p 0..1
(default 0.7), presence penalty -2..2 (default 0). Forms validate against these, the relay never
forwards anything outside them, and the page's sliders are drawn from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class Range:
    name: str
    low: float
    high: float
    default: float
    step: float
    integer: bool = False


TEMPERATURE = Range("temperature", 0, 2, 1, 0.01)
MAX_TOKENS = Range("max_tokens", 1, 10000, 800, 1, integer=True)
TOP_P = Range("top_p", 0, 1, 0.7, 0.01)
PRESENCE_PENALTY = Range("presence_penalty", -2, 2, 0, 0.01)
PAST_MESSAGES = Range("past_messages", 1, 20, 10, 1, integer=True)
RANGES = (PAST_MESSAGES, MAX_TOKENS, TEMPERATURE, TOP_P, PRESENCE_PENALTY)

# OpenAI (and vLLM) accept at most four stop sequences.
MAX_STOP_SEQUENCES = 4
MAX_STOP_LENGTH = 40


def defaults() -> dict[str, Any]:
    values: dict[str, Any] = {r.name: (int(r.default) if r.integer else r.default) for r in RANGES}
    values["stop"] = []
    return values


def message_max_chars() -> int:
    return settings.PLAYGROUND_MESSAGE_MAX_CHARS


def system_prompt_max_chars() -> int:
    return settings.PLAYGROUND_SYSTEM_PROMPT_MAX_CHARS


def stream_max_seconds() -> float:
    """The longest a reply may stream; past it the relay stops reading and keeps what arrived.

    PLAYGROUND_STREAM_MAX_SECONDS (environment, default 300 s). gunicorn.conf.py sets
    graceful_timeout above `longest_stream_seconds()`, so a restart lets every reply end.
    """
    value = getattr(settings, "PLAYGROUND_STREAM_MAX_SECONDS", None)
    if value is None:
        from webapp.env import env_float

        value = env_float("PLAYGROUND_STREAM_MAX_SECONDS", 300.0)
    return float(value)


def longest_stream_seconds() -> float:
    """The deadline is checked at each chunk: the last read may still wait a full read timeout."""
    return stream_max_seconds() + float(settings.AIPLATFORM_STREAM_READ_TIMEOUT)
