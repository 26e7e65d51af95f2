"""A HAR recorded on a host other than AIPLATFORM_MANAGEMENT_URL: the routes file holds paths
only, so the import (command and page) says to set AIPLATFORM_MANAGEMENT_URL to that host too."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from localplatform import profiles
from tests.platform.conftest import record_console

pytestmark = pytest.mark.django_db
HAR = reverse("credentials:routes-har")


@pytest.fixture
def recorded(platform, tmp_path, settings):
    path = tmp_path / "console.har"
    record_console(platform, profiles.DEFAULT, path)
    settings.AIPLATFORM_MANAGEMENT_URL = "http://127.0.0.1:1"  # not where it was recorded
    return path


def test_the_command_says_to_set_the_management_url(recorded, platform, tmp_path, settings):
    out = io.StringIO()
    output = tmp_path / "routes.json"
    call_command(
        "import_console_har",
        str(recorded),
        output=str(output),
        management_url=platform.url,
        stdout=out,
    )
    text = out.getvalue()
    assert f"AIPLATFORM_ROUTES_FILE={output.resolve()}" in text
    assert f"Set AIPLATFORM_MANAGEMENT_URL={platform.url} too" in text
    assert "now http://127.0.0.1:1" in text
    # Recorded where the dashboard already calls: no such line.
    settings.AIPLATFORM_MANAGEMENT_URL = platform.url
    out = io.StringIO()
    call_command("import_console_har", str(recorded), output=str(output), stdout=out)
    assert "Set AIPLATFORM_MANAGEMENT_URL" not in out.getvalue()


def test_the_page_says_it_too_in_english_and_vietnamese(as_admin, recorded, platform):
    data = {"management_url": platform.url + "/"}
    answer = as_admin.post(HAR, {"har": SimpleUploadedFile("c.har", recorded.read_bytes()), **data})
    body = answer.content.decode()
    assert answer.status_code == 200
    assert f"Set AIPLATFORM_MANAGEMENT_URL to {platform.url} too" in body
    vi = as_admin.post(
        HAR,
        {"har": SimpleUploadedFile("c.har", recorded.read_bytes()), **data},
        headers={"Accept-Language": "vi"},
    ).content.decode()
    assert f"Hãy đặt cả AIPLATFORM_MANAGEMENT_URL thành {platform.url}" in vi
    plain = as_admin.post(HAR, {"har": SimpleUploadedFile("c.har", recorded.read_bytes())})
    assert 'data-testid="har-other-host"' not in plain.content.decode()
