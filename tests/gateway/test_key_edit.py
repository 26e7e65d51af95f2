"""Editing a key on its edit page (the owner, or an Admin): its name, expiry, scope and limits
change, its secret does not; refusals in the form's words, nothing stored; a revoked key or
another person's is never changed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from gateway import services
from gateway.models import GatewayKey
from tests.gateway.conftest import make_key

pytestmark = pytest.mark.django_db
KEYS = "/keys/"


def edit_url(key: GatewayKey, suffix: str = "") -> str:
    return reverse("gateway:edit", args=[key.code]) + suffix


def form(**changes) -> dict:
    data = {
        "name": "laptop",
        "expiry": "never",
        "expires_in_days": "",
        "requests_per_minute": 60,
        "tokens_per_minute": 0,
        "tokens_per_day": 0,
    }
    data.update(changes)
    # The scope is said: only the ticked endpoints when some are, else every endpoint.
    data.setdefault("scope", "only" if data.get("endpoints") else "all")
    return data


def stored(key: GatewayKey) -> tuple:
    key.refresh_from_db()
    scope = sorted(key.endpoints.values_list("pk", flat=True))
    return (
        key.name,
        key.all_endpoints,
        scope,
        key.expires_at,
        key.requests_per_minute,
        key.tokens_per_minute,
        key.tokens_per_day,
        key.hashed,
        key.prefix,
    )


def test_the_owner_changes_name_scope_limits_and_expiry_and_the_secret_stays(
    as_member, member, gw_endpoint
):
    made = make_key(
        member,
        name="old",
        requests_per_minute=60,
        expires_at=timezone.now() + timedelta(days=5),
    )
    page = as_member.get(edit_url(made.key))
    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert made.key.prefix in html and made.secret not in html
    assert 'value="old"' in html and 'value="60"' in html
    assert "Keep the current expiry" in html

    saved = as_member.post(
        edit_url(made.key),
        form(
            name="renamed",
            endpoints=[gw_endpoint.pk],
            requests_per_minute=7,
            tokens_per_day=1000,
            expiry="never",
        ),
    )
    assert saved.status_code == 302 and saved["Location"] == KEYS
    key = GatewayKey.objects.get()
    assert (key.name, key.all_endpoints, list(key.endpoints.all())) == (
        "renamed",
        False,
        [gw_endpoint],
    )
    assert (key.requests_per_minute, key.tokens_per_minute, key.tokens_per_day) == (7, None, 1000)
    assert key.expires_at is None
    assert key.hashed == made.key.hashed and key.prefix == made.key.prefix
    shown = as_member.get(KEYS).content.decode()
    assert "Key “renamed” saved: the change applies from its next request." in shown
    assert made.secret not in shown

    # Back to every endpoint: the list goes with it.
    as_member.post(edit_url(key), form(name="renamed"))
    key.refresh_from_db()
    assert key.all_endpoints and not key.endpoints.exists()


def test_a_new_expiry_counts_from_now_and_keep_keeps_it_to_the_second(as_member, member):
    made = make_key(member)
    before = timezone.now()
    as_member.post(edit_url(made.key), form(expiry="days", expires_in_days=10))
    made.key.refresh_from_db()
    expires = made.key.expires_at
    assert before + timedelta(days=10) <= expires <= timezone.now() + timedelta(days=10)
    as_member.post(edit_url(made.key), form(expiry="keep", requests_per_minute=5))
    made.key.refresh_from_db()
    assert made.key.expires_at == expires and made.key.requests_per_minute == 5


def test_an_expired_key_can_be_given_a_new_expiry_or_kept_as_it_is(as_member, member):
    """Expired is not revoked: its owner may renew it (keeping its old expiry is not refused as
    "in the past" either)."""
    made = make_key(member)
    gone = timezone.now() - timedelta(days=1)
    GatewayKey.objects.filter(pk=made.key.pk).update(expires_at=gone)
    kept = as_member.post(edit_url(made.key), form(expiry="keep", name="still"))
    assert kept.status_code == 302
    made.key.refresh_from_db()
    assert made.key.expires_at == gone and made.key.name == "still"
    as_member.post(edit_url(made.key), form(expiry="days", expires_in_days=30))
    made.key.refresh_from_db()
    assert made.key.expires_at > timezone.now() + timedelta(days=29)


@pytest.mark.parametrize(
    ("changes", "field", "english", "vietnamese"),
    [
        (
            {"requests_per_minute": -1},
            "requests_per_minute",
            "Enter 0 or more. For no limit, enter 0.",
            "Hãy nhập 0 trở lên. Để không giới hạn, hãy nhập 0.",
        ),
        (
            {"tokens_per_day": 2_147_483_648},
            "tokens_per_day",
            "At most 2147483647. For no limit, enter 0.",
            None,
        ),
        (
            {"expiry": "days", "expires_in_days": 0},
            "expires_in_days",
            "At least 1 day.",
            "Ít nhất 1 ngày.",
        ),
        (
            {"expiry": "days"},
            "expires_in_days",
            "Enter the number of days, counted from now.",
            "Hãy nhập số ngày, tính từ bây giờ.",
        ),
        (
            {"expiry": "never", "expires_in_days": 3},
            "expires_in_days",
            "Days are for a new expiry: choose “New expiry” too, or leave the days empty.",
            "Số ngày chỉ dùng cho thời hạn mới: hãy chọn cả “Thời hạn mới”, hoặc để trống số ngày.",
        ),
        ({"name": ""}, "name", "This field is required.", None),
        ({"expiry": "keep"}, "expiry", "Select a valid choice.", None),  # it has no expiry
    ],
)
def test_bad_input_is_refused_in_the_forms_words_and_nothing_changes(
    as_member, member, changes, field, english, vietnamese
):
    made = make_key(member, name="laptop", requests_per_minute=60)
    before = stored(made.key)
    page = as_member.post(edit_url(made.key), form(**changes))
    html = page.content.decode()
    assert page.status_code == 400
    assert f'data-testid="error-{field}"' in html and english in html
    assert "Nothing was changed." in html
    assert stored(made.key) == before
    if vietnamese:
        as_member.cookies["idash_language"] = "vi"
        html = as_member.post(edit_url(made.key), form(**changes)).content.decode()
        assert vietnamese in html and "Chưa có gì được thay đổi." in html
        assert stored(made.key) == before


def test_a_member_cannot_reach_another_persons_key_and_a_viewer_no_key(
    as_member, as_viewer, admin, member
):
    theirs = make_key(admin, name="theirs")
    before = stored(theirs.key)
    assert as_member.get(edit_url(theirs.key)).status_code == 404
    assert as_member.post(edit_url(theirs.key), form(name="mine now")).status_code == 404
    mine = make_key(member, name="mine")
    assert as_viewer.get(edit_url(mine.key)).status_code == 403
    assert as_viewer.post(edit_url(mine.key), form(name="x")).status_code == 403
    assert stored(theirs.key) == before
    assert GatewayKey.objects.get(pk=mine.key.pk).name == "mine"
    # Only the owner's Edit links are on their page.
    page = as_member.get(KEYS).content.decode()
    assert edit_url(mine.key) in page and edit_url(theirs.key) not in page


def test_an_admin_edits_anyones_key_from_all_keys_and_comes_back_to_it(as_admin, member):
    theirs = make_key(member, name="bob's laptop", requests_per_minute=60)
    everyone = as_admin.get(KEYS + "?view=all").content.decode()
    assert edit_url(theirs.key, "?view=all") in everyone
    page = as_admin.get(edit_url(theirs.key, "?view=all")).content.decode()
    assert member.username in page  # whose key it is
    saved = as_admin.post(edit_url(theirs.key, "?view=all"), form(requests_per_minute=9))
    assert saved.status_code == 302 and saved["Location"] == KEYS + "?view=all"
    theirs.key.refresh_from_db()
    assert theirs.key.requests_per_minute == 9 and theirs.key.owner == member


def test_a_revoked_key_is_never_changed(as_member, member):
    made = make_key(member, name="gone")
    services.gateway_key_revoke(key=made.key, by=member)
    before = stored(made.key)
    shown = as_member.get(edit_url(made.key), follow=True)
    assert shown.redirect_chain == [(KEYS, 302)]
    assert "a revoked key cannot be changed" in shown.content.decode()
    posted = as_member.post(edit_url(made.key), form(name="back"))
    assert posted.status_code == 302
    assert stored(made.key) == before
    # The row of a revoked key offers no Edit.
    assert edit_url(made.key) not in as_member.get(KEYS).content.decode()


def test_an_edit_racing_a_revoke_is_refused(member):
    """The page read the key before it was revoked: the service, which locks the row, refuses."""
    made = make_key(member, name="racing")
    GatewayKey.objects.filter(pk=made.key.pk).update(revoked_at=timezone.now())
    with pytest.raises(ValidationError, match="a revoked key cannot be changed"):
        services.gateway_key_update(
            key=made.key,
            name="changed",
            all_endpoints=True,
            endpoints=[],
            expires_at=None,
            requests_per_minute=1,
            tokens_per_minute=None,
            tokens_per_day=None,
        )
    made.key.refresh_from_db()
    assert made.key.name == "racing"


def test_a_rename_never_opens_a_key_whose_endpoints_were_all_deleted(
    as_member, member, gw_endpoint, other_endpoint
):
    """Its edit form showed none ticked, and none ticked meant every endpoint: a rename opened the
    key to all of them, on the page and with the command (found by a breaker)."""
    from django.core.management import CommandError, call_command

    from endpoints.models import Endpoint

    made = make_key(member, name="scoped", endpoints=[other_endpoint])
    Endpoint.objects.filter(pk=other_endpoint.pk).update(status=Endpoint.Status.DELETED)

    page = as_member.get(edit_url(made.key))
    assert page.context["form"]["scope"].value() == "only"
    refused = as_member.post(edit_url(made.key), form(name="renamed", scope="only"))
    assert refused.status_code == 400
    assert "Tick at least one endpoint, or choose every endpoint." in refused.content.decode()
    with pytest.raises(CommandError, match="Tick at least one endpoint"):
        call_command("gateway_key", "edit", made.key.prefix, "--name", "renamed")
    made.key.refresh_from_db()
    assert (made.key.name, made.key.all_endpoints) == ("scoped", False)
    assert list(made.key.endpoints.all()) == [other_endpoint]

    # Said plainly, it may be opened, or limited again to a live endpoint.
    assert as_member.post(edit_url(made.key), form(endpoints=[gw_endpoint.pk])).status_code == 302
    made.key.refresh_from_db()
    assert not made.key.all_endpoints and list(made.key.endpoints.all()) == [gw_endpoint]
    assert as_member.post(edit_url(made.key), form(scope="all")).status_code == 302
    made.key.refresh_from_db()
    assert made.key.all_endpoints


def test_every_endpoint_with_endpoints_ticked_is_refused_not_guessed(
    as_member, member, gw_endpoint
):
    made = make_key(member, name="mixed", endpoints=[gw_endpoint])
    answer = as_member.post(edit_url(made.key), form(scope="all", endpoints=[gw_endpoint.pk]))
    assert answer.status_code == 400
    assert "to keep these, or untick them" in answer.content.decode()
    made.key.refresh_from_db()
    assert not made.key.all_endpoints


def seen_on(page) -> str:
    found = re.search(r'name="seen" value="(\d+)"', page.content.decode())
    assert found, "the edit page carries the version it was given"
    return found.group(1)


def test_an_edit_from_a_page_opened_before_someone_elses_change_is_refused_and_kept(
    as_admin, as_member, member
):
    """Two people on one key's edit page: the second to save is told, with what it reads now,
    keeps what they typed, and saving again (knowingly) replaces it."""
    made = make_key(member, name="shared", requests_per_minute=60)
    theirs = seen_on(as_member.get(edit_url(made.key)))
    admins = seen_on(as_admin.get(edit_url(made.key, "?view=all")))
    assert theirs == admins
    first = as_admin.post(
        edit_url(made.key, "?view=all"), form(name="shared", requests_per_minute=9, seen=admins)
    )
    assert first.status_code == 302
    after_first = stored(made.key)

    late = as_member.post(edit_url(made.key), form(name="mine now", seen=theirs))
    assert late.status_code == 409
    html = late.content.decode()
    assert "Someone changed this key" in html and "nothing was saved" in html
    assert "9 req/min" in html  # what it reads now
    # Saving again would put back the limit the other person changed: said, by its label.
    would = re.search(r'data-testid="would-change">(.*?)</p>', html, re.S)
    assert would and "Requests per minute" in would.group(1) and "Name" in would.group(1)
    assert "Tokens per day" not in would.group(1)
    assert 'value="mine now"' in html  # what they typed stays
    assert stored(made.key) == after_first

    again = as_member.post(edit_url(made.key), form(name="mine now", seen=seen_on(late)))
    assert again.status_code == 302
    made.key.refresh_from_db()
    assert (made.key.name, made.key.requests_per_minute) == ("mine now", 60)


def test_the_conflict_is_told_in_vietnamese(as_admin, as_member, member):
    made = make_key(member, name="shared")
    theirs = seen_on(as_member.get(edit_url(made.key)))
    as_admin.post(edit_url(made.key, "?view=all"), form(name="shared", requests_per_minute=9))
    as_member.cookies["idash_language"] = "vi"
    html = as_member.post(edit_url(made.key), form(seen=theirs)).content.decode()
    assert "Someone changed" not in html
    assert "không có gì được lưu" in html
