"""Events and reasons are codes with parameters, rendered in the reader's language; the sentences
stored before (in English or Vietnamese) become codes through migration 0004."""

from __future__ import annotations

import importlib

import pytest
from django.utils import translation

from endpoints import lifecycle, reasons
from endpoints.models import Endpoint, EndpointEvent
from endpoints.services.actions import endpoint_request_action
from tests.endpoints.conftest import make_endpoint

S = Endpoint.Status
migration = importlib.import_module("endpoints.migrations.0004_lifecycle_reasons")


def page_in(client, language: str, url: str) -> str:
    client.cookies["django_language"] = language
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_an_english_users_action_reads_in_vietnamese_and_back(sa, member, as_viewer):
    ep = make_endpoint(sa, "bilingual", status=S.ACTIVE, platform_id="me-b", raw_status="ACTIVE")
    with translation.override("en"):  # the writer reads English
        endpoint_request_action(endpoint=ep, action="stop", user=member)
    event = EndpointEvent.objects.get(endpoint=ep)
    assert (event.code, event.params) == ("action_requested", {"action": "stop"})
    with translation.override("vi"):
        assert event.message() == "Đã yêu cầu thao tác Dừng."
    with translation.override("en"):
        assert event.message() == "Stop requested."
    url = f"/inference/{ep.code}/"
    assert "Đã yêu cầu thao tác Dừng." in page_in(as_viewer, "vi", url)
    assert "Stop requested." in page_in(as_viewer, "en", url)


def test_a_vietnamese_users_action_reads_in_english(sa, member):
    ep = make_endpoint(sa, "song-ngu", status=S.INACTIVE, platform_id="me-s", raw_status="X")
    with translation.override("vi"):
        endpoint_request_action(endpoint=ep, action="start", user=member)
        lifecycle.transition(ep, S.ERROR, "timed_out", {"status": "CREATING", "minutes": 60})
    requested, failed = EndpointEvent.objects.filter(endpoint=ep).order_by("pk")
    with translation.override("en"):
        assert requested.message() == "Start requested."
        assert failed.message().startswith("Deployment timed out: still Creating on the platform")
        ep.refresh_from_db()
        assert "after 60 minutes" in ep.reason_text()
    with translation.override("vi"):
        assert "60 phút" in ep.reason_text()


def test_labels_are_lazy_at_import():
    from django.utils.functional import Promise

    assert all(isinstance(label, Promise) for label in lifecycle.ACTION_LABELS.values())
    assert all(isinstance(message, Promise) for message in reasons.MESSAGES.values())


def test_every_code_renders_in_both_languages_with_its_parameters():
    params = {
        "id": "me-1",
        "action": "scale",
        "error": "boom",
        "min": 1,
        "max": 3,
        "name": "x",
        "minutes": 60,
        "status": "CREATING",
        "seconds": 20,
        "detail": "the platform's words",
        "text": "an old sentence",
        "model": "demo-chat",
        "url": "https://x.test/v1",
        "old": "Chat",
        "new": "Chat-2",
    }
    for language in ("en", "vi"):
        with translation.override(language):
            for code in reasons.MESSAGES:
                text = reasons.render(code, params)
                assert text and "%(" not in text, (language, code)


def test_a_bad_row_renders_without_raising():
    assert reasons.render("timed_out", {}) != ""  # missing parameters: the template, no 500
    assert reasons.render("no-such-code", {"detail": "raw"}) == "raw"
    assert reasons.render("", {}) == ""


@pytest.mark.parametrize(
    ("stored", "code", "params"),
    [
        ("Created with the wizard by admin.", "created", {}),
        ("Được admin tạo bằng trình hướng dẫn.", "created", {}),
        ("Stop requested by bob.", "action_requested", {"action": "stop"}),
        ("bob yêu cầu: Sửa cấu hình mở rộng.", "action_requested", {"action": "scale"}),
        ("Scaling set to 2 to 3 replicas by bob.", "scaled", {"min": "2", "max": "3"}),
        ("Accepted by the platform as me-42.", "accepted", {"id": "me-42"}),
        ("No longer on the platform: deleted outside the dashboard.", "missing", {}),
        (
            "Nền tảng từ chối Dừng: conflict",
            "action_refused",
            {"action": "stop", "error": "conflict"},
        ),
        (
            "Something a newer version wrote.",
            "legacy",
            {"text": "Something a newer version wrote."},
        ),
    ],
)
def test_the_migration_turns_stored_sentences_into_codes(stored, code, params):
    assert migration.to_code(stored) == (code, params)


def test_a_change_that_needs_no_explaining_is_not_shown_as_the_reason(sa, as_viewer):
    ep = make_endpoint(sa, "calm", status=S.CREATING, platform_id="me-c", raw_status="CREATING")
    lifecycle.transition(ep, S.ACTIVE, "reported", raw_status="ACTIVE")
    ep.refresh_from_db()
    assert ep.reason_text() == ""  # the timeline says it; no alert on the page
    page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    assert page.count("Reported by the platform.") == 1  # the event only
    lifecycle.transition(ep, S.ERROR, "platform", {"detail": "GPU quota exceeded"})
    ep.refresh_from_db()
    assert ep.reason_text() == "GPU quota exceeded"
