"""The Credentials page's Platform routes card (Admins): the table in force, the check of every
read route, and the upload of a console HAR with its routes file to download."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from localplatform import profiles
from tests.platform.conftest import record_console, secrets_in
from webapp.platform_routes import validate_routes

pytestmark = pytest.mark.django_db
PLATFORM = reverse("credentials:platform")
CHECK = reverse("credentials:platform-check")
HAR = reverse("credentials:routes-har")
DOWNLOAD = reverse("credentials:routes-download")


def test_only_admins_see_or_use_it(as_member, as_viewer, as_stranger):
    for client in (as_member, as_viewer, as_stranger):
        assert client.get(PLATFORM).status_code == 403
        assert client.post(CHECK).status_code == 403
        assert client.post(HAR).status_code == 403
        assert client.post(DOWNLOAD).status_code == 403


def test_the_credentials_page_loads_the_card_which_shows_the_table_in_force(as_admin):
    page = as_admin.get(reverse("credentials:list")).content.decode()
    assert f'hx-get="{PLATFORM}"' in page
    card = as_admin.get(PLATFORM, headers={"HX-Request": "true"}).content.decode()
    assert card.lstrip().startswith('<section class="card" id="platform-routes"')
    assert "GET /v1/endpoints/{id}" in card
    # Where each route comes from, in the reader's words; the raw codes (SEEN) are no tooltip.
    assert "seen in the docs" in card and "unverified guess" in card
    assert 'title="SEEN"' not in card and "badge-seen" in card
    vi = as_admin.get(PLATFORM, headers={"HX-Request": "true", "Accept-Language": "vi"})
    assert "chưa xác minh" in vi.content.decode() and "seen in the docs" not in vi.content.decode()
    full = as_admin.get(PLATFORM).content.decode()
    assert "<h1>Platform routes</h1>" in full


def test_an_admin_checks_every_read_route(as_admin, platform, sa):
    answer = as_admin.post(CHECK, {"account": str(sa.code)}, headers={"HX-Request": "true"})
    body = answer.content.decode()
    assert answer.status_code == 200
    assert "7 of 7 read routes answered (local-sa)." in body
    assert "not called: it writes" in body
    assert "not in the table (unused): framework, modelName" in body
    assert as_admin.post(CHECK, {"account": "nope"}).status_code == 404


def test_an_admin_uploads_a_console_har_and_downloads_the_routes_file(as_admin, platform, tmp_path):
    path = tmp_path / "console.har"
    secrets = record_console(platform, profiles.DEFAULT, path)
    upload = SimpleUploadedFile("console.har", path.read_bytes(), "application/json")
    answer = as_admin.post(HAR, {"har": upload})
    body = answer.content.decode()
    assert answer.status_code == 200
    assert secrets_in(body, secrets) == []
    assert "Routes found in console.har" in body
    assert "not found: kept as it was" in body  # api_keys.create was not in the recording
    routes_json = answer.context["routes_json"]
    download = as_admin.post(DOWNLOAD, {"routes": routes_json})
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="aiplatform-routes.json"'
    routes = json.loads(download.content)
    validate_routes(routes)
    assert routes["endpoints.get"]["source"] == "CAPTURED"
    assert secrets_in(download.content.decode(), secrets) == []


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not json at all", "is not JSON (line 1, column 1)"),
        (json.dumps({"log": {"version": "1.1", "entries": []}}).encode(), "not a HAR 1.2"),
        (b"", "is empty"),
    ],
)
def test_a_bad_upload_is_refused_in_words(as_admin, content, words):
    answer = as_admin.post(HAR, {"har": SimpleUploadedFile("x.har", content)})
    assert answer.status_code == 400
    assert (
        words in answer.context["har_error"] and "Nothing was kept." in answer.context["har_error"]
    )


def test_an_upload_over_the_limit_is_not_read(as_admin, settings):
    settings.CONSOLE_HAR_MAX_BYTES = 10
    answer = as_admin.post(HAR, {"har": SimpleUploadedFile("big.har", b"{" + b" " * 50 + b"}")})
    assert answer.status_code == 400 and "over the limit" in answer.context["har_error"]


def test_a_tampered_routes_file_is_not_handed_out(as_admin):
    bad = json.dumps({"endpoints.stop": {"method": "POST", "path": "/v1/stop"}}, indent=2)
    answer = as_admin.post(DOWNLOAD, {"routes": bad})
    assert answer.status_code == 400 and b"has no {id} placeholder" in answer.content


def test_the_report_in_vietnamese(as_admin, platform, sa, settings):
    as_admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    body = as_admin.post(CHECK, {"account": str(sa.code)}).content.decode()
    assert "Route của nền tảng" in body
    assert "7/7 route đọc đã trả lời (local-sa)." in body
    assert "không gọi: route này ghi dữ liệu" in body


def test_a_har_of_another_host_names_hosts_with_their_ports_and_the_page_takes_the_address(
    as_admin, platform, tmp_path, settings
):
    path = tmp_path / "console.har"
    record_console(platform, profiles.DEFAULT, path)
    port = platform.url.rsplit(":", 1)[1]
    settings.AIPLATFORM_MANAGEMENT_URL = "http://127.0.0.1:1"  # not where it was recorded
    answer = as_admin.post(HAR, {"har": SimpleUploadedFile("console.har", path.read_bytes())})
    error = answer.context["har_error"]
    assert answer.status_code == 400
    assert "the management API at 127.0.0.1:1:" in error
    assert f"Hosts it called: 127.0.0.1:{port}." in error
    # The page's own way to give the address, not the command's flag.
    assert "--management-url" not in error and "“Management API address”" in error
    assert 'name="management_url"' in answer.content.decode()
    again = SimpleUploadedFile("console.har", path.read_bytes())
    answer = as_admin.post(HAR, {"har": again, "management_url": platform.url + "/"})
    assert answer.status_code == 200 and "Routes found in console.har" in answer.content.decode()
    bad = SimpleUploadedFile("console.har", path.read_bytes())
    answer = as_admin.post(HAR, {"har": bad, "management_url": "ftp://x"})
    assert answer.status_code == 400 and "is not an address" in answer.context["har_error"]


def _har(url: str, status="200", body: str = '{"items": []}') -> bytes:
    entry = {
        "request": {"method": "GET", "url": url},
        "response": {"status": "STATUS", "content": {"mimeType": "application/json"}},
    }
    entry["response"]["content"]["text"] = body
    text = json.dumps({"log": {"version": "1.2", "entries": [entry]}})
    return text.replace('"STATUS"', status).encode()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"log": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests its JSON more than 64"),
        (_har("https://mgmt.test/v1/endpoints", body="[" * 5000 + "]" * 5000), "nests its JSON"),
        (_har("https://mgmt.test/v1/endpoints", status="Infinity"), "status is not a number"),
        (_har("https://mgmt.test/v1/endpoints", status="NaN"), "status is not a number"),
        (_har("https://mgmt.test/v1/endpoints", status="1e400"), "status is not a number"),
        (_har("https://mgmt.test/v1/endpoints", status="9" * 30), "status is not a number"),
        (_har("https://mgmt.test/v1/endpoints", status="9" * 5000), "a number too long"),
        (_har("http://[::1/x"), "request (number 1) whose address is not a valid URL"),
    ],
)
def test_a_malformed_har_is_refused_in_words_and_nothing_is_kept(
    as_admin, settings, content, words
):
    settings.AIPLATFORM_MANAGEMENT_URL = "https://mgmt.test"
    answer = as_admin.post(HAR, {"har": SimpleUploadedFile("x.har", content)})
    assert answer.status_code == 400
    error = answer.context["har_error"]
    assert words in error and "Nothing was kept." in error
    assert "routes_json" not in answer.context


def test_a_management_address_with_a_broken_host_is_refused_in_words(as_admin):
    upload = SimpleUploadedFile("x.har", _har("https://mgmt.test/v1/endpoints"))
    answer = as_admin.post(HAR, {"har": upload, "management_url": "http://[::1/x"})
    assert answer.status_code == 400 and "is not an address" in answer.context["har_error"]


def test_a_deeply_nested_routes_file_is_not_handed_out(as_admin):
    for depth in (100_000, 500):
        nested = '{"endpoints.get": ' + "[" * depth + "]" * depth + "}"
        answer = as_admin.post(DOWNLOAD, {"routes": nested})
        assert answer.status_code == 400 and b"nests its JSON" in answer.content
