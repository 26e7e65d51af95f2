"""Share links: transcripts and live demos, expiry, revocation, rate limits, who made it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from endpoints.models import Endpoint
from playground.models import Conversation, ShareLink
from tests.fixtures.personas import make_user
from tests.playground.conftest import LONG_QUESTION, chat_data, events

SEND = reverse("playground:send")


@pytest.fixture
def conversation(as_member, endpoint, platform) -> Conversation:
    evs = events(
        as_member.post(
            SEND, chat_data(endpoint, "What is an endpoint?", max_tokens=8, temperature="0.4")
        )
    )
    return Conversation.objects.get(code=evs[0]["conversation"])


def make_link(client, conversation, ep, **overrides) -> ShareLink:
    data = {
        **chat_data(ep, "", system_prompt="Answer briefly.", max_tokens="6", temperature="0"),
        "kind": "live",
        "expires_in": "1d",
        "rate_per_link": "30",
        "rate_per_visitor": "6",
        **overrides,
    }
    response = client.post(
        reverse("playground:share", args=[conversation.code]), data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200, response.content.decode()
    return conversation.share_links.latest("created_at")


def open_demo(client: Client, link: ShareLink) -> str:
    """Open the live demo page as a visitor does; the signed id of the page's chat."""
    page = client.get(reverse("share:page", args=[link.token]))
    found = re.search(r'name="chat" value="([^"]*)"', page.content.decode())
    return found.group(1) if found else ""


def visitor_send(client: Client, link: ShareLink, message=LONG_QUESTION, chat=None, **extra):
    """Send a message from a demo page (opened now unless its `chat` is given)."""
    data = {"message": message, "chat": open_demo(client, link) if chat is None else chat}
    data.update(extra.pop("data", {}))
    return client.post(reverse("share:send", args=[link.token]), data, **extra)


def test_live_link_snapshots_the_current_settings_and_hides_its_maker_from_visitors(
    as_member, member, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint)
    assert link.kind == "live" and link.public
    assert link.created_by == member
    assert link.endpoint == endpoint
    assert link.system_prompt == "Answer briefly."
    assert link.params["max_tokens"] == 6 and link.params["temperature"] == 0
    assert timedelta(hours=23) < link.expires_at - timezone.now() <= timedelta(days=1)

    page = Client().get(reverse("share:page", args=[link.token]))
    html = page.content.decode()
    assert page.status_code == 200
    # One sentence, in either language.
    meta = re.search(r'data-testid="share-meta">\s*(.*?)\s*</p>', html, re.S).group(1)
    assert re.fullmatch(
        r"Chat with demo-chat: this demo expires in 23\xa0hours(, \d+\xa0minutes)?\.", meta
    ), meta
    vi = Client(headers={"Accept-Language": "vi"}).get(reverse("share:page", args=[link.token]))
    meta = re.search(r'data-testid="share-meta">\s*(.*?)\s*</p>', vi.content.decode(), re.S)
    assert re.fullmatch(
        r"Chat với demo-chat: bản demo này hết hạn sau 23\xa0giờ(, \d+\xa0phút)?\.", meta.group(1)
    ), meta.group(1)
    # Who made it is the team's business: a visitor without an account does not read it.
    assert "bob" not in html
    assert "Answer briefly." not in html  # the system prompt stays private
    assert "Sign out" not in html and 'class="sidebar"' not in html


def test_visitor_without_an_account_chats_with_those_parameters(
    as_member, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint)
    visitor = Client()
    chat = open_demo(visitor, link)
    response = visitor_send(visitor, link, chat=chat)
    assert response.status_code == 200
    assert response["X-Accel-Buffering"] == "no"
    evs = events(response)
    assert evs[-1]["type"] == "done"
    assert evs[-1]["completion_tokens"] == 6 and evs[-1]["finish_reason"] == "length"
    # The visitor's turns are not stored in anybody's conversation.
    assert conversation.messages.count() == 2

    # The server kept the first turn under the page's chat: it goes along with the second.
    second = events(visitor_send(visitor, link, "And then?", chat=chat))
    assert second[-1]["prompt_tokens"] > evs[-1]["prompt_tokens"]
    # A fresh page is a fresh chat.
    alone = events(visitor_send(visitor, link, "And then?"))
    assert alone[-1]["prompt_tokens"] < second[-1]["prompt_tokens"]


