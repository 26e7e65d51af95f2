"""A console session against the local platform: what a person does in the VNG console, once.

`walk()` goes through the Inference pages the way issue 14 asks a person to record them: sign in
(an IAM token), open the list, the API keys, the create form (regions, models, instance types),
create, watch it come up, scale, stop, start, delete. It speaks the route profile's paths and
names, as a console speaks its own API, and every exchange goes through a RecordingBrowser, so
the HAR it leaves is the one a browser would have saved.

Each step waits for the endpoint to reach the status it needs, polling as a console page does
(more slowly as the wait grows) up to a generous cap, so a platform that takes 20 s to deploy
(`make run`) is not scaled while still CREATING; a step that never gets there stops the walk.

    python -m localplatform.console --record console.har [--url http://127.0.0.1:8001]

records a walk against a running local platform (its service account from --client-id and
--client-secret, else LOCALPLATFORM_SERVICE_ACCOUNTS, else var/local.env of `make run`).
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import requests

from localplatform.har import HarRecorder, RecordingBrowser
from localplatform.profiles import PROFILES, Profile, invert, rename

_SLOT = re.compile(r"\(\?P<(\w+)>[^)]*\)")
# How long a step waits for its status: far above any deploy of the local platform (0.2 s in the
# tests, ~20 s under `make run`), so only a platform that is stuck stops the walk.
WAIT_SECONDS = 300.0


class WalkStuck(RuntimeError):
    """An endpoint did not reach the status the next step needs within the wait."""


class ProfileMismatch(WalkStuck):
    """The platform's answers are not in the route profile the walk speaks."""


def _var_dir() -> Path:
    return Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parents[1] / "var")


def read_env_file(name: str) -> dict[str, str]:
    """KEY=VALUE lines of var/NAME ({} when missing): the files `make run` keeps (parsed here,
    as localplatform never imports Django or webapp)."""
    path = _var_dir() / name
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def detect_profile(base_url: str, token: str, timeout: float = 10.0) -> str | None:
    """The profile whose region list answers at `base_url` in its own envelope (None if none
    does). Plain requests, not recorded: the HAR holds only what a console would send."""
    for profile in PROFILES.values():
        method, path = next((m, p) for m, p, h in profile.routes if h == "list_regions")
        try:
            response = requests.request(
                method,
                base_url.rstrip("/") + path,
                headers={"Authorization": f"Bearer {token}"},
                timeout=timeout,
            )
            payload = response.json() if response.ok else None
        except (OSError, ValueError):
            continue
        key = profile.envelope.get("listData", "listData")
        if isinstance(payload, dict) and isinstance(payload.get(key), list):
            return profile.name
    return None


