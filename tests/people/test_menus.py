"""Menus show what the person may do, pages refuse all the same; the sign-in page says why a
link led there; the README says where to sign in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from playground.models import Conversation, ShareLink

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def menu(client: Client) -> set[str]:
    html = client.get("/").content.decode()
    nav = re.search(r'<nav class="sidebar".*?</nav>', html, re.S).group(0)
    return {
        re.sub(r"<[^>]+>", "", label).strip()
        for label in re.findall(r"<a href=[^>]*>(.*?)</a>", nav, re.S)
    } - {"Inference\nDashboard", "InferenceDashboard"}


def test_menu_by_role(as_admin, as_member, as_viewer, as_stranger):
    entries = {"Overview", "Inference", "Model Registry"}
    assert menu(as_viewer) == entries
    assert menu(as_member) == entries | {"Playground", "Keys"}
    assert menu(as_admin) == entries | {
        "Playground",
        "Keys",
        "Credentials",
        "People",
        "Admin panel",
    }
    assert menu(as_stranger) == {"Overview"}


@pytest.mark.parametrize(
    "path, viewer_status",
    [("/playground/", 403), ("/keys/", 403), ("/credentials/", 403), ("/people/", 403)],
)
def test_pages_not_in_a_viewers_menu_refuse_them_all_the_same(as_viewer, path, viewer_status):
    page = as_viewer.get(path)
    assert page.status_code == viewer_status
    assert "Not allowed" in page.content.decode()


def test_a_viewer_has_no_refresh_on_the_registry(as_viewer, as_member):
    assert 'data-testid="refresh"' not in as_viewer.get("/registry/").content.decode()
    assert as_viewer.post("/registry/").status_code == 403
    assert 'data-testid="refresh"' in as_member.get("/registry/").content.decode()


def test_the_active_menu_entry_on_the_people_page(as_admin):
    html = as_admin.get("/people/").content.decode()
    assert re.search(r'href="/people/" aria-current="page"', html)


def test_a_private_transcript_opened_signed_out_says_it_needs_a_team_account(member):
    conversation = Conversation.objects.create(owner=member, title="Demo")
    link = ShareLink.objects.create(
        conversation=conversation, kind=ShareLink.Kind.TRANSCRIPT, public=False, created_by=member
    )
    visitor = Client()
    answer = visitor.get(reverse("share:page", args=[link.token]), follow=True)
    html = answer.content.decode()
    assert answer.redirect_chain[-1][0].startswith("/login/?next=/share/")
    note = re.search(r'data-testid="login-note">(.*?)</div>', html, re.S).group(1)
    assert "shared inside the team only" in note
    assert "Sign in with your account of this team to see this page." in note


def test_the_sign_in_note_for_other_pages_and_none_without_next(client):
    other = client.get("/login/?next=/inference/").content.decode()
    assert "Sign in with your account of this team" in other and "shared inside" not in other
    assert 'data-testid="login-note"' not in client.get("/login/").content.decode()
    assert 'data-testid="login-note"' not in client.get("/login/?next=/").content.decode()
    # An address off the site is dropped by Django, and with it the note.
    offsite = client.get("/login/?next=https://evil.example/").content.decode()
    assert 'data-testid="login-note"' not in offsite


def test_the_sign_in_note_in_vietnamese(client):
    client.cookies["idash_language"] = "vi"
    html = client.get("/login/?next=/share/abc/").content.decode()
    note = re.search(r'data-testid="login-note">(.*?)</div>', html, re.S).group(1)
    assert "Sign in" not in note and "nhóm" in note


def test_the_readme_says_where_to_sign_in():
    readme = (ROOT / "README.md").read_text()
    assert "/login/" in readme and "/people/" in readme
