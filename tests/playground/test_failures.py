"""Failures are stored as codes with parameters and read in the reader's language: a reply that
failed while an English speaker chatted reads in Vietnamese to a Vietnamese reader, on the
conversation, on the live link's owner pages and in monitoring's records."""

from __future__ import annotations

import importlib

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from monitoring import ingest
from monitoring.models import RequestRecord
from playground import failures
from playground.models import Conversation, Message, ShareLink
from tests.playground.conftest import LONG_QUESTION, chat_data, events
from tests.playground.test_share import make_link, open_demo, visitor_send

pytestmark = pytest.mark.django_db

SEND = reverse("playground:send")
FAULT = "Internal server error (injected fault)."


def test_a_failure_stored_in_english_reads_in_vietnamese(as_member, endpoint, platform):
    platform.set_faults(error_ratio=1.0)
    refused = events(as_member.post(SEND, chat_data(endpoint, "Fail me")))
    assert refused[-1]["message"] == f"The endpoint answered with an error: {FAULT}"
    reply = Message.objects.get(role="assistant")
    # Stored as a code and the platform's own words, not as a sentence.
    assert (reply.error_code, reply.error_params) == ("platform", {"detail": FAULT})

    as_member.cookies["idash_language"] = "vi"
    page = as_member.get(reverse("playground:conversation", args=[reply.conversation.code]))
    html = page.content.decode()
    assert f"Endpoint trả về lỗi: {FAULT}" in html
    assert "The endpoint answered with an error" not in html

    ingest.drain()
    record = RequestRecord.objects.get()
    assert (record.error_code, record.error_params) == ("platform", {"detail": FAULT})
    with translation.override("vi"):
        assert record.error == f"Endpoint trả về lỗi: {FAULT}"


def test_a_cut_off_reply_reads_in_the_readers_language(as_member, endpoint, platform):
    platform.set_faults(stream_truncate_after=3)
    evs = events(as_member.post(SEND, chat_data(endpoint, LONG_QUESTION, max_tokens=50)))
    assert evs[-1]["type"] == "error"
    reply = Message.objects.get(role="assistant")
    assert (reply.error_code, reply.error_params) == ("cut_off", {"why": "closed"})
    with translation.override("vi"):
        assert reply.error_text == (
            "Câu trả lời bị ngắt giữa chừng: endpoint đóng kết nối trước khi câu trả lời kết "
            "thúc. Phần đã nhận được vẫn được giữ lại."
        )


def test_a_live_links_last_error_reads_in_its_owners_language(
    as_member, as_admin, endpoint, platform
):
    evs = events(as_member.post(SEND, chat_data(endpoint, "Hi", max_tokens=5)))
    conversation = Conversation.objects.get(code=evs[0]["conversation"])
    link = make_link(as_member, conversation, endpoint)
    visitor = Client()
    chat = open_demo(visitor, link)
    platform.set_faults(error_ratio=1.0)
    assert visitor_send(visitor, link, "Hi", chat=chat).status_code == 502
    link = ShareLink.objects.get(pk=link.pk)
    assert link.last_error_code == "platform"

    as_admin.cookies["idash_language"] = "vi"
    listing = as_admin.get(reverse("playground:links")).content.decode()
    assert f"Endpoint trả về lỗi: {FAULT}" in listing
    as_member.cookies["idash_language"] = "vi"
    owner = as_member.get(reverse("share:page", args=[link.token])).content.decode()
    assert f"Endpoint trả về lỗi: {FAULT}" in owner


@pytest.mark.parametrize("code", sorted(failures.MESSAGES))
def test_every_failure_code_has_vietnamese_words(code):
    params = {"detail": "x", "wait": 3, "why": "broken", "seconds": "5", "text": "t"}
    english = failures.render(code, params)
    with translation.override("vi"):
        vietnamese = failures.render(code, params)
    assert english and vietnamese
    assert code == "legacy" or vietnamese != english


@pytest.mark.parametrize("why", sorted(failures.CUT_OFF))
def test_every_cut_off_reason_has_vietnamese_words(why):
    english = str(failures.CUT_OFF[why])
    with translation.override("vi"):
        assert str(failures.CUT_OFF[why]) != english


def test_a_row_that_does_not_fit_still_reads():
    assert failures.render("unavailable", {}) == "The endpoint did not answer"
    assert failures.render("gone_code", {"text": "Old words"}) == "Old words"
    assert failures.render("", {}) == ""
    with pytest.raises(ValueError):
        failures.check("gone_code")


MIGRATION = importlib.import_module("playground.migrations.0005_failures_as_codes")


@pytest.mark.parametrize(
    ("language", "sentence", "code", "params"),
    [
        ("en", f"The endpoint did not answer: {FAULT}", "unavailable", {"detail": FAULT}),
        ("vi", f"Endpoint không phản hồi: {FAULT}", "unavailable", {"detail": FAULT}),
        (
            "en",
            "The reply was cut off mid-way: the endpoint sent nothing for 120 seconds. "
            "What arrived is kept.",
            "cut_off",
            {"why": "timeout", "seconds": "120"},
        ),
        (
            "vi",
            "Câu trả lời bị ngắt giữa chừng: máy chủ model báo lỗi (boom). Phần đã nhận được "
            "vẫn được giữ lại.",
            "cut_off",
            {"why": "model_error", "detail": "boom"},
        ),
        (
            "en",
            "The endpoint is busy (rate limited): try again in 7 seconds.",
            "rate_limited",
            {"wait": 7},
        ),
        ("vi", "Đã xảy ra lỗi khi chuyển tiếp câu trả lời.", "relay_failed", {}),
    ],
)
def test_the_migration_maps_stored_sentences_to_codes(language, sentence, code, params):
    assert MIGRATION.to_code(sentence) == (code, params)
    # And the code says the same again, in the language it was written in.
    with translation.override(language):
        assert failures.render(code, params) == sentence


def test_the_migration_keeps_what_it_cannot_map():
    assert MIGRATION.to_code("The stream broke off (ProtocolError).") == (
        "cut_off",
        {"why": "broken"},
    )
    assert MIGRATION.to_code("Words the code never said.") == (
        "legacy",
        {"text": "Words the code never said."},
    )
    assert failures.render("legacy", {"text": "Words the code never said."}) == (
        "Words the code never said."
    )
    assert MIGRATION.to_code("  ") == ("", {})