class ConsoleSession:
    def __init__(
        self,
        base_url: str,
        profile: Profile,
        *,
        client_id: str,
        client_secret: str,
        recorder: HarRecorder | None = None,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.wait_seconds = wait_seconds
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
        key = self.profile.envelope.get("listData", "listData")
        try:
            payload = response.json() if response.ok else None
        except ValueError:
            payload = None
        items = payload.get(key) if isinstance(payload, dict) else None
        renames = invert(self.profile.fields.get(resource, {}))
        found = [rename(item, renames) for item in items or [] if isinstance(item, dict)]
        if not found or not all("id" in item for item in found):
            self._mismatch(response, f"a list of {resource}s in '{key}'")
        return found

    def _mismatch(self, response, expected: str) -> None:
        others = [name for name in PROFILES if name != self.profile.name]
        request = response.request
        raise ProfileMismatch(
            f"the platform's answers do not match the '{self.profile.name}' route profile: "
            f"{request.method} {request.path_url} answered {response.status_code} without "
            f"{expected}. Is it running another profile? Try "
            + " or ".join(f"--profile {name}" for name in others)
            + " (or leave --profile out to detect it)."
        )

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

    def detect(self) -> str | None:
        """Sign in if needed, find the platform's profile and speak it from now on."""
        if not self.browser.bearer:
            self.sign_in()
        name = detect_profile(self.base, self.browser.bearer)
        if name:
            self.profile = PROFILES[name]
            self._paths = {m: (meth, path) for meth, path, m in reversed(self.profile.routes)}
            self._query_names = {ours: wire for wire, ours in self.profile.query.items()}
        return name

    def wait_for(self, endpoint_id: str, *statuses: str, timeout: float | None = None) -> dict:
        """The endpoint once its status is one of `statuses` ("GONE": its get answers 404),
        polled every 0.1 s growing to 2 s; WalkStuck after `timeout` (default: the session's
        wait_seconds)."""
        timeout = self.wait_seconds if timeout is None else timeout
        deadline = time.monotonic() + timeout
        pause = 0.1
        while True:
            response = self.call("get_endpoint", eid=endpoint_id)
            if response.status_code == 404 and "GONE" in statuses:
                return {}
            found = self._object(response, "endpoint") if response.ok else {}
            if found.get("status") in statuses:
                return found
            if time.monotonic() > deadline:
                raise WalkStuck(
                    f"endpoint {endpoint_id} is still {found.get('status') or response.status_code}"
                    f" after {timeout:.0f} s (waiting for {' or '.join(statuses)})"
                )
            time.sleep(pause)
            pause = min(pause * 1.5, 2.0)

    def walk(self, name: str = "har-endpoint", region: str = "HCM") -> dict:
        """Every step once; returns the ids it saw (for the test to check against)."""
        if not self.browser.bearer:
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
        answer = self.call("create_endpoint", body=wire_body)
        created = self._object(answer, "endpoint") if answer.ok else {}
        if "id" not in created:
            self._mismatch(answer, "the endpoint it made")
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


# ---------------------------------------------------------------------------- the command line
def _service_account() -> tuple[str, str]:
    """The first LOCALPLATFORM_SERVICE_ACCOUNTS entry, from the environment or var/local.env."""
    raw = os.environ.get("LOCALPLATFORM_SERVICE_ACCOUNTS", "")
    local = Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parents[1] / "var")
    if not raw and (local / "local.env").exists():
        for line in (local / "local.env").read_text(encoding="utf-8").splitlines():
            if line.startswith("LOCALPLATFORM_SERVICE_ACCOUNTS="):
                raw = line.split("=", 1)[1].strip()
    first = raw.split(",")[0].strip()
    client_id, _, rest = first.partition(":")
    return client_id, rest.split(":")[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localplatform.console",
        description="Walk the console once against a running local platform (list, create, "
        "scale, stop, start, delete) and save the exchanges as a browser's HAR file.",
    )
    parser.add_argument("--record", metavar="FILE", required=True, help="the HAR file to write")
    # What the running `make run` started with (var/run.env), unless the environment says.
    run_env = read_env_file("run.env")
    port = os.environ.get("LOCALPLATFORM_PORT") or run_env.get("LOCALPLATFORM_PORT") or "8001"
    parser.add_argument(
        "--url",
        default=f"http://127.0.0.1:{port}",
        help="the local platform (default: %(default)s, the port of `make run` in var/run.env)",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="the route profile the platform runs with (default: detected from its answers, "
        "else LOCALPLATFORM_ROUTE_PROFILE or var/run.env's, else 'default')",
    )
    parser.add_argument("--client-id", default="")
    parser.add_argument("--client-secret", default="")
    parser.add_argument(
        "--wait", type=float, default=WAIT_SECONDS, help="longest wait for one step, in seconds"
    )
    args = parser.parse_args(argv)
    client_id, client_secret = args.client_id, args.client_secret
    if not (client_id and client_secret):
        client_id, client_secret = _service_account()
    if not (client_id and client_secret):
        parser.error("no service account: pass --client-id and --client-secret")
    assumed = (
        args.profile
        or os.environ.get("LOCALPLATFORM_ROUTE_PROFILE")
        or run_env.get("LOCALPLATFORM_ROUTE_PROFILE")
        or "default"
    )
    session = ConsoleSession(
        args.url,
        PROFILES.get(assumed, PROFILES["default"]),
        client_id=client_id,
        client_secret=client_secret,
        wait_seconds=args.wait,
    )
    try:
        if args.profile is None:
            found = session.detect()
            if found:
                sys.stdout.write(f"The platform at {args.url} runs the '{found}' route profile.\n")
        seen = session.walk()
    except (WalkStuck, OSError, requests.HTTPError) as exc:
        sys.stderr.write(f"The walk stopped: {exc}\n")
        return 1
    path = session.recorder.write(args.record)
    count = len(session.recorder.entries)
    sys.stdout.write(f"Recorded {count} exchanges in {path} (endpoint {seen['endpoint_id']}).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
