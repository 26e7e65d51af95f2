"""Issue 13, the playground: the saved conversations (endpoint, "… ago", search, delete from the
list), the parameters checked on the field, and the Admins' list of every share link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from playground.models import Conversation, ShareLink
from playground.selectors import conversations_by_age
from playground.templatetags.playground_time import ago, from_now
from tests.playground.conftest import chat_data, conversation_for

HISTORY = reverse("playground:history")
LINKS = reverse("playground:links")
HTMX = {"HX-Request": "true"}


# ---------------------------------------------------------------- saved conversations


def test_each_saved_conversation_shows_its_endpoint_and_when(as_member, member, endpoint):
    conversation_for(member, "Deploying Qwen", endpoint=endpoint, age=timedelta(minutes=5))
    conversation_for(member, "Endpoint gone", age=timedelta(days=3))
    html = as_member.get(HISTORY).content.decode()
    assert "Deploying Qwen" in html and "Endpoint gone" in html
    assert html.index("Deploying Qwen") < html.index("Endpoint gone")  # newest first
    first = html.split("Deploying Qwen")[1]
    assert "demo-endpoint" in first.split("</li>")[0]
    assert "5\N{NO-BREAK SPACE}minutes ago" in first.split("</li>")[0]
    # Its endpoint deleted: the model it used.
    gone = html.split("Endpoint gone")[1].split("</li>")[0]
    assert "demo-chat" in gone and "3\N{NO-BREAK SPACE}days ago" in gone
    # Grouped by age, as chat products do.
    assert html.index("Today") < html.index("Deploying Qwen") < html.index("Previous 7 days")


def test_the_list_is_grouped_by_age():
    now = timezone.now()
    today = timezone.localdate(now)
    ages = [timedelta(0), timedelta(days=1), timedelta(days=3), timedelta(days=20), timedelta(90)]
    conversations = [Conversation(title=str(a), updated_at=now - a) for a in ages]
    groups = conversations_by_age(conversations, today=today)
    assert [g.label for g in groups] == [
        "Today",
        "Yesterday",
        "Previous 7 days",
        "Previous 30 days",
        "Older",
    ]


def test_search_finds_titles_and_messages_of_ones_own_conversations(
    as_member, member, admin, endpoint
):
    conversation_for(member, "Quarterly revenue SQL", endpoint=endpoint)
    conversation_for(member, "Untitled", endpoint=endpoint, said="Translate 'xin chào' please")
    conversation_for(member, "Something else", endpoint=endpoint, said="Nothing to see")
    conversation_for(admin, "Revenue of another person", endpoint=endpoint)

    html = as_member.get(HISTORY, {"q": "revenue"}).content.decode()
    assert "Quarterly revenue SQL" in html
    assert "Revenue of another person" not in html and "Something else" not in html

    html = as_member.get(HISTORY, {"q": "XIN CHÀO"}).content.decode()
    assert "Untitled" in html and "Quarterly" not in html

    html = as_member.get(HISTORY, {"q": "zebra"}).content.decode()
    assert "No conversation matches “zebra”." in html

    # Without JavaScript the search form is a plain GET of the page.
    page = as_member.get(reverse("playground:index"), {"q": "revenue"}).content.decode()
    assert 'value="revenue"' in page and "Something else" not in page


def test_delete_from_the_list_gives_the_list_back(as_member, member, endpoint):
    keep = conversation_for(member, "Keep me", endpoint=endpoint)
    drop = conversation_for(member, "Drop me", endpoint=endpoint)
    response = as_member.post(
        reverse("playground:delete", args=[drop.code]),
        {"current": str(keep.code), "q": ""},
        headers=HTMX,
    )
    html = response.content.decode()
    listing, toasts = html.split('id="toasts"')
    assert response.status_code == 200
    assert "Keep me" in listing and "Drop me" not in listing
    assert "Conversation “Drop me” deleted." in toasts  # out of band
    assert 'aria-current="page"' in html  # the open one is still marked
    assert not Conversation.objects.filter(pk=drop.pk).exists()


def test_deleting_the_open_conversation_from_the_list_starts_a_new_chat(
    as_member, member, endpoint
):
    open_one = conversation_for(member, "Open one", endpoint=endpoint)
    response = as_member.post(
        reverse("playground:delete", args=[open_one.code]),
        {"current": str(open_one.code)},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("playground:index")
    assert not Conversation.objects.filter(pk=open_one.pk).exists()


def test_nobody_deletes_anothers_conversation_from_the_list(as_admin, member, endpoint):
    theirs = conversation_for(member, "Bob's", endpoint=endpoint)
    response = as_admin.post(reverse("playground:delete", args=[theirs.code]), headers=HTMX)
    assert response.status_code == 404
    assert Conversation.objects.filter(pk=theirs.pk).exists()


def test_the_page_carries_the_forms_refusals_for_its_inline_checks(
    as_member, endpoint, platform, settings
):
    """The page checks each box as it is typed in, in the form's words; the server refuses the
    same values in the same words (tests/playground/test_refusals.py)."""
    html = as_member.get(reverse("playground:index")).content.decode()
    assert 'data-msg-range="Temperature must be between 0 and 2."' in html
    assert 'data-msg-required="Maximum tokens is required."' in html
    assert 'data-integer="true"' in html  # past messages, max tokens
    assert 'data-msg-too-many="At most 4 stop sequences, one per line."' in html
    assert 'data-msg-too-long="A stop sequence may be at most 40 characters long."' in html
    # The settings belong to the chat's form from outside it.
    assert (
        'name="temperature" min="0" max="2" step="0.01" value="1" required form="pg-form"' in html
    )

    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    html = as_member.get(reverse("playground:index")).content.decode()
    assert 'data-msg-range="Độ sáng tạo (temperature) phải nằm trong khoảng từ 0 đến 2."' in html
    refused = as_member.post(reverse("playground:send"), chat_data(endpoint, temperature="2.5"))
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["temperature"] == [
        "Độ sáng tạo (temperature) phải nằm trong khoảng từ 0 đến 2."
    ]


def test_relative_times_read_in_both_languages():
    now = timezone.now()
    with translation.override("en"):
        assert ago(now) == "just now"
        assert ago(now - timedelta(hours=2, minutes=5)) == "2\N{NO-BREAK SPACE}hours ago"
        assert from_now(now + timedelta(days=6, hours=20)) == "in 6\N{NO-BREAK SPACE}days"
        assert from_now(now - timedelta(days=2)) == "2\N{NO-BREAK SPACE}days ago"
    with translation.override("vi"):
        assert ago(now) == "vừa xong"
        assert ago(now - timedelta(days=1, hours=3)) == "1\N{NO-BREAK SPACE}ngày trước"
        assert from_now(now + timedelta(hours=5)) == "5\N{NO-BREAK SPACE}giờ nữa"


# ---------------------------------------------------------------- the Admins' share links


def row_of(html: str, link: ShareLink) -> str:
    return html.split(f'data-link="{link.code}"')[1].split("</tr>")[0]


def test_admins_see_every_share_link_with_its_maker_and_state(as_admin, links):
    html = as_admin.get(LINKS).content.decode()
    for link in links.values():
        assert f'data-link="{link.code}"' in html
        # The token is the key to the demo: never on this page.
        assert link.token not in html

    answering = row_of(html, links["answering"])
    assert "Live for the sales team" in answering and "bob" in answering
    assert "Live demo" in answering and "Answering" in answering
    assert "in 1\N{NO-BREAK SPACE}day" in answering  # expires (a day from now, rounded up)
    assert "just now" in answering  # created
    assert "data-revoke" in answering

    transcript = row_of(html, links["transcript"])
    assert "Read-only transcript" in transcript and "Signed-in people" in transcript
    assert (
        ">Open</span>" in transcript and "Answering" not in transcript
    )  # a transcript answers nothing

    paused = row_of(html, links["paused"])
    assert "Paused" in paused and "dave, who made it, is no longer a Member." in paused
    assert "data-revoke" in paused  # a paused link can still be revoked

    revoked = row_of(html, links["revoked"])
    assert "Revoked" in revoked and "by alice" in revoked and "data-revoke" not in revoked

    expired = row_of(html, links["expired"])
    assert "Expired" in expired and "3\N{NO-BREAK SPACE}hours ago" in expired
    assert "data-revoke" not in expired


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        ("answering", {"answering"}),
        ("open", {"transcript"}),
        ("paused", {"paused"}),
        ("ended", {"revoked", "expired"}),
        ("", {"answering", "transcript", "paused", "revoked", "expired"}),
    ],
)
def test_admins_filter_links_by_state(as_admin, links, state, shown):
    html = as_admin.get(LINKS, {"state": state}).content.decode()
    listed = {name for name, link in links.items() if f'data-link="{link.code}"' in html}
    assert listed == shown


def test_admins_search_links_by_conversation_or_maker(as_admin, links):
    html = as_admin.get(LINKS, {"q": "dave"}).content.decode()
    assert f'data-link="{links["paused"].code}"' in html
    assert f'data-link="{links["answering"].code}"' not in html
    html = as_admin.get(LINKS, {"q": "sales"}).content.decode()
    assert f'data-link="{links["answering"].code}"' in html
    assert f'data-link="{links["paused"].code}"' not in html


def test_an_admin_revokes_anyones_link_and_it_stops_at_once(as_admin, admin, links, client):
    link = links["answering"]
    assert client.get(reverse("share:page", args=[link.token])).status_code == 200
    response = as_admin.post(
        reverse("playground:link_revoke", args=[link.code]),
        {"state": "", "q": "", "page": "1"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Link revoked: it stopped working at once." in html
    assert "by alice" in row_of(html, link)
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == admin
    assert client.get(reverse("share:page", args=[link.token])).status_code == 410

    # Without htmx: back to the list. Twice: nothing changes, and it says so.
    response = as_admin.post(reverse("playground:link_revoke", args=[link.code]))
    assert response.status_code == 302 and response["Location"] == LINKS
    assert "This link was already revoked." in as_admin.get(LINKS).content.decode()


def test_only_admins_reach_the_list_of_links(as_member, as_viewer, as_stranger, client, links):
    link = links["answering"]
    for person in (as_member, as_viewer, as_stranger):
        assert person.get(LINKS).status_code == 403
        revoke = person.post(reverse("playground:link_revoke", args=[link.code]))
        assert revoke.status_code == 403
    anonymous = client.get(LINKS)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    link.refresh_from_db()
    assert link.revoked_at is None


def test_the_playground_links_the_list_for_admins_only(as_admin, as_member, endpoint):
    assert f'href="{LINKS}"' in as_admin.get(reverse("playground:index")).content.decode()
    assert f'href="{LINKS}"' not in as_member.get(reverse("playground:index")).content.decode()


def test_an_unknown_link_code_is_a_404(as_admin, db):
    response = as_admin.post(
        reverse("playground:link_revoke", args=["00000000-0000-0000-0000-000000000000"])
    )
    assert response.status_code == 404


def test_the_list_of_links_reads_in_vietnamese(as_admin, links, settings):
    as_admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    html = as_admin.get(LINKS).content.decode()
    assert "Liên kết chia sẻ" in html
    assert "dave, người tạo liên kết, không còn là Thành viên." in html
    assert "Thu hồi" in html
