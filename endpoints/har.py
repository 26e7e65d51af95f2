"""Reading a HAR file saved from the VNG console: the management calls in it, and nothing else.

A browser's HAR holds every request header (Authorization, Cookie), every response header
(Set-Cookie) and every body (tokens, API keys). This module reads only what the route table is
made of: the method, the URL's path and query parameter names, the status, and the JSON bodies,
which `endpoints.route_capture` turns into field *names*. Headers and cookies are never read; no
value from a body is ever printed or written. Nothing is kept once the import is done.

Refusals (`HarRefused`) say what is wrong in words and name no value from the file.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from webapp.json_depth import deeper_than


class HarRefused(ValueError):
    """The file cannot be imported; the message says why, and nothing was written."""


class HarOtherHost(HarRefused):
    """No request of the file went to the management API's address: the caller says how to give
    another address (the command's --management-url, the upload page's field)."""


@dataclass(frozen=True)
class Call:
    """One management call: what the route table is made of, and no header."""

    method: str
    path: str  # relative to the management base URL, unquoted, without the query
    query: dict[str, str] = field(repr=False)  # values stay in memory, never printed
    status: int
    request: Any = field(repr=False)  # the JSON body sent, or None
    response: Any = field(repr=False)  # the JSON body received, or None


# How deep a HAR or a body in it may nest. A console's JSON is a few levels deep; a file nested
# hundreds of levels would overflow Python's stack here or in the field matcher.
MAX_DEPTH = 64


def _too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    return deeper_than(data, limit)


def _nested_refusal(label: str) -> HarRefused:
    return HarRefused(
        _(
            "%(file)s nests its JSON more than %(limit)s levels deep, which no console "
            "recording does. Save the HAR again from the browser's network panel."
        )
        % {"file": label, "limit": MAX_DEPTH}
    )


def size_text(size: int) -> str:
    """A size in MB, or in KB or bytes below 1 MB (a limit of 512 bytes is not "0.0 MB"), with
    one decimal only when it says something ("512 KB", "1.5 MB"; "1,5 MB" in Vietnamese)."""
    if size >= 1024 * 1024:
        return f"{_one_decimal(size / (1024 * 1024))} MB"
    if size >= 1024:
        return f"{_one_decimal(size / 1024)} KB"
    return ngettext("%(n)s byte", "%(n)s bytes", size) % {"n": size}


def _one_decimal(value: float) -> str:
    rounded = round(value, 1)
    return number_format(rounded, 0 if rounded == int(rounded) else 1)


def read_har(stream: IO[bytes], *, size: int, name: str = "") -> dict:
    """The parsed HAR 1.2 log, or HarRefused (too big, not JSON, not HAR 1.2, empty)."""
    limit = settings.CONSOLE_HAR_MAX_BYTES
    label = name or _("The file")
    if size > limit:
        raise HarRefused(
            _("%(file)s is %(size)s, over the limit of %(limit)s (CONSOLE_HAR_MAX_BYTES).")
            % {"file": label, "size": size_text(size), "limit": size_text(limit)}
        )
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise HarRefused(
            _("%(file)s is over the limit of %(limit)s (CONSOLE_HAR_MAX_BYTES).")
            % {"file": label, "limit": size_text(limit)}
        )
    if not raw.strip():
        raise HarRefused(_("%(file)s is empty.") % {"file": label})
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise HarRefused(
            _("%(file)s is not a text file, so not a HAR.") % {"file": label}
        ) from None
    except json.JSONDecodeError as exc:
        raise HarRefused(
            _(
                "%(file)s is not JSON (line %(line)s, column %(column)s). Save it from the "
                "browser's network panel with “Save all as HAR”."
            )
            % {"file": label, "line": exc.lineno, "column": exc.colno}
        ) from None
    except RecursionError:
        raise _nested_refusal(label) from None
    except ValueError:
        # A number too long to read (Python refuses integers of more than 4300 digits).
        raise HarRefused(
            _("%(file)s holds a number too long to read, so it is not a console recording.")
            % {"file": label}
        ) from None
    if _too_deep(data):
        raise _nested_refusal(label)
    log = data.get("log") if isinstance(data, dict) else None
    if not isinstance(log, dict):
        raise HarRefused(
            _("%(file)s is JSON but not a HAR file (it has no “log”).") % {"file": label}
        )
    version = log.get("version")
    if version != "1.2":
        raise HarRefused(
            _("%(file)s is not a HAR 1.2 file (its version is %(version)s).")
            % {"file": label, "version": json.dumps(version)[:20]}
        )
    entries = log.get("entries")
    if not isinstance(entries, list) or not entries:
        raise HarRefused(
            _(
                "%(file)s holds no requests. Turn the network recorder on before going through "
                "the console, then save."
            )
            % {"file": label}
        )
    return log


def _json_text(text: Any, encoding: Any = None, *, label: str = "") -> Any:
    """The JSON body, None when it is not JSON; HarRefused when it nests too deep to read."""
    if not isinstance(text, str) or not text.strip():
        return None
    if encoding == "base64":
        try:
            text = base64.b64decode(text).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    try:
        body = json.loads(text)
    except RecursionError:
        raise _nested_refusal(label or _("The file")) from None
    except ValueError:
        return None
    if _too_deep(body):
        raise _nested_refusal(label or _("The file"))
    return body


def _status(value: Any, label: str) -> int:
    """The response's status; 0 when it gives none, HarRefused when it is no HTTP status."""
    refusal = HarRefused(
        _(
            "%(file)s has a response whose status is not a number between 0 and 999, so it was "
            "not saved by a browser. Save the HAR again from the browser's network panel."
        )
        % {"file": label}
    )
    if value is None:
        return 0
    # A number, as browsers write it: not text, not true/false, not 200.5.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refusal
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise refusal
    status = int(value)
    if not 0 <= status <= 999:
        raise refusal
    return status


