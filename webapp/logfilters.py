"""Secrets in URLs never reach a log line: share links, set-password links and gateway keys.

A share token is the key to a demo, a set-password token the key to an account for 72 hours, a
gateway key the key to the team's endpoints: anyone who reads one in a log (the access log, an
error line of `django.request`, a CSRF warning, a `?next=` after a login redirect, a Referer, a key
pasted as `?api_key=`) could use it. So:

- `/share/<token>/` is written `/share/[<log id>]/` and `/set-password/<token>/` is written
  `/set-password/[<log id>]/`. The log id is a short hash of the token: it names the link (the
  admin panel shows a share link's beside it, to find its lines) and gives nothing back.
- A gateway key (`idk_` and 43 characters) is written as the prefix the Keys page shows and `…`.

No Django import here: gunicorn's logger uses it too (`webapp.gunicorn_logger`), before and
outside Django. This module is the one home of the redaction; Django's logging
(settings.LOGGING) and gunicorn's both call it.

The server decodes a request's path before routing it, so `/share/%41bc…/`, `/%73hare/Abc…/` and
`%2Fshare%2FAbc…` in a `?next=` all reach the same link as `/share/Abc…/`. A log line holds the
request as sent, so the word and the slash after it are matched however they are percent-encoded
(once or several times), and the whole path segment after them is redacted, whatever characters
it holds. The log id is taken of the decoded segment: every spelling of a link has the same id.
"""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import unquote

# A character as sent, or percent-encoded any number of times (`%73`, `%2573`, …).
_PCT = r"%(?:25)*"


def _spelled(word: str) -> str:
    return "".join(f"(?:{c}|{_PCT}{ord(c):02x})" for c in word)


_SLASH = f"(?:/|{_PCT}2f)"
# What ends a path segment, as sent or percent-encoded: a slash, `?`, `#`; and what ends a URL in
# a log line (white space, quotes, angle brackets) or a value in a query string (`&`).
_END_ENCODED = f"{_PCT}(?:2f|3f|23)"
_SEGMENT = rf"(?:(?!{_END_ENCODED})[^/?#&\s\"'<>\\])+"
# The path words whose next segment is a secret.
SECRET_WORDS = ("share", "set-password")
SECRET_PATH = re.compile(
    rf"({_SLASH}(?:{'|'.join(_spelled(w) for w in SECRET_WORDS)}){_SLASH})({_SEGMENT})",
    re.IGNORECASE,
)
# A gateway key (gateway/keyformat.py): its first 12 characters are what the Keys page shows.
# Whatever follows it: a key pasted twice, or with a suffix, is cut too (its first 43 characters
# after `idk_`, the whole secret, are gone).
GATEWAY_KEY = re.compile(r"(idk_[A-Za-z0-9_-]{8})[A-Za-z0-9_-]{35}")
# A segment that is already a log id: left alone, so a line is never rewritten twice.
_REDACTED = re.compile(r"\[[0-9a-f]{10}\]")


def share_log_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:10]


def _decoded(segment: str) -> str:
    """The segment as the server reads it: percent-decoded until nothing changes."""
    for _ in range(8):
        decoded = unquote(segment)
        if decoded == segment:
            break
        segment = decoded
    return segment


def _redact(match: re.Match) -> str:
    prefix, segment = match.group(1), match.group(2)
    if _REDACTED.fullmatch(segment):
        return match.group(0)
    return f"{prefix}[{share_log_id(_decoded(segment))}]"


def redact_gateway_keys(text: str) -> str:
    """Each whole gateway key in `text` as its prefix and `…`."""
    return GATEWAY_KEY.sub(r"\1…", text) if "idk_" in text else text


def redact_secrets(text: str) -> str:
    text = redact_gateway_keys(text)
    lowered = text.lower()
    if "share" not in lowered and "set-password" not in lowered and "%" not in text:
        return text
    return SECRET_PATH.sub(_redact, text)


class RedactSecrets(logging.Filter):
    """Rewrites the formatted message of every record it sees (a handler's or a logger's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a broken record is logging's business; it reports it itself
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
