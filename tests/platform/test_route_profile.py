"""`--route-profile alt`: the local platform with other paths, envelope and field names; and the
recorder that saves a console session as a browser's HAR 1.2."""

from __future__ import annotations

import json

import requests

from localplatform import profiles


def get(lp, path: str, **params):
    headers = {"Authorization": f"Bearer {lp.mint_token()}"}
    return requests.get(lp.url + path, params=params, headers=headers, timeout=10)


def test_the_alt_profile_speaks_its_own_names(alt_platform):
    listed = get(alt_platform, "/api/v2/inference-endpoints", zone="HCM", pageIndex=1, pageSize=5)
    assert listed.status_code == 200
    body = listed.json()
    assert set(body) == {"items", "pageIndex", "pageSize", "pageCount", "total"}
    seed = body["items"][0]
    assert seed["uuid"] == alt_platform.seed_endpoint_id
    assert seed["state"] == "ACTIVE"
    assert seed["scaling"]["min"] == 1
    assert "status" not in seed and "autoscaling" not in seed
    one = get(alt_platform, f"/api/v2/inference-endpoints/{alt_platform.seed_endpoint_id}")
    assert set(one.json()) == {"result"}
    # The default paths are not there: this platform is another one.
    assert get(alt_platform, "/v1/endpoints").status_code == 404
    # API keys are SEEN: where the reference says, in this profile's envelope.
    keys = get(alt_platform, "/v1/api-keys", pageIndex=1, pageSize=5).json()
    assert keys["items"][0]["name"] == "default-key"


def test_the_default_profile_is_unchanged(platform):
    body = get(platform, "/v1/endpoints", region="HCM").json()
    assert body["listData"][0]["status"] == "ACTIVE"
    assert get(platform, "/api/v2/inference-endpoints").status_code == 404


def test_an_unknown_profile_is_refused():
    import pytest

    from localplatform.config import load_config

    with pytest.raises(SystemExit):
        load_config(["--route-profile=nope"])
    assert profiles.get("alt") is profiles.ALT


def test_a_console_session_is_saved_as_a_browsers_har_with_its_secrets(console_har):
    path, secrets = console_har
    har = json.loads(path.read_text())
    log = har["log"]
    assert log["version"] == "1.2"
    assert log["creator"]["name"] and log["pages"]
    methods = {(e["request"]["method"], e["request"]["url"].split("?")[0]) for e in log["entries"]}
    assert any(m == "PATCH" and u.endswith("/scaling") for m, u in methods)
    assert any(m == "DELETE" for m, _ in methods)
    first_call = next(e for e in log["entries"] if "/api/v2/" in e["request"]["url"])
    headers = {h["name"]: h["value"] for h in first_call["request"]["headers"]}
    # What the importer must drop is really there, as a browser would have saved it.
    assert headers["Authorization"] == f"Bearer {secrets['token']}"
    assert secrets["console_session"] in headers["Cookie"]
    assert {"name": "console_session", "value": secrets["console_session"]} in first_call[
        "request"
    ]["cookies"]
    assert secrets["api_key"] in path.read_text()  # the API key list carries the key
