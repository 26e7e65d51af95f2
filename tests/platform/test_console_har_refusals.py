"""Bad HAR files: a clear message, nothing written, and no secret from the file in the message."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.platform.conftest import secrets_in


def refused(path, tmp_path, **options) -> str:
    output = tmp_path / "routes.json"
    with pytest.raises(CommandError) as error:
        call_command(
            "import_console_har", str(path), output=str(output), stdout=io.StringIO(), **options
        )
    assert not output.exists(), "a refused file must write nothing"
    assert "Nothing written." in str(error.value)
    return str(error.value)


def har_file(tmp_path, data, name="bad.har"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{this is not json", "is not JSON (line 1, column 2)"),
        ("", "is empty"),
        ({"entries": []}, "not a HAR file"),
        ({"log": {"version": "1.1", "entries": [{}]}}, 'not a HAR 1.2 file (its version is "1.1")'),
        ({"log": {"version": "1.2", "entries": []}}, "holds no requests"),
    ],
)
def test_files_that_are_not_a_console_recording(tmp_path, settings, content, words):
    message = refused(har_file(tmp_path, content), tmp_path)
    assert words in message


def test_a_file_over_the_size_limit_is_not_read(console_har, tmp_path, settings):
    path, secrets = console_har
    settings.CONSOLE_HAR_MAX_BYTES = 1024
    message = refused(path, tmp_path)
    assert "over the limit of 1 KB (CONSOLE_HAR_MAX_BYTES)" in message  # not "0.0 MB"
    assert secrets_in(message, secrets) == []
    settings.CONSOLE_HAR_MAX_BYTES = 100
    assert "over the limit of 100 bytes" in refused(path, tmp_path)


def test_a_recording_of_another_host(console_har, alt_platform, tmp_path):
    path, secrets = console_har
    message = refused(path, tmp_path, management_url="https://aiplatform-hcm.api.vngcloud.vn")
    assert "None of its requests went to the management API at aiplatform-hcm.api" in message
    port = alt_platform.url.rsplit(":", 1)[1]
    assert f"Hosts it called: 127.0.0.1:{port}." in message  # the port: the console's, not ours
    assert secrets_in(message, secrets) == []


def test_another_port_of_the_same_host_is_another_host_and_the_flag_says_how(
    console_har, tmp_path, settings
):
    path, _secrets = console_har
    message = refused(path, tmp_path, management_url="http://127.0.0.1:1")
    assert "the management API at 127.0.0.1:1: it was recorded elsewhere" in message
    assert "--management-url https://HOST" in message
    # ...and the flag works: the address the console called.
    output = tmp_path / "routes.json"
    out = io.StringIO()
    call_command(
        "import_console_har",
        str(path),
        output=str(output),
        management_url=settings.AIPLATFORM_MANAGEMENT_URL,
        stdout=out,
    )
    assert output.exists() and "operations found" in out.getvalue()


def test_a_recording_without_any_management_call(console_har, tmp_path):
    path, secrets = console_har
    har = json.loads(path.read_text())
    # Only the sign-in (Basic credentials in, a token out) and a page of the console's own.
    har["log"]["entries"] = [
        e for e in har["log"]["entries"] if "/auth/token" in e["request"]["url"]
    ]
    message = refused(har_file(tmp_path, har, "signin.har"), tmp_path)
    assert "signin.har has 1 request to" in message and "none the route table knows" in message
    assert secrets_in(message, secrets) == []


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"log": ' + "[" * 100_000 + "]" * 100_000 + "}", "nests its JSON more than 64 levels"),
        ("NESTED", "nests its JSON more than 64 levels"),
        ("Infinity", "status is not a number between 0 and 999"),
        ("-Infinity", "status is not a number between 0 and 999"),
        ("1e999", "status is not a number between 0 and 999"),
        ("123456789012345678901234567890", "status is not a number between 0 and 999"),
        ('"abc"', "status is not a number between 0 and 999"),
        ("true", "status is not a number between 0 and 999"),
        ("200.5", "status is not a number between 0 and 999"),
        ("BAD-URL", "whose address is not a valid URL"),
    ],
)
def test_files_that_would_overflow_the_reader(tmp_path, settings, content, words):
    settings.AIPLATFORM_MANAGEMENT_URL = "https://mgmt.test"
    url = "http://[::1/x" if content == "BAD-URL" else "https://mgmt.test/v1/endpoints"
    body = "[" * 3000 + "]" * 3000 if content == "NESTED" else '{"items": []}'
    entry = {"request": {"method": "GET", "url": url}, "response": {"status": 200}}
    entry["response"]["content"] = {"text": body}
    text = json.dumps({"log": {"version": "1.2", "entries": [entry]}})
    if content.startswith("{"):
        text = content
    elif content not in ("NESTED", "BAD-URL"):
        text = text.replace('"status": 200', f'"status": {content}')
    message = refused(har_file(tmp_path, text), tmp_path)
    assert words in message


def test_a_management_url_with_a_broken_host_is_refused(console_har, tmp_path):
    path, _secrets = console_har
    message = refused(path, tmp_path, management_url="http://[::1/x")
    assert "is not an address of the management API" in message


@pytest.mark.parametrize(
    "size, lang, expected",
    [
        (512, "en", "512 bytes"),
        (512 * 1024, "en", "512 KB"),  # not "512.0 KB"
        (1536 * 1024, "en", "1.5 MB"),
        (1536 * 1024, "vi", "1,5 MB"),
        (10 * 1024 * 1024, "vi", "10 MB"),
    ],
)
def test_sizes_read_as_a_person_writes_them(size, lang, expected):
    from django.utils import translation

    from endpoints.har import size_text

    with translation.override(lang):
        assert size_text(size) == expected
