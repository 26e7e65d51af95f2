"""A recorder that writes HTTP exchanges as a HAR 1.2 file, the way a browser's network panel saves
one (Chrome's "Save all as HAR with content"): every request header, cookies and Authorization
included, bodies as text.

It exists so that the tests can hand `import_console_har` the same kind of file a person records
in the VNG console, secrets and all, and prove that none of them comes out the other side.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests

CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def _pairs(headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers.items()]


def _request_cookies(header: str) -> list[dict]:
    cookies = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            cookies.append({"name": name, "value": value})
    return cookies


def _response_cookies(response: requests.Response) -> list[dict]:
    jar: SimpleCookie = SimpleCookie()
    for value in response.raw.headers.getlist("Set-Cookie") if response.raw else []:
        jar.load(value)
    return [
        {"name": name, "value": morsel.value, "path": morsel["path"], "httpOnly": True}
        for name, morsel in jar.items()
    ]


class HarRecorder:
    """Collects exchanges (`record(response)`) and writes them as HAR 1.2 (`write(path)`)."""

    def __init__(self, *, title: str = "AI Platform console") -> None:
        self.title = title
        self.started = datetime.now(tz=UTC)
        self.entries: list[dict] = []

    def record(self, response: requests.Response) -> None:
        request = response.request
        url = request.url or ""
        body = request.body or b""
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        sent = dict(request.headers)
        wait_ms = response.elapsed.total_seconds() * 1000
        started = datetime.now(tz=UTC)
        entry: dict = {
            "pageref": "page_1",
            "startedDateTime": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "time": round(wait_ms, 3),
            "request": {
                "method": request.method,
                "url": url,
                "httpVersion": "HTTP/1.1",
                "cookies": _request_cookies(sent.get("Cookie", "")),
                "headers": _pairs(sent),
                "queryString": [
                    {"name": k, "value": v} for k, v in parse_qsl(urlsplit(url).query, True)
                ],
                "headersSize": -1,
                "bodySize": len(body),
            },
            "response": {
                "status": response.status_code,
                "statusText": response.reason or "",
                "httpVersion": "HTTP/1.1",
                "cookies": _response_cookies(response),
                "headers": _pairs(response.headers),
                "content": {
                    "size": len(response.content),
                    "mimeType": response.headers.get("Content-Type", ""),
                    "text": response.text,
                },
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": len(response.content),
                "_transferSize": len(response.content),
            },
            "cache": {},
            "timings": {
                "blocked": -1,
                "dns": -1,
                "ssl": -1,
                "connect": -1,
                "send": 0,
                "wait": round(wait_ms, 3),
                "receive": 0,
            },
            "serverIPAddress": urlsplit(url).hostname or "",
            "_resourceType": "fetch",
        }
        if text:
            entry["request"]["postData"] = {
                "mimeType": sent.get("Content-Type", "application/json"),
                "text": text,
            }
        self.entries.append(entry)

    def har(self) -> dict:
        return {
            "log": {
                "version": "1.2",
                "creator": {"name": "WebInspector", "version": "537.36"},
                "browser": {"name": "Chrome", "version": "131.0.0.0"},
                "pages": [
                    {
                        "startedDateTime": self.started.isoformat(timespec="milliseconds").replace(
                            "+00:00", "Z"
                        ),
                        "id": "page_1",
                        "title": self.title,
                        "pageTimings": {"onContentLoad": -1, "onLoad": -1},
                    }
                ],
                "entries": self.entries,
            }
        }

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.har(), indent=2, ensure_ascii=False), encoding="utf-8")
        return path


class RecordingBrowser:
    """A requests session that sends what a browser tab of the console sends (its cookies, a
    Bearer token, Origin and Referer) and records every exchange."""

    def __init__(
        self,
        recorder: HarRecorder,
        *,
        cookies: dict[str, str] | None = None,
        origin: str = "https://aiplatform.console.greennode.ai",
    ) -> None:
        self.recorder = recorder
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers.update(
            {
                "User-Agent": CHROME_UA,
                "Accept": "application/json, text/plain, */*",
                "Accept-Language": "vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7",
                "Origin": origin,
                "Referer": origin + "/inference",
            }
        )
        if cookies:
            self.session.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.bearer = ""

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.bearer and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.bearer}"
        response = self.session.request(method, url, headers=headers, timeout=10, **kwargs)
        self.recorder.record(response)
        return response
