"""AIPLATFORM_ROUTES_FILE: a file the client could not use is refused at start-up, with its line."""

from __future__ import annotations

import json
import os

import pytest

from tests.fixtures.web import manage
from webapp.platform_routes import (
    DEFAULT_ROUTES,
    RoutesFileError,
    dump_routes,
    is_confirmed,
    load_routes,
    read_routes_file,
    validate_routes,
)


def write(tmp_path, text: str):
    path = tmp_path / "routes.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_defaults_are_valid_and_only_the_api_key_routes_are_confirmed():
    validate_routes(DEFAULT_ROUTES)
    assert is_confirmed(DEFAULT_ROUTES, "api_keys.list")
    assert not is_confirmed(DEFAULT_ROUTES, "endpoints.list")


def test_a_file_replaces_whole_entries_and_keeps_the_rest(tmp_path):
    entry = {"method": "GET", "path": "/v2/inferences/{id}", "source": "CAPTURED"}
    path = write(tmp_path, dump_routes({"endpoints.get": entry}))
    routes = load_routes(path)
    assert routes["endpoints.get"] == entry
    assert routes["endpoints.list"] == DEFAULT_ROUTES["endpoints.list"]
    assert is_confirmed(routes, "endpoints.get")


def test_an_unknown_operation_is_refused_with_its_line(tmp_path):
    text = dump_routes(
        {
            "endpoints.list": DEFAULT_ROUTES["endpoints.list"],
            "endpoints.gett": {"method": "GET", "path": "/v1/endpoints/{id}"},
        }
    )
    line = text.splitlines().index('  "endpoints.gett": {') + 1
    with pytest.raises(RoutesFileError) as refused:
        read_routes_file(write(tmp_path, text))
    assert f"line {line}:" in str(refused.value)
    assert "unknown operation 'endpoints.gett'" in str(refused.value)


def test_a_path_without_its_placeholder_is_refused_with_its_line(tmp_path):
    text = dump_routes(
        {
            "endpoints.list": DEFAULT_ROUTES["endpoints.list"],
            "endpoints.stop": {"method": "POST", "path": "/v1/endpoints/stop"},
        }
    )
    line = text.splitlines().index('    "path": "/v1/endpoints/stop"') + 1
    with pytest.raises(RoutesFileError) as refused:
        read_routes_file(write(tmp_path, text))
    assert f"line {line}:" in str(refused.value)
    assert "has no {id} placeholder" in str(refused.value)


@pytest.mark.parametrize(
    ("entries", "words"),
    [
        ({"endpoints.get": {"method": "GET", "path": "/v1/x/{uuid}"}}, "has no {id}"),
        ({"api_keys.get": {"method": "GET", "path": "/v1/api-keys/{id}"}}, "has no {name}"),
        ({"endpoints.list": {"method": "GET", "path": "/v1/x/{id}"}}, "unknown placeholder {id}"),
        ({"endpoints.list": {"method": "FETCH", "path": "/v1/x"}}, "method must be one of"),
        ({"endpoints.list": {"method": "GET", "path": "/v1/x", "source": "MAYBE"}}, "source"),
        ({"endpoints.list": {"method": "GET", "path": "/v1/x", "query": {"zone": "z"}}}, "zone"),
        ({"fields.endpoint": {"id": "uuid"}}, "lacks 'name'"),
        ({"envelope": {**DEFAULT_ROUTES["envelope"], "page_size_value": "50"}}, "whole number"),
    ],
)
def test_other_mistakes_are_refused_in_words(tmp_path, entries, words):
    with pytest.raises(RoutesFileError, match=r"line [1-9]") as refused:
        read_routes_file(write(tmp_path, dump_routes(entries)))
    assert words in str(refused.value)


def test_a_file_that_is_not_json_names_its_line(tmp_path):
    with pytest.raises(RoutesFileError, match=r"line 3: not JSON"):
        read_routes_file(write(tmp_path, '{\n  "endpoints.get": {\n    oops\n}'))


def test_the_dashboard_refuses_to_start_with_a_bad_routes_file(tmp_path):
    text = json.dumps({"endpoints.delete": {"method": "DELETE", "path": "/v1/x"}}, indent=2)
    env = {**os.environ, "AIPLATFORM_ROUTES_FILE": str(write(tmp_path, text))}
    done = manage(env, "check")
    assert done.returncode != 0
    assert "AIPLATFORM_ROUTES_FILE" in done.stderr
    assert "line 4:" in done.stderr and "has no {id} placeholder" in done.stderr
    # Said plainly, on one line, not at the end of a traceback.
    assert done.stderr.startswith("Configuration error: AIPLATFORM_ROUTES_FILE")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("depth", [100_000, 500])
def test_a_deeply_nested_file_is_refused_in_words(tmp_path, depth):
    text = '{"endpoints.get": ' + "[" * depth + "]" * depth + "}"
    path = write(tmp_path, text)
    for read in (read_routes_file, load_routes):
        with pytest.raises(RoutesFileError, match="nests its JSON more than 16 levels deep"):
            read(path)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_file_saved_by_windows_tools_is_read(tmp_path, encoding):
    """Notepad's UTF-8 with a BOM, PowerShell's `>` (UTF-16 with a BOM)."""
    text = json.dumps({"endpoints.delete": {"method": "DELETE", "path": "/v1/x/{id}"}})
    path = tmp_path / "routes.json"
    path.write_text(text, encoding=encoding)
    assert read_routes_file(path)["endpoints.delete"]["path"] == "/v1/x/{id}"


def test_a_file_that_is_not_text_is_refused_in_words(tmp_path):
    path = tmp_path / "routes.json"
    path.write_bytes(b'{"endpoints.delete": "\xff\xfe\xfa"}')
    with pytest.raises(RoutesFileError, match="not UTF-8 text"):
        read_routes_file(path)