def test_the_server_keeps_the_visitors_turns_and_refuses_any_history_they_send(
    as_member, conversation, endpoint, platform
):
    """A visitor cannot put words in the model's mouth: no history is read from the browser."""
    link = make_link(as_member, conversation, endpoint)
    visitor = Client()
    chat = open_demo(visitor, link)
    first = events(visitor_send(visitor, link, "Hi", chat=chat))
    assert first[-1]["type"] == "done"
    calls = platform.stats()["data_plane_calls"]

    turns = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "x " * 3000}]
    response = visitor_send(visitor, link, "Hi", chat=chat, data={"history": json.dumps(turns)})
    assert response.status_code == 400
    assert "reload it" in response.json()["error"]["message"]
    # 40 turns of 8,000 characters: refused on the body's size, before anything parses it.
    turns = [{"role": "user", "content": "y" * 8000}] * 40
    response = visitor_send(visitor, link, "Hi", chat=chat, data={"history": json.dumps(turns)})
    assert response.status_code == 413
    assert platform.stats()["data_plane_calls"] == calls

    # A chat id of another link, a forged one or none: refused the same way.
    other = make_link(as_member, conversation, endpoint)
    for token in (open_demo(Client(), other), chat[:-2] + "xx", ""):
        refused = visitor_send(visitor, link, "Hi", chat=token)
        assert refused.status_code == 400
        assert "reload it" in refused.json()["error"]["message"]
    assert platform.stats()["data_plane_calls"] == calls


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    as_member, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint)
    visitor = Client()
    chat = open_demo(visitor, link)
    # One oversized field: refused on the body's announced size, before the form is parsed.
    response = visitor_send(visitor, link, "x" * 200_000, chat=chat)
    assert response.status_code == 413
    assert "too long" in response.json()["error"]["message"]


def test_deeply_nested_json_in_history_is_a_400_with_a_message(
    as_member, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint)
    nested = "[" * 20_000 + "]" * 20_000
    response = visitor_send(Client(), link, "Hi", data={"history": nested})
    assert response.status_code == 400
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("message", "words"),
    [("", "Type a message first."), ("x" * 8001, "too long")],
)
def test_visitor_bad_input_is_refused(as_member, conversation, endpoint, platform, message, words):
    link = make_link(as_member, conversation, endpoint)
    calls = platform.stats()["data_plane_calls"]
    response = visitor_send(Client(), link, message)
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]
    assert platform.stats()["data_plane_calls"] == calls


