"""Share tokens never reach a log line: `/share/<token>/` is written `/share/[<log id>]/`.

A share token is the key to a demo: anyone who reads it in a log (the access log, an error line
of `django.request`, a CSRF warning, a `?next=` after a login redirect) could use the link. The log
id is a short hash of the token: it names the link (the admin panel shows it beside each link, to
find its lines) and gives nothing back. No Django import here: gunicorn's logger uses it too
(`playground.gunicorn_logger`), before and outside Django.
"""

from __future__ import annotations

import hashlib
import logging
import re

# The token's alphabet is URL-safe base64 (models.new_share_token); a redacted id is in brackets,
# outside that alphabet, so a line is never rewritten twice. `%2F` covers `?next=%2Fshare%2F…`.
SHARE_PATH = re.compile(r"(/|%2F)share(/|%2F)([A-Za-z0-9_-]+)", re.IGNORECASE)


def share_log_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:10]


def redact_share_tokens(text: str) -> str:
    if "share" not in text.lower():
        return text
    return SHARE_PATH.sub(
        lambda m: f"{m.group(1)}share{m.group(2)}[{share_log_id(m.group(3))}]", text
    )


class RedactShareTokens(logging.Filter):
    """Rewrites the formatted message of every record it sees (a handler's or a logger's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a broken record is logging's business; it reports it itself
        redacted = redact_share_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
