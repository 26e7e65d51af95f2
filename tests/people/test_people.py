"""The People page: who may open it, adding a person with a one-time set-password link, changing
roles, deactivating and reactivating, the last Admin, and the audit trail naming who did what."""

from __future__ import annotations

import re
import threading
import unicodedata
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, User
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.fixtures.personas import PASSWORD, make_user
from webapp.models import AuditRecord, SetPasswordLink
from webapp.people import services
from webapp.roles import Role, role_of

pytestmark = pytest.mark.django_db
PEOPLE = "/people/"
NEW_PASSWORD = "lantern-orchid-9-quay"
LINK_RE = re.compile(r"http://testserver(/set-password/[A-Za-z0-9_-]{43}/)")


def groups_of(user: User) -> set[str]:
    return set(User.objects.get(pk=user.pk).groups.values_list("name", flat=True))


def add_person(client: Client, username: str = "dave", role: str = "MEMBER", **extra) -> str:
    """Add a person through the page; the set-password link's path, as the Admin sees it once."""
    answer = client.post(
        reverse("people:add"), {"username": username, "role": role, **extra}, follow=False
    )
    assert answer.status_code == 200, answer.content.decode()[:2000]
    match = LINK_RE.search(answer.content.decode())
    assert match, "the page shows the link"
    return match.group(1)


