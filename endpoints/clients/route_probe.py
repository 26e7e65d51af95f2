"""Raw answers of the management API's read routes, for `check_platform`.

The management client (aiplatform.py) parses answers into typed objects and raises on anything
else; a probe needs the answer as it came (the status, the JSON, whatever its shape) to compare it
with the route table. Same session, same token source, same one refresh on a 401; only GET.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.views.decorators.debug import sensitive_variables

from endpoints.clients.aiplatform import AiPlatformClient
from endpoints.clients.errors import PlatformError
from webapp.platform_routes import READ_METHODS


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer at all
    payload: Any = field(default=None, repr=False)
    error: str = ""
    ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class RouteProbeClient(AiPlatformClient):
    @sensitive_variables("token")
    def probe(
        self, operation: str, *, ids: dict[str, str] | None = None, params: dict | None = None
    ) -> Answer:
        """One GET of `operation` as the table says; never raises for what the platform says."""
        # Reference: the route table in force (webapp/platform_routes.py): SEEN, UNVERIFIED or
        # CAPTURED per operation, as the report shows.
        route = self.routes[operation]
        method = route["method"].upper()
        if method not in READ_METHODS:
            raise ValueError(f"{operation} is {method}: a probe never writes")
        path = route["path"].format(**{k: quote(v, safe="") for k, v in (ids or {}).items()})
        started = time.monotonic()
        try:
            token = self.tokens.get()
            response = self._send(method, self.base_url + path, token, params, None)
            if response.status_code == 401:
                response = self._send(
                    method, self.base_url + path, self.tokens.refresh(token), params, None
                )
        except PlatformError as exc:
            return Answer(None, error=exc.message, ms=_ms(started))
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        error = "" if response.ok else f"HTTP {response.status_code} {response.reason or ''}"
        return Answer(response.status_code, payload, error.strip(), _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