def _split(url: str) -> SplitResult | None:
    """The parts of the address; None when it cannot be read (`http://[::1/x`)."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _origin(url: str) -> tuple[str, str, int | None, str]:
    parts = _split(url)
    if parts is None:
        raise ValueError(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port or default, parts.path


def _address(scheme: str, host: str, port: int | None) -> str:
    """host, with its port when it is not the scheme's default (`127.0.0.1:8001`)."""
    shown = f"[{host}]" if ":" in host else host
    return shown if port in (None, {"http": 80, "https": 443}.get(scheme)) else f"{shown}:{port}"


def management_calls(log: dict, base_url: str, *, name: str = "") -> list[Call]:
    """The JSON calls of the log that went to `base_url` (scheme, host, port and path prefix).

    HarOtherHost when none did (the file was recorded on another host), naming the hosts it did
    call (host names and ports only).
    """
    label = name or _("The file")
    try:
        scheme, host, port, prefix = _origin(base_url)
    except ValueError:
        raise HarRefused(
            _("“%(url)s” is not an address of the management API (https://host).")
            % {"url": base_url[:200]}
        ) from None
    prefix = prefix.rstrip("/")
    calls: list[Call] = []
    others: dict[str, int] = {}
    for number, entry in enumerate(log["entries"], start=1):
        request = entry.get("request") if isinstance(entry, dict) else None
        response = entry.get("response") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not isinstance(response, dict):
            continue
        url = str(request.get("url") or "")
        try:
            e_scheme, e_host, e_port, e_path = _origin(url)
        except ValueError:
            raise HarRefused(
                _(
                    "%(file)s has a request (number %(number)s) whose address is not a valid URL "
                    "(its host cannot be read), so it was not saved by a browser. Save the HAR "
                    "again from the browser's network panel."
                )
                % {"file": label, "number": number}
            ) from None
        if (e_scheme, e_host, e_port) != (scheme, host, port) or not (
            e_path == prefix or e_path.startswith(prefix + "/")
        ):
            if e_host:
                where = _address(e_scheme, e_host, e_port)
                others[where] = others.get(where, 0) + 1
            continue
        content = response.get("content")
        content = content if isinstance(content, dict) else {}
        post = request.get("postData")
        post = post if isinstance(post, dict) else {}
        status = _status(response.get("status"), label)
        calls.append(
            Call(
                method=str(request.get("method") or "GET").upper(),
                path=unquote(e_path[len(prefix) :] or "/"),
                query=dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)),
                status=status,
                request=_json_text(post.get("text"), label=label),
                response=_json_text(content.get("text"), content.get("encoding"), label=label),
            )
        )
    if not calls:
        seen = ", ".join(sorted(others, key=lambda h: -others[h])[:8]) or _("no host at all")
        raise HarOtherHost(
            _(
                "None of its requests went to the management API at %(host)s: it was recorded "
                "elsewhere. Hosts it called: %(hosts)s. Record the console while it calls "
                "%(host)s."
            )
            % {"host": _address(scheme, host, port) if host else base_url, "hosts": seen}
        )
    return calls
