"""Text PostgreSQL and its driver can store: no NUL, no lone surrogate; and no gateway key.

JSON's `"\\ud800"` decodes to a lone surrogate, which UTF-8 cannot encode, and psycopg refuses
NUL in text; a caller can send either. Names with them are refused (gateway.api), and the usage
record keeps what it quotes with them replaced (gateway.calls, gateway.usage). A key pasted into
the wrong field (the model, a parameter's name) is kept as the prefix the Keys page shows, as the
logs keep it (webapp.logfilters).
"""

from __future__ import annotations

import re

from webapp.logfilters import redact_gateway_keys

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """`text` with each NUL and lone surrogate replaced by U+FFFD, and any gateway key cut to
    its prefix."""
    return redact_gateway_keys(_UNSTORABLE.sub(REPLACEMENT, text))


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None
