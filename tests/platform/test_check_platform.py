"""`check_platform`: every read route called once, none that writes, compared with the table."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from endpoints.models import Credential
from endpoints.platform_check import platform_check
from endpoints.services.credentials import credential_create
from webapp.platform_routes import load_routes

pytestmark = pytest.mark.django_db
READ_ROUTES = 7


def service_account(lp, label="local-sa") -> Credential:
    return credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label=label,
        client_id=lp.service_account.client_id,
        secret=lp.service_account.client_secret,
    )


def check(*args) -> str:
    out = io.StringIO()
    call_command("check_platform", *args, stdout=out)
    return out.getvalue()


def test_every_read_route_of_the_default_profile_answers_and_nothing_is_written(platform):
    service_account(platform)
    printed = check("--credential", "local-sa")
    assert f"{READ_ROUTES} of {READ_ROUTES} read routes answered." in printed
    lines = {line.split()[0]: line for line in printed.splitlines() if line[:1].isalpha()}
    assert "UNVERIFIED" in lines["endpoints.list"] and "answered 200" in lines["endpoints.list"]
    assert "SEEN" in lines["api_keys.get"] and "answered 200" in lines["api_keys.get"]
    assert "not called (it writes)" in lines["endpoints.create"]
    assert "not called (it writes)" in lines["api_keys.delete"]
    # Fields the table does not use are listed, not refused.
    assert "fields not in the table (unused): framework, modelName" in printed
    # The session's platform leaves `url` out (--omit-url), and the check says so.
    missing = [x for x in printed.splitlines() if "fields expected, not seen" in x]
    assert missing and all(x.endswith("not seen: url") for x in missing)
    calls = platform.stats()["management_calls_by_route"]
    assert calls and all(route.startswith("GET ") for route in calls)


def test_the_other_platform_answers_none_of_the_guessed_routes_but_nothing_breaks(alt_platform):
    report = platform_check(service_account(alt_platform))
    reads = report.read_checks
    assert report.answering == 1  # only the SEEN API key list is where the table says
    endpoints_list = next(c for c in reads if c.operation == "endpoints.list")
    assert endpoints_list.status == 404 and not endpoints_list.answered
    api_keys = next(c for c in reads if c.operation == "api_keys.list")
    assert api_keys.answered and api_keys.envelope_missing == ["listData", "totalPage"]
    assert api_keys.envelope_unknown == ["items", "pageCount", "pageIndex", "total"]


def test_with_the_captured_routes_every_read_route_of_the_other_platform_answers(
    alt_platform, console_har, tmp_path, settings
):
    path, _secrets = console_har
    output = tmp_path / "routes.json"
    call_command("import_console_har", str(path), output=str(output), stdout=io.StringIO())
    settings.AIPLATFORM_ROUTES = load_routes(output)
    settings.AIPLATFORM_ROUTES_FILE = str(output)
    service_account(alt_platform, "alt-sa")
    printed = check()
    assert f"{READ_ROUTES} of {READ_ROUTES} read routes answered." in printed
    assert str(output) in printed
    assert "CAPTURED    GET /api/v2/inference-endpoints: answered 200" in printed
    missing = [x for x in printed.splitlines() if "fields expected, not seen" in x]
    assert all(x.endswith("not seen: url") for x in missing)  # --omit-url


def test_unknown_statuses_and_missing_fields_are_listed_never_fatal(platform, settings):
    routes = json.loads(json.dumps(settings.AIPLATFORM_ROUTES))
    routes["fields.endpoint"]["status"] = "modelName"  # a field holding no status word
    routes["fields.endpoint"]["current_replicas"] = "replicasNow"
    report = platform_check(service_account(platform), routes=routes)
    got = next(c for c in report.checks if c.operation == "endpoints.get")
    assert got.answered
    assert got.unknown_statuses == ["demo-chat"]
    assert "replicasNow" in got.fields_missing
    assert "currentReplicaCount" in got.fields_unknown


def test_no_such_credential_is_said_in_words(platform):
    service_account(platform)
    with pytest.raises(CommandError, match="No service account labelled 'nope'"):
        check("--credential", "nope")
