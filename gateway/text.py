"""Text PostgreSQL and its driver can store: no NUL, no lone surrogate.

JSON's `"\\ud800"` decodes to a lone surrogate, which UTF-8 cannot encode, and psycopg refuses
NUL in text; a caller can send either. Names with them are refused (gateway.api), and the usage
record keeps what it quotes with them replaced (gateway.calls, gateway.usage).
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """`text` with each NUL and lone surrogate replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None