def set_password(client: Client, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    return client.post(path, {"new_password1": password, "new_password2": again or password})


# Who may open it


@pytest.mark.parametrize(
    "persona, status",
    [("as_admin", 200), ("as_member", 403), ("as_viewer", 403), ("as_stranger", 403)],
)
def test_the_people_page_is_for_admins(request, persona, status):
    assert request.getfixturevalue(persona).get(PEOPLE).status_code == status


def test_signed_out_visitors_are_sent_to_sign_in(client):
    answer = client.get(PEOPLE)
    assert answer.status_code == 302 and answer["Location"] == "/login/?next=/people/"


@pytest.mark.parametrize("persona", ["as_member", "as_viewer", "as_stranger"])
def test_no_change_is_open_to_anyone_but_admins(request, persona, admin, viewer):
    client = request.getfixturevalue(persona)
    assert client.get(reverse("people:add")).status_code == 403
    assert client.post(reverse("people:add"), {"username": "x", "role": "ADMIN"}).status_code == 403
    assert client.post(reverse("people:role", args=["carol"]), {"role": "ADMIN"}).status_code == 403
    assert client.post(reverse("people:link", args=["alice"])).status_code == 403
    assert client.post(reverse("people:deactivate", args=["alice"])).status_code == 403
    assert client.post(reverse("people:reactivate", args=["alice"])).status_code == 403
    assert not User.objects.filter(username="x").exists()
    assert groups_of(viewer) == {"Viewer"} and User.objects.get(pk=admin.pk).is_active
    assert not SetPasswordLink.objects.exists() and not AuditRecord.objects.exists()


def test_the_list_shows_roles_state_and_last_sign_in(as_admin, member, viewer, stranger):
    User.objects.filter(pk=member.pk).update(last_login=timezone.now() - timedelta(hours=3))
    html = as_admin.get(PEOPLE).content.decode()
    rows = dict(re.findall(r'data-username="(\w+)"(.*?)</tr>', html, re.S))
    assert set(rows) == {"alice", "bob", "carol", "mallory"}
    assert 'value="MEMBER" selected' in rows["bob"] and "3\xa0hours ago" in rows["bob"]
    assert 'value="VIEWER" selected' in rows["carol"] and "Never" in rows["carol"]
    assert "No role" in rows["mallory"]
    # The only Admin: no role menu and no Deactivate, said in words.
    assert "The last Admin" in rows["alice"] and 'data-testid="deactivate"' not in rows["alice"]
    assert 'data-testid="count-admins">1<' in html and 'data-testid="count-viewers">1<' in html


# Adding a person and the one-time link


def test_an_admin_adds_a_person_who_sets_a_password_with_the_link(as_admin, admin):
    path = add_person(as_admin, "dave", "MEMBER", name="Dave Tran", email="dave@example.test")
    dave = User.objects.get(username="dave")
    assert groups_of(dave) == {"Member"} and dave.is_active and not dave.has_usable_password()
    assert dave.get_full_name() == "Dave Tran" and dave.email == "dave@example.test"
    # Only the digest is stored; the page shows the link once.
    secret = path.split("/")[2]
    assert not SetPasswordLink.objects.filter(digest=secret).exists()
    assert secret not in as_admin.get(PEOPLE).content.decode()
    assert "Invited" in as_admin.get(PEOPLE).content.decode()

    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 200 and "Welcome, dave" in page.content.decode()
    assert page["Referrer-Policy"] == "strict-origin" and "no-store" in page["Cache-Control"]
    done = set_password(visitor, path)
    assert done.status_code == 302 and done["Location"] == "/"
    assert int(visitor.session["_auth_user_id"]) == dave.pk
    assert visitor.get("/").status_code == 200
    assert authenticate(username="dave", password=NEW_PASSWORD) == User.objects.get(pk=dave.pk)

    # Once only: the same link again, opened or posted, is refused and changes nothing.
    again = Client()
    assert again.get(path).status_code == 410
    assert set_password(again, path, "other-password-77-x").status_code == 410
    assert "_auth_user_id" not in again.session
    assert authenticate(username="dave", password=NEW_PASSWORD) is not None

    records = list(AuditRecord.objects.order_by("at", "pk").values_list("action", "actor_name"))
    assert records == [("added", "alice"), ("password_set", "dave")]
    assert AuditRecord.objects.get(action="added").to_role == "MEMBER"


def test_an_expired_link_is_refused(as_admin):
    path = add_person(as_admin, "erin", "VIEWER")
    SetPasswordLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 410 and "It has expired." in page.content.decode()
    assert set_password(visitor, path).status_code == 410
    assert not User.objects.get(username="erin").has_usable_password()
    assert "link expired" in as_admin.get(PEOPLE).content.decode()


def test_the_link_lifetime_is_a_setting(as_admin, settings):
    settings.SET_PASSWORD_LINK_HOURS = 2
    add_person(as_admin, "erin")
    link = SetPasswordLink.objects.get()
    assert timedelta(hours=1, minutes=59) < link.expires_at - timezone.now() <= timedelta(hours=2)


def test_unknown_links_and_weak_passwords(as_admin):
    assert Client().get("/set-password/" + "x" * 43 + "/").status_code == 410
    path = add_person(as_admin, "frank")
    visitor = Client()
    weak = set_password(visitor, path, "12345678")
    assert weak.status_code == 400 and "too common" in weak.content.decode()
    mismatch = set_password(visitor, path, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert mismatch.status_code == 400 and "didn\u2019t match" in mismatch.content.decode()
    # A refused password leaves the link usable.
    assert set_password(visitor, path).status_code == 302


def test_a_new_link_replaces_the_old_one_and_is_recorded(as_admin, member):
    first = as_admin.post(reverse("people:link", args=["bob"])).content.decode()
    first_path = LINK_RE.search(first).group(1)
    second = as_admin.post(reverse("people:link", args=["bob"])).content.decode()
    second_path = LINK_RE.search(second).group(1)
    assert first_path != second_path and "no longer works" in second
    assert Client().get(first_path).status_code == 410
    # bob's old password works until he uses the link; then only the new one.
    assert authenticate(username="bob", password=PASSWORD) is not None
    assert set_password(Client(), second_path).status_code == 302
    assert authenticate(username="bob", password=PASSWORD) is None
    assert [(r.action, r.actor_name, r.person_name) for r in AuditRecord.objects.all()] == [
        ("password_set", "bob", "bob"),
        ("link_made", "alice", "bob"),
        ("link_made", "alice", "bob"),
    ]


def test_usernames_are_unique_whatever_the_case(as_admin, member):
    answer = as_admin.post(reverse("people:add"), {"username": "BOB", "role": "VIEWER"})
    assert answer.status_code == 400 and "already has the username" in answer.content.decode()
    answer = as_admin.post(reverse("people:add"), {"username": "no spaces", "role": "VIEWER"})
    assert answer.status_code == 400
    assert User.objects.count() == 2  # alice and bob


def test_a_signed_in_person_opening_someone_elses_link_is_warned(as_admin):
    path = add_person(as_admin, "gina")
    html = as_admin.get(path).content.decode()
    assert "You are signed in as alice" in html and "as gina instead" in html


# Roles


def test_an_admin_changes_a_role(as_admin, viewer):
    answer = as_admin.post(reverse("people:role", args=["carol"]), {"role": "MEMBER"})
    assert answer.status_code == 302 and answer["Location"] == PEOPLE
    assert groups_of(viewer) == {"Member"}
    assert role_of(User.objects.get(pk=viewer.pk)) == Role.MEMBER
    record = AuditRecord.objects.get()
    said = (record.action, record.actor_name, record.person_name)
    assert said == ("role_changed", "alice", "carol")
    assert (record.from_role, record.to_role) == ("VIEWER", "MEMBER")
    page = as_admin.get(PEOPLE).content.decode()
    assert "Viewer → Member" in page and "carol is now Member." in page
    # The same role again changes nothing and records nothing.
    as_admin.post(reverse("people:role", args=["carol"]), {"role": "MEMBER"})
    assert AuditRecord.objects.count() == 1
    unknown = as_admin.post(reverse("people:role", args=["carol"]), {"role": "OWNER"})
    assert unknown.status_code == 302
    assert groups_of(viewer) == {"Member"}


def test_a_person_without_a_role_gets_one(as_admin, stranger):
    as_admin.post(reverse("people:role", args=["mallory"]), {"role": "VIEWER"})
    assert groups_of(stranger) == {"Viewer"}
    assert AuditRecord.objects.get().from_role == "NONE"


def test_taking_the_admin_role_from_a_superuser_takes_the_flag_too(as_admin):
    root = User.objects.create_superuser("root", "root@example.test", PASSWORD)
    as_admin.post(reverse("people:role", args=["root"]), {"role": "VIEWER"})
    root.refresh_from_db()
    assert not root.is_superuser and role_of(root) == Role.VIEWER


# The last Admin


def test_the_last_admin_cannot_give_up_the_role_nor_deactivate_themselves(as_admin, admin):
    answer = as_admin.post(reverse("people:role", args=["alice"]), {"role": "MEMBER"}, follow=True)
    assert "You are the last Admin" in answer.content.decode()
    assert groups_of(admin) == {"Admin"}
    answer = as_admin.post(reverse("people:deactivate", args=["alice"]), follow=True)
    assert "You are the last Admin" in answer.content.decode()
    assert User.objects.get(pk=admin.pk).is_active
    assert not AuditRecord.objects.exists()


def test_a_deactivated_admin_does_not_count(as_admin, admin):
    dave = make_user("dave", "Admin")
    services.person_deactivate(person=dave, by=admin)
    as_admin.post(reverse("people:role", args=["alice"]), {"role": "MEMBER"})
    assert groups_of(admin) == {"Admin"}


def test_with_another_admin_one_may_step_down(as_admin, admin):
    make_user("dave", "Admin")
    answer = as_admin.post(reverse("people:role", args=["alice"]), {"role": "MEMBER"})
    # The People page is no longer theirs: they land on the overview.
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert groups_of(admin) == {"Member"}
    assert as_admin.get(PEOPLE).status_code == 403
    # dave is now the last Admin, and alice cannot take it from him either.
    dave = User.objects.get(username="dave")
    with pytest.raises(services.LastAdmin, match="dave is the last Admin"):
        services.person_set_role(person=dave, role=Role.VIEWER, by=admin)


def test_an_admin_may_deactivate_themselves_when_another_admin_remains(as_admin, admin):
    make_user("dave", "Admin")
    page = as_admin.get(reverse("people:deactivate", args=["alice"]))
    assert "This is your own account" in page.content.decode()
    answer = as_admin.post(reverse("people:deactivate", args=["alice"]))
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    assert not User.objects.get(pk=admin.pk).is_active
    assert as_admin.get("/").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_two_admins_stepping_down_at_once_leave_one(admin):
    """Each Admin demotes themselves at the same moment: the Admin group's row lock serialises
    the two, so the second sees it would be the last and is refused."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: SQLite serialises whole transactions instead")
    dave = make_user("dave", "Admin")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def step_down(person: User) -> None:
        try:
            barrier.wait()
            services.person_set_role(person=person, role=Role.MEMBER, by=person)
            outcomes.append("done")
        except services.LastAdmin:
            outcomes.append("refused")
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=step_down, args=(u,)) for u in (admin, dave)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["done", "refused"]
    admins = Group.objects.get(name="Admin").user_set.filter(is_active=True)
    assert admins.count() == 1


# Deactivating and reactivating


def test_deactivate_and_reactivate(as_admin, as_viewer, viewer):
    confirm = as_admin.get(reverse("people:deactivate", args=["carol"]))
    assert confirm.status_code == 200 and "Deactivate carol?" in confirm.content.decode()
    alice = User.objects.get(username="alice")
    pending = services.set_password_link_create(person=viewer, by=alice)
    answer = as_admin.post(reverse("people:deactivate", args=["carol"]))
    assert answer.status_code == 302 and answer["Location"] == PEOPLE
    assert not User.objects.get(pk=viewer.pk).is_active
    # Signed out at once, unable to sign in again, and their open link no longer works.
    assert as_viewer.get("/").status_code == 302
    carol_signs_in = {"username": "carol", "password": PASSWORD}
    assert Client().post(reverse("login"), carol_signs_in).status_code == 200
    assert Client().get(f"/set-password/{pending.secret}/").status_code == 410
    page = as_admin.get(PEOPLE).content.decode()
    assert "Deactivated" in page and 'data-testid="reactivate"' in page

    assert as_admin.post(reverse("people:reactivate", args=["carol"])).status_code == 302
    carol = User.objects.get(pk=viewer.pk)
    assert carol.is_active and role_of(carol) == Role.VIEWER
    assert Client().post(reverse("login"), carol_signs_in).status_code == 302
    assert [(r.action, r.actor_name, r.person_name) for r in AuditRecord.objects.all()] == [
        ("reactivated", "alice", "carol"),
        ("deactivated", "alice", "carol"),
        ("link_made", "alice", "carol"),
    ]


def test_a_deactivated_person_gets_no_new_link(as_admin, viewer):
    as_admin.post(reverse("people:deactivate", args=["carol"]))
    answer = as_admin.post(reverse("people:link", args=["carol"]), follow=True)
    assert "carol is deactivated" in answer.content.decode()
    assert not SetPasswordLink.objects.exists()


# The audit trail on the page


def test_the_activity_shows_who_did_what_and_pages(as_admin, admin, viewer):
    for role in ["MEMBER", "VIEWER"] * 12:
        as_admin.post(reverse("people:role", args=["carol"]), {"role": role})
    html = as_admin.get(PEOPLE).content.decode()
    rows = re.findall(r'data-testid="audit-row".*?</tr>', html, re.S)
    assert len(rows) == 20
    assert 'data-testid="audit-actor">alice<' in rows[0] and "Member → Viewer" in rows[0]
    assert "Page 1 of 2" in html
    htmx = {"HX-Request": "true", "HX-Target": "activity"}
    older = as_admin.get(PEOPLE + "?activity=2", headers=htmx)
    fragment = older.content.decode()
    assert fragment.lstrip().startswith('<div id="activity">') and "<html" not in fragment
    assert len(re.findall(r'data-testid="audit-row"', fragment)) == 4
    # Records outlive a renamed or deleted account.
    User.objects.filter(pk=viewer.pk).delete()
    assert 'data-testid="audit-person">carol<' in as_admin.get(PEOPLE).content.decode()


@pytest.mark.django_db(transaction=True)
def test_deactivating_stops_their_gateway_keys_and_share_links(admin, member):
    """What the confirmation page promises (the gateway and the share pages read the owner's
    role on every request; the People page changes it through signals they listen to)."""
    from gateway import authn, keyformat
    from gateway.services import gateway_key_create
    from playground.models import Conversation, ShareLink

    authn.forget_all()
    made = gateway_key_create(owner=member, name="laptop")
    info = authn.load(keyformat.digest(made.secret))
    assert authn.current(info) is not None
    link = ShareLink.objects.create(
        conversation=Conversation.objects.create(owner=member, title="Demo"),
        kind=ShareLink.Kind.TRANSCRIPT,
        public=True,
        created_by=member,
    )
    assert not link.paused_reason()

    services.person_deactivate(person=member, by=admin)
    with pytest.raises(authn.Refused):
        authn.current(info)
    assert ShareLink.objects.get(pk=link.pk).paused_reason()

    services.person_reactivate(person=member, by=admin)
    assert authn.current(info).owner_id == member.pk
    assert not ShareLink.objects.get(pk=link.pk).paused_reason()
    authn.forget_all()


def wide(text: str) -> str:
    """The full-width form of ASCII letters (what a Japanese or Chinese keyboard may type)."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


@pytest.mark.parametrize(
    ("username", "stored"),
    [(wide("bob"), "bob"), (wide("BOB"), "bob"), ("BoB", "bob")],
)
def test_a_full_width_or_other_case_username_is_the_same_name(as_admin, member, username, stored):
    answer = as_admin.post(reverse("people:add"), {"username": username, "role": "VIEWER"})
    assert answer.status_code == 400
    assert f"Someone already has the username “{stored}”." in answer.content.decode()
    assert User.objects.count() == 2


def test_a_full_width_username_is_stored_as_plain_letters(as_admin):
    add_person(as_admin, wide("carol"))
    assert User.objects.filter(username="carol").exists()


def test_vietnamese_usernames_differing_only_in_case_are_one_name(as_admin):
    add_person(as_admin, "Đức")
    for other in ("đức", "ĐỨC", unicodedata.normalize("NFD", "đức")):
        answer = as_admin.post(reverse("people:add"), {"username": other, "role": "VIEWER"})
        assert answer.status_code == 400, other
        assert answer.context["form"].errors["username"] == [
            "Someone already has the username “Đức”."
        ]
    assert User.objects.filter(username__in=["đức", "ĐỨC"]).count() == 0


@pytest.mark.parametrize("username", ["-", "._", "@@", "+"])
def test_a_username_of_punctuation_only_is_refused(as_admin, username):
    before = User.objects.count()
    answer = as_admin.post(reverse("people:add"), {"username": username, "role": "VIEWER"})
    assert answer.status_code == 400
    assert "A username needs at least one letter or digit." in answer.content.decode()
    assert User.objects.count() == before
    vi = as_admin.post(
        reverse("people:add"),
        {"username": username, "role": "VIEWER"},
        headers={"Accept-Language": "vi"},
    )
    assert "A username needs" not in vi.content.decode()


def test_a_name_taken_between_the_check_and_the_save_is_a_form_error(as_admin, monkeypatch):
    from webapp.people import forms

    monkeypatch.setattr(forms, "username_taken", lambda username: None)
    make_user("erin", None)
    answer = as_admin.post(reverse("people:add"), {"username": "erin", "role": "VIEWER"})
    assert answer.status_code == 400
    assert "Someone already has the username “erin”." in answer.content.decode()


def test_a_second_tab_of_the_link_says_what_happened(as_admin):
    """The person set their password in one tab: the link's second tab, in the same browser,
    sends them in; a stranger's copy says it was used (never "expired")."""
    path = add_person(as_admin, "gina", "MEMBER")
    browser = Client()
    assert browser.get(path).status_code == 200  # tab one
    assert browser.get(path).status_code == 200  # tab two, opened beside it
    assert set_password(browser, path).status_code == 302  # tab one sets it
    second = set_password(browser, path, "other-password-77-x")  # tab two, sent after
    assert second.status_code == 302 and second["Location"] == "/"
    assert "Your password is set already" in browser.get("/").content.decode()
    assert authenticate(username="gina", password=NEW_PASSWORD) is not None
    other = Client().get(path)
    assert other.status_code == 410 and "It was used already" in other.content.decode()


@pytest.mark.parametrize("username", ["\u0430dmin", "b\u043eb", "\u03b1lice"])
def test_a_username_mixing_alphabets_is_refused(as_admin, username):
    """admin with a Cyrillic a, bob with a Cyrillic o, alice with a Greek alpha: each reads as
    the real one in every list and in the activity log."""
    before = User.objects.count()
    answer = as_admin.post(reverse("people:add"), {"username": username, "role": "ADMIN"})
    assert answer.status_code == 400
    assert "Write the username in one alphabet" in answer.content.decode()
    assert User.objects.count() == before


def test_a_username_in_one_other_alphabet_is_welcome(as_admin):
    assert add_person(as_admin, "\u0438\u0432\u0430\u043d", "VIEWER")  # иван
    assert User.objects.filter(username="\u0438\u0432\u0430\u043d").exists()


def test_a_links_expiry_is_written_so_no_reader_takes_the_day_for_the_month():
    """English read "until 04/12/2026" (April 12 to some) beside "1 Dec 2026" on other pages;
    Vietnamese keeps the VNG console's day-first numbers (found by a crawl)."""
    from django.template.loader import render_to_string
    from django.utils import translation

    at = timezone.make_aware(timezone.datetime(2026, 12, 4, 20, 26))
    link = SetPasswordLink(expires_at=at)
    context = {"link": link, "url": "https://x/set-password/s/", "added": True}
    with translation.override("en"):
        english = render_to_string("people/link.html", context)
    with translation.override("vi"):
        vietnamese = render_to_string("people/link.html", context)
    assert "until 4 Dec 2026, 20:26" in english and "04/12/2026" not in english
    assert "04/12/2026 20:26" in vietnamese
