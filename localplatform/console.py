"""A console session against the local platform: what a person does in the VNG console, once.

`walk()` goes through the Inference pages the way issue 14 asks a person to record them: sign in
(an IAM token), open the list, the API keys, the create form (regions, models, instance types),
create, watch it come up, scale, stop, start, delete. It speaks the route profile's paths and
names, as a console speaks its own API, and every exchange goes through a RecordingBrowser, so
the HAR it leaves is the one a browser would have saved.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from typing import Any

from localplatform.har import HarRecorder, RecordingBrowser
from localplatform.profiles import Profile, invert, rename

_SLOT = re.compile(r"\(\?P<(\w+)>[^)]*\)")


class ConsoleSession:
    def __init__(
        self,
        base_url: str,
        profile: Profile,
        *,
        client_id: str,
        client_secret: str,
        recorder: HarRecorder | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.profile = profile
        self.client_id = client_id
        self.client_secret = client_secret
        self.recorder = recorder or HarRecorder()
        # What a signed-in console tab carries: a session cookie and analytics cookies.
        self.cookies = {
            "console_session": "cs-" + secrets.token_urlsafe(24),
            "_ga": "GA1.1." + secrets.token_hex(6),
        }
        self.browser = RecordingBrowser(self.recorder, cookies=self.cookies)
        self._paths = {name: (method, path) for method, path, name in reversed(profile.routes)}
        self._query_names = {ours: wire for wire, ours in profile.query.items()}

    # ------------------------------------------------------------------ plumbing
    def _url(self, handler: str, **slots: str) -> tuple[str, str]:
        method, pattern = self._paths[handler]
        path = _SLOT.sub(lambda m: slots[m.group(1)], pattern)
        return method, self.base + path

    def _query(self, **values: Any) -> dict:
        return {self._query_names.get(k, k): v for k, v in values.items()}

    def call(self, handler: str, *, body: dict | None = None, query: dict | None = None, **slots):
        method, url = self._url(handler, **slots)
        response = self.browser.request(
            method, url, params=self._query(**(query or {})) or None, json=body
        )
        return response

    def _object(self, response, resource: str) -> dict:
        payload = response.json()
        wire = payload.get(self.profile.data_key, payload)
        return rename(wire, invert(self.profile.fields.get(resource, {})))

    def _items(self, response, resource: str) -> list[dict]:
        payload = response.json()
        key = self.profile.envelope.get("listData", "listData")
        renames = invert(self.profile.fields.get(resource, {}))
        return [rename(item, renames) for item in payload.get(key, [])]

    # ------------------------------------------------------------------ the walk
    def sign_in(self) -> str:
        """An IAM token, minted over HTTP (Basic credentials, a token in the answer: both land in
        the HAR, as the console's own sign-in would)."""
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        response = self.browser.request(
            "POST",
            self.base + "/accounts-api/v2/auth/token",
            json={"grant_type": "client_credentials", "scope": "email"},
            headers={"Authorization": f"Basic {basic}"},
        )
        response.raise_for_status()
        self.browser.bearer = response.json()["access_token"]
        return self.browser.bearer

    def wait_for(self, endpoint_id: str, *statuses: str, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            response = self.call("get_endpoint", eid=endpoint_id)
            if response.status_code == 404 and "GONE" in statuses:
                return {}
            found = self._object(response, "endpoint")
            if found.get("status") in statuses or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def walk(self, name: str = "har-endpoint", region: str = "HCM") -> dict:
        """Every step once; returns the ids it saw (for the test to check against)."""
        self.sign_in()
        page = {"page": 1, "size": 20}
        self.call("list_endpoints", query={"region": region, **page})
        self.call("list_api_keys", query=page)
        regions = self._items(self.call("list_regions", query=page), "region")
        models = self._items(self.call("list_models", query=page), "model")
        flavors = self._items(
            self.call("list_instance_types", query={"region": region, **page}), "instance_type"
        )
        scaling = {"minReplicas": 1, "maxReplicas": 2, "cpuUtilization": 60}
        body = {
            "name": name,
            "region": regions[0]["id"],
            "modelRegistryId": models[0]["id"],
            "flavorId": flavors[0]["id"],
            "privateAccess": True,
            "autoscaling": {**scaling, "memoryUtilization": 60, "gpuUtilization": 70},
        }
        wire_body = rename(body, self.profile.fields.get("endpoint", {}))
        created = self._object(self.call("create_endpoint", body=wire_body), "endpoint")
        endpoint_id = created["id"]
        self.wait_for(endpoint_id, "ACTIVE", "ERROR")
        self.call("list_endpoints", query={"region": region, **page})
        scale = rename(
            {"autoscaling": {**scaling, "maxReplicas": 3}}, self.profile.fields.get("endpoint", {})
        )
        self.call("scale_endpoint", body=scale, eid=endpoint_id)
        self.wait_for(endpoint_id, "ACTIVE")
        self.call("stop_endpoint", eid=endpoint_id)
        self.wait_for(endpoint_id, "INACTIVE")
        self.call("start_endpoint", eid=endpoint_id)
        self.wait_for(endpoint_id, "ACTIVE")
        self.call("delete_endpoint", eid=endpoint_id)
        self.wait_for(endpoint_id, "GONE")
        return {"endpoint_id": endpoint_id, "token": self.browser.bearer, **self.cookies}