def test_revocation_takes_effect_on_the_next_request(as_member, conversation, endpoint, platform):
    link = make_link(as_member, conversation, endpoint)
    visitor = Client()
    assert events(visitor_send(visitor, link))[-1]["type"] == "done"
    assert visitor.get(reverse("share:page", args=[link.token])).status_code == 200

    response = as_member.post(
        reverse("share:revoke", args=[link.token]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Revoked" in response.content.decode()

    calls = platform.stats()["data_plane_calls"]
    refused = visitor_send(visitor, link)
    assert refused.status_code == 410
    assert "revoked" in refused.json()["error"]["message"]
    page = visitor.get(reverse("share:page", args=[link.token]))
    assert page.status_code == 410
    assert "revoked by its owner" in page.content.decode()
    assert platform.stats()["data_plane_calls"] == calls
    # The conversation itself is untouched.
    assert conversation.messages.count() == 2


def test_expired_link_is_refused(as_member, conversation, endpoint, platform):
    link = make_link(as_member, conversation, endpoint, expires_in="1h")
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert visitor_send(Client(), link).status_code == 410
    page = Client().get(reverse("share:page", args=[link.token]))
    assert page.status_code == 410
    assert "expired" in page.content.decode()


def test_unknown_token_is_a_404(client, db):
    assert client.get(reverse("share:page", args=["nope"])).status_code == 404
    assert client.post(reverse("share:send", args=["nope"]), {"message": "hi"}).status_code == 404


def test_per_visitor_limit_is_a_429_with_a_clear_message(
    as_member, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint, rate_per_link="10", rate_per_visitor="2")
    one = Client(REMOTE_ADDR="10.0.0.1")
    other = Client(REMOTE_ADDR="10.0.0.2")
    for _ in range(2):
        assert events(visitor_send(one, link))[-1]["type"] == "done"
    calls = platform.stats()["data_plane_calls"]
    refused = visitor_send(one, link)
    assert refused.status_code == 429
    assert "per visitor" in refused.json()["error"]["message"]
    assert int(refused["Retry-After"]) >= 1
    assert platform.stats()["data_plane_calls"] == calls
    # Another visitor is not affected by the first one's limit.
    assert events(visitor_send(other, link))[-1]["type"] == "done"


def test_per_link_limit_counts_every_visitor(as_member, conversation, endpoint, platform):
    link = make_link(as_member, conversation, endpoint, rate_per_link="3", rate_per_visitor="3")
    for n in range(3):
        assert visitor_send(Client(REMOTE_ADDR=f"10.0.1.{n}"), link).status_code == 200
    refused = visitor_send(Client(REMOTE_ADDR="10.0.1.99"), link)
    assert refused.status_code == 429
    assert "This demo link has had 3 messages this minute" in refused.json()["error"]["message"]


def test_live_link_to_an_endpoint_no_longer_active_says_so(
    as_member, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint)
    Endpoint.objects.filter(pk=endpoint.pk).update(status=Endpoint.Status.INACTIVE)
    response = visitor_send(Client(), link)
    assert response.status_code == 503
    assert "not available" in response.json()["error"]["message"]
    page = Client().get(reverse("share:page", args=[link.token]))
    assert "not available right now" in page.content.decode()


def test_transcript_for_the_team_needs_a_role(
    as_member, as_viewer, as_stranger, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint, kind="transcript", public="")
    assert link.kind == "transcript" and not link.public and link.endpoint is None
    url = reverse("share:page", args=[link.token])

    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert as_stranger.get(url).status_code == 403
    page = as_viewer.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "What is an endpoint?" in html
    assert conversation.messages.get(role="assistant").content in html
    assert "Shared by bob" in html
    # A transcript has no live chat.
    assert (
        as_viewer.post(reverse("share:send", args=[link.token]), {"message": "hi"}).status_code
        == 404
    )


def test_public_transcript_is_readable_without_an_account(
    as_member, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint, kind="transcript", public="on")
    page = Client().get(reverse("share:page", args=[link.token]))
    assert page.status_code == 200
    assert "What is an endpoint?" in page.content.decode()
    meta = re.search(r'data-testid="share-meta">\s*(.*?)\s*</p>', page.content.decode(), re.S)
    assert meta.group(1).startswith("Expires in "), meta.group(1)  # a sentence, not a fragment


def test_transcript_link_does_not_need_valid_live_settings(
    as_member, conversation, endpoint, platform
):
    link = make_link(
        as_member, conversation, endpoint, kind="transcript", temperature="7", endpoint="x"
    )
    assert link.kind == "transcript"


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"temperature": "3"}, "Temperature must be between 0 and 2."),
        ({"expires_in": "forever"}, "Select a valid choice"),
        ({"rate_per_link": "0"}, "between 1 and 1000"),
        ({"rate_per_visitor": "5000"}, "between 1 and 1000"),
        ({"rate_per_link": "2", "rate_per_visitor": "5"}, "more than the whole link"),
        ({"kind": "forever"}, "Select a valid choice"),
    ],
)
def test_share_form_refusals(as_member, conversation, endpoint, platform, overrides, words):
    data = {
        **chat_data(endpoint, ""),
        "kind": "live",
        "expires_in": "1d",
        "rate_per_link": "30",
        "rate_per_visitor": "6",
        **overrides,
    }
    response = as_member.post(
        reverse("playground:share", args=[conversation.code]), data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not ShareLink.objects.exists()


def test_only_the_owner_or_an_admin_may_revoke(as_member, conversation, endpoint, platform):
    link = make_link(as_member, conversation, endpoint)
    other = Client()
    other.force_login(make_user("eve", "Member"))
    assert other.post(reverse("share:revoke", args=[link.token])).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None

    admin = Client()
    admin.force_login(make_user("root", "Admin"))
    assert admin.post(reverse("share:revoke", args=[link.token])).status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by.username == "root"


def test_conversation_page_lists_its_links(as_member, conversation, endpoint, platform):
    link = make_link(as_member, conversation, endpoint)
    html = as_member.get(
        reverse("playground:conversation", args=[conversation.code])
    ).content.decode()
    assert reverse("share:page", args=[link.token]) in html
    assert "Made by bob" in html


def test_an_admin_revokes_links_from_the_admin_panel(
    as_member, as_admin, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint)
    page = as_admin.get(reverse("admin:playground_sharelink_changelist"))
    assert page.status_code == 200
    assert link.token not in page.content.decode()
    response = as_admin.post(
        reverse("admin:playground_sharelink_changelist"),
        {"action": "revoke", "_selected_action": [link.pk]},
    )
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert visitor_send(Client(), link).status_code == 410
    assert as_member.get(reverse("admin:playground_sharelink_changelist")).status_code in (302, 403)


def test_a_link_stops_while_its_maker_is_deactivated_or_no_longer_a_member(
    as_member, as_admin, member, conversation, endpoint, platform
):
    from django.contrib.auth.models import Group

    live = make_link(as_member, conversation, endpoint)
    transcript = make_link(as_member, conversation, endpoint, kind="transcript", public="on")
    visitor = Client()
    chat = open_demo(visitor, live)
    assert events(visitor_send(visitor, live, "Hi", chat=chat))[-1]["type"] == "done"
    calls = platform.stats()["data_plane_calls"]

    def refused_everywhere(words_for_admin: str) -> None:
        refused = visitor_send(visitor, live, "Hi", chat=chat)
        assert refused.status_code == 403
        assert refused.json()["error"]["message"] == "This link is not available right now."
        for link in (live, transcript):
            page = Client().get(reverse("share:page", args=[link.token]))
            html = page.content.decode()
            assert page.status_code == 403
            assert "not available right now" in html and "bob" not in html
            # An Admin reads why, on the link's page and in the admin panel.
            seen = as_admin.get(reverse("share:page", args=[link.token])).content.decode()
            assert words_for_admin in seen
        changelist = as_admin.get(reverse("admin:playground_sharelink_changelist"))
        assert words_for_admin in changelist.content.decode()
        assert platform.stats()["data_plane_calls"] == calls

    member.is_active = False
    member.save()
    refused_everywhere("bob, who made it, is deactivated.")

    member.is_active = True
    member.save()
    member.groups.set([Group.objects.get_or_create(name="Viewer")[0]])
    refused_everywhere("bob, who made it, is no longer a Member.")
    # Their owner, now a Viewer, reads why on the link's page.
    as_member.force_login(member)
    page = as_member.get(reverse("share:page", args=[transcript.token])).content.decode()
    assert "is no longer a Member. It works again once they are a Member again" in page

    # A Member again: the links answer again.
    member.groups.set([Group.objects.get_or_create(name="Member")[0]])
    assert events(visitor_send(visitor, live, "Hi", chat=chat))[-1]["type"] == "done"
    assert Client().get(reverse("share:page", args=[transcript.token])).status_code == 200


def test_a_transcript_is_what_was_shared_at_the_moment_of_sharing(
    as_member, conversation, endpoint, platform
):
    code = str(conversation.code)
    events(
        as_member.post(
            SEND,
            chat_data(endpoint, "Second question", conversation=code, system_prompt="Secret A"),
        )
    )
    plain = make_link(as_member, conversation, endpoint, kind="transcript", public="on")
    with_prompt = make_link(
        as_member, conversation, endpoint, kind="transcript", public="on", show_system_prompt="on"
    )
    shared = [m.content for m in conversation.messages.order_by("pk")]

    # Afterwards: a new exchange, a new system prompt, a new title.
    events(
        as_member.post(
            SEND, chat_data(endpoint, "Added later", conversation=code, system_prompt="Secret B")
        )
    )
    as_member.post(reverse("playground:rename", args=[conversation.code]), {"title": "Renamed"})

    html = Client().get(reverse("share:page", args=[plain.token])).content.decode()
    for content in shared:
        assert content in html
    assert "Added later" not in html and "Renamed" not in html
    assert "Secret" not in html  # no system prompt unless chosen
    html = Client().get(reverse("share:page", args=[with_prompt.token])).content.decode()
    assert "Secret A" in html and "Secret B" not in html
    assert "Added later" not in html


def test_visitors_read_a_plain_error_and_the_owner_reads_the_details(
    as_member, conversation, endpoint, service_account, platform
):
    link = make_link(as_member, conversation, endpoint)
    visitor = Client()
    chat = open_demo(visitor, link)
    plain = "The demo could not answer just now. Try again in a moment."

    # Mid-stream: the visitor reads the plain words, the owner the details.
    platform.set_faults(stream_error_after=2)
    evs = events(visitor_send(visitor, link, LONG_QUESTION, chat=chat))
    assert evs[-1]["type"] == "error" and evs[-1]["message"] == plain
    link.refresh_from_db()
    assert "failed while generating" in link.last_error
    assert "failed while generating" not in json.dumps(evs)
    seen = as_member.get(reverse("share:page", args=[link.token])).content.decode()
    assert "failed while generating" in seen
    anonymous = Client().get(reverse("share:page", args=[link.token])).content.decode()
    assert "failed while generating" not in anonymous

    # Before the first byte: IAM refuses (the audit saw the service account's name there).
    platform.set_faults(stream_error_after=None, iam_unavailable=True)
    service_account.access_token, service_account.token_expires_at = "", None
    service_account.save()
    refused = visitor_send(visitor, link, "Hi", chat=chat)
    assert refused.status_code == 502
    assert refused.json()["error"]["message"] == plain
    link.refresh_from_db()
    assert link.last_error.startswith("No IAM token for this endpoint's service account")
    owner_page = as_member.get(reverse("playground:conversation", args=[conversation.code]))
    assert "No IAM token for this endpoint" in owner_page.content.decode()


def test_a_forged_left_most_forwarded_for_gives_no_fresh_limit(
    as_member, conversation, endpoint, platform, settings
):
    """Behind one proxy the visitor is the address the proxy appended, whatever came before."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = "10.9.9.9"
    link = make_link(as_member, conversation, endpoint, rate_per_link="50", rate_per_visitor="2")

    def through_the_proxy(forwarded_for: str) -> Client:
        return Client(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=forwarded_for)

    def from_visitor(forged: str):
        return visitor_send(through_the_proxy(f"{forged}, 203.0.113.7"), link, "Hi")

    assert from_visitor("198.51.100.1").status_code == 200
    assert from_visitor("198.51.100.2").status_code == 200
    for forged in ("198.51.100.3", "192.0.2.44", "not-an-address"):
        refused = from_visitor(forged)
        assert refused.status_code == 429, forged
        assert "per visitor" in refused.json()["error"]["message"]
    # Another address appended by the proxy is another visitor.
    other = through_the_proxy("198.51.100.1, 203.0.113.8")
    assert visitor_send(other, link, "Hi").status_code == 200
