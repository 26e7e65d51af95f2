"""The Keys page (people and roles), the gateway_key command, the usage drain."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.urls import reverse

from gateway import keyformat, store, usage
from gateway.models import GatewayKey, UsageRecord
from tests.gateway.conftest import call, chat_body, make_key

pytestmark = pytest.mark.django_db
KEYS = "/keys/"
NO_LIMITS = {"requests_per_minute": 0, "tokens_per_minute": 0, "tokens_per_day": 0}


def test_roles(as_member, as_admin, as_viewer, as_stranger, client):
    assert as_member.get(KEYS).status_code == 200
    assert as_admin.get(KEYS).status_code == 200
    assert as_viewer.get(KEYS).status_code == 403
    assert as_stranger.get(KEYS).status_code == 403
    assert client.get(KEYS).status_code == 302


def test_member_creates_a_key_and_sees_it_once(as_member, member, gw_endpoint):
    made = as_member.post(
        KEYS,
        {
            "name": "laptop",
            "requests_per_minute": 5,
            "tokens_per_minute": 0,
            "tokens_per_day": 0,
            "scope": "only",
            "endpoints": [gw_endpoint.pk],
        },
    )
    # POST-redirect-GET: the answer to the POST holds no secret, so a reload makes no key.
    assert made.status_code == 302 and made["Location"] == KEYS
    assert "idk_" not in made.content.decode()
    key = GatewayKey.objects.get()
    # Across the redirect the secret is in the session, encrypted, never in clear.
    session_row = Session.objects.get(session_key=as_member.session.session_key)
    assert key.prefix not in session_row.session_data
    assert key.prefix not in json.dumps(session_row.get_decoded())

    page = as_member.get(KEYS)
    assert "no-store" in page["Cache-Control"]
    secret = re.search(r"idk_[A-Za-z0-9_-]{43}", page.content.decode()).group(0)
    assert key.owner == member and key.hashed == keyformat.digest(secret)
    assert not key.all_endpoints and list(key.endpoints.all()) == [gw_endpoint]
    assert key.requests_per_minute == 5 and key.tokens_per_minute is None
    # Shown once: popped by the first page that showed it.
    assert "gateway:new-key" not in as_member.session
    again = as_member.get(KEYS).content.decode()
    assert secret not in again and key.prefix in again
    assert GatewayKey.objects.count() == 1
    assert (
        call("POST", "/v1/chat/completions", key=secret, body=chat_body(gw_endpoint.name)).status
        == 200
    )


def test_an_admin_making_a_key_in_the_all_keys_view_comes_back_to_it(as_admin):
    form = {"name": "ci", "scope": "all", **NO_LIMITS}
    made = as_admin.post(KEYS + "?view=all", form)
    assert made.status_code == 302 and made["Location"] == KEYS + "?view=all"
    assert 'data-testid="new-key-secret"' in as_admin.get(made["Location"]).content.decode()


def test_app_keys_are_for_admins(as_member, as_admin):
    as_member.post(
        KEYS,
        {
            "name": "x",
            "app_name": "billing",
            "scope": "all",
            **NO_LIMITS,
        },
    )
    assert GatewayKey.objects.get().app_name == ""
    as_admin.post(
        KEYS,
        {
            "name": "y",
            "app_name": "billing",
            "scope": "all",
            **NO_LIMITS,
        },
    )
    assert GatewayKey.objects.get(name="y").app_name == "billing"


def test_a_new_key_says_its_scope_as_the_edit_page_does(as_member, gw_endpoint):
    """The New key form said "None ticked: every endpoint…" where the edit page has the two
    radios; now both ask the same question, and a new key starts on every endpoint."""
    page = as_member.get(KEYS).content.decode()
    assert "None ticked" not in page
    assert "Every endpoint, including those made later" in page
    assert re.search(r'<input type="radio" name="scope" value="all"[^>]*checked', page)
    assert "Only the endpoints ticked" in page and 'name="scope" value="only"' in page

    made = as_member.post(KEYS, {"name": "every", "scope": "all", **NO_LIMITS})
    assert made.status_code == 302
    key = GatewayKey.objects.get(name="every")
    assert key.all_endpoints and not key.endpoints.exists()


@pytest.mark.parametrize(
    ("scope", "ticked", "words"),
    [
        ("only", False, "Tick at least one endpoint, or choose every endpoint."),
        ("all", True, "Choose “Only the endpoints ticked” to keep these, or untick them"),
    ],
    ids=["only-with-none-ticked", "every-with-some-ticked"],
)
def test_a_new_keys_scope_and_ticks_must_agree(as_member, gw_endpoint, scope, ticked, words):
    form = {"name": "k", "scope": scope, **NO_LIMITS}
    if ticked:
        form["endpoints"] = [gw_endpoint.pk]
    page = as_member.post(KEYS, form)
    assert page.status_code == 400
    assert words in page.content.decode()
    assert not GatewayKey.objects.exists()


def test_invalid_form_makes_no_key(as_member):
    page = as_member.post(KEYS, {"name": "", "requests_per_minute": -1})
    assert page.status_code == 400
    assert not GatewayKey.objects.exists()


def test_people_see_and_revoke_only_their_own_keys(as_member, admin, member, as_admin):
    mine, theirs = make_key(member, name="mine"), make_key(admin, name="theirs")
    page = as_member.get(KEYS).content.decode()
    assert mine.key.prefix in page and theirs.key.prefix not in page
    url = reverse("gateway:revoke", args=[theirs.key.code])
    assert as_member.post(url).status_code == 404
    # Admins: everyone's keys with their owners, and may revoke any.
    everyone = as_admin.get(KEYS + "?view=all").content.decode()
    assert mine.key.prefix in everyone and member.username in everyone
    assert as_admin.post(reverse("gateway:revoke", args=[mine.key.code])).status_code == 302
    mine.key.refresh_from_db()
    assert mine.key.revoked_at is not None and mine.key.revoked_by == admin


def test_all_keys_says_which_keys_their_owner_can_no_longer_use(
    as_admin, member, gw_endpoint, django_assert_max_num_queries
):
    """The gateway refuses the keys of a Viewer or a deactivated person (and serves them again
    once given back the role): All keys says so, rather than "Active"."""
    from django.contrib.auth.models import Group

    made = make_key(member, name="laptop")
    assert 'data-testid="key-suspended"' not in as_admin.get(KEYS + "?view=all").content.decode()
    member.groups.set([Group.objects.get(name="Viewer")])
    assert call("GET", "/v1/models", key=made.secret).status == 401
    page = as_admin.get(KEYS + "?view=all").content.decode()
    assert 'data-testid="key-suspended"' in page and "not a Member now" in page
    member.groups.set([Group.objects.get(name="Member")])
    for i in range(5):  # the owners' roles come with the keys, not a query per row
        make_key(member, name=f"more {i}")
    member.is_active = False
    member.save()
    with django_assert_max_num_queries(9):
        page = as_admin.get(KEYS + "?view=all").content.decode()
    assert page.count('data-testid="key-suspended"') == 6 and "owner is deactivated" in page


def test_listing_models_counts_as_using_the_key(as_member, member, gw_endpoint):
    made = make_key(member, name="lister")
    assert call("GET", "/v1/models", key=made.secret).status == 200
    made.key.refresh_from_db()
    first = made.key.last_used_at
    assert first is not None
    assert call("GET", f"/v1/models/{gw_endpoint.name}", key=made.secret).status == 200
    made.key.refresh_from_db()
    assert made.key.last_used_at == first  # moved at most once a minute
    assert "Not used yet" not in as_member.get(KEYS).content.decode()


def test_usage_today_and_last_used_on_the_page(as_member, member, gw_endpoint):
    made = make_key(member, name="busy")
    for _ in range(2):
        call("POST", "/v1/chat/completions", key=made.secret, body=chat_body(gw_endpoint.name))
    usage.drain()
    row = as_member.get(KEYS).content.decode()
    assert "2 calls" in row and "Not used yet" not in row
    assert 'data-testid="tokens-estimated"' not in row  # the endpoint reported its usage
    assert 'data-testid="speed-note"' in row


def test_estimated_tokens_are_labelled_on_the_page(as_member, member, gw_endpoint, platform):
    made = make_key(member, name="cut")
    platform.set_faults(stream_cut_after=2)
    body = chat_body(gw_endpoint.name, stream=True, max_tokens=20)
    call("POST", "/v1/chat/completions", key=made.secret, body=body)
    usage.drain()
    page = as_member.get(KEYS).content.decode()
    assert "estimated for 1 call (the endpoint reported no usage)" in page
    assert "1 refused or failed" in page


def test_command_creates_prints_once_and_revokes(member, gw_endpoint):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "gateway_key",
        "create",
        "--user",
        member.username,
        "--name",
        "ci",
        "--endpoint",
        gw_endpoint.name,
        "--rpm",
        "30",
        stdout=out,
        stderr=err,
    )
    secret = out.getvalue().strip()
    assert keyformat.well_formed(secret) and secret not in err.getvalue()
    key = GatewayKey.objects.get()
    assert list(key.endpoints.all()) == [gw_endpoint] and key.requests_per_minute == 30
    out = io.StringIO()
    call_command("gateway_key", "list", stdout=out)
    assert key.prefix in out.getvalue() and secret not in out.getvalue()
    call_command("gateway_key", "revoke", key.prefix, stdout=io.StringIO())
    key.refresh_from_db()
    assert key.revoked_at is not None
    with pytest.raises(CommandError):
        call_command("gateway_key", "create", "--user", "nobody", "--name", "x")
    with pytest.raises(CommandError):
        call_command("gateway_key", "revoke", "idk_nothing")


@pytest.mark.django_db
def test_no_key_for_a_viewer_or_a_deactivated_member(viewer, member):
    """The gateway refuses their calls; the CLI said nothing and printed a key that answered 401
    "revoked" on its first call."""
    member.is_active = False
    member.save()
    for person in (viewer, member):
        with pytest.raises(CommandError, match="Only active Members and Admins"):
            call_command(
                "gateway_key",
                "create",
                "--user",
                person.username,
                "--name",
                "ci",
                stdout=io.StringIO(),
            )
    assert not GatewayKey.objects.exists()


def test_drain_is_idempotent_and_loses_nothing(member, gw_endpoint):
    made = make_key(member)
    call("POST", "/v1/chat/completions", key=made.secret, body=chat_body(gw_endpoint.name))
    queued = store.client().lrange(store.usage_queue(), 0, -1)
    assert len(queued) == 1
    # A drain that died after its insert, before its trim: the record is still queued, and the
    # next drain inserts it no second time.
    usage._insert([json.loads(queued[0])])
    assert usage.drain() == 1
    assert UsageRecord.objects.count() == 1 and usage.pending() == 0


def test_keys_page_in_vietnamese(as_member):
    as_member.cookies["idash_language"] = "vi"
    page = as_member.get(KEYS).content.decode()
    assert "Khóa gateway" in page and "Tạo khóa" in page


@pytest.mark.parametrize("field", ["requests_per_minute", "tokens_per_minute", "tokens_per_day"])
@pytest.mark.parametrize("number", ["99999999999999999999", "2147483648"])
def test_a_limit_beyond_what_can_be_stored_is_refused_in_words(as_member, field, number):
    form = {"name": "big", "scope": "all", **NO_LIMITS}
    page = as_member.post(KEYS, {**form, field: number})
    assert page.status_code == 400
    assert "At most 2147483647. For no limit, enter 0." in page.content.decode()
    assert not GatewayKey.objects.exists()
    vi = as_member.post(KEYS, {**form, field: number}, headers={"Accept-Language": "vi"})
    assert vi.status_code == 400 and "At most" not in vi.content.decode()


@pytest.mark.parametrize(
    ("field", "number", "english", "vietnamese"),
    [
        (
            "requests_per_minute",
            "-1",
            "Enter 0 or more. For no limit, enter 0.",
            "Hãy nhập 0 trở lên. Để không giới hạn, hãy nhập 0.",
        ),
        (
            "expires_in_days",
            "0",
            "At least 1 day.",
            "Ít nhất 1 ngày.",
        ),
        (
            "expires_in_days",
            "4000",
            "At most 3650 days (ten years).",
            "Tối đa 3650 ngày (mười năm).",
        ),
    ],
)
def test_a_number_out_of_range_is_refused_in_the_forms_own_words(
    as_member, field, number, english, vietnamese
):
    """Not Django's stock "Ensure this value is greater than or equal to 1." (in Vietnamese with a
    space before its full stop), found by a new user."""
    form = {"name": "k", "scope": "all", **NO_LIMITS}
    page = as_member.post(KEYS, {**form, field: number}).content.decode()
    assert english in page and "Ensure this value" not in page
    as_member.cookies["idash_language"] = "vi"
    page = as_member.post(KEYS, {**form, field: number}).content.decode()
    assert vietnamese in page and "Đảm bảo giá trị" not in page
    assert not GatewayKey.objects.exists()


def test_djangos_range_and_length_messages_read_well_in_vietnamese():
    from django import forms
    from django.utils import translation

    with translation.override("vi"):
        number = forms.IntegerField(min_value=1, max_value=5)
        text = forms.CharField(min_length=3, max_length=4)
        for field, value, words in (
            (number, "0", "Giá trị phải lớn hơn hoặc bằng 1."),
            (number, "9", "Giá trị phải nhỏ hơn hoặc bằng 5."),
            (text, "ab", "Giá trị phải có ít nhất 3 ký tự (hiện có 2)."),
            (text, "abcdef", "Giá trị chỉ được có tối đa 4 ký tự (hiện có 6)."),
        ):
            with pytest.raises(forms.ValidationError) as refused:
                field.clean(value)
            assert refused.value.messages == [words]


def test_the_largest_storable_limit_is_kept(as_member):
    form = {"name": "big", "scope": "all", "requests_per_minute": 0, "tokens_per_minute": 0}
    page = as_member.post(KEYS, {**form, "tokens_per_day": 2_147_483_647})
    assert page.status_code == 302
    assert GatewayKey.objects.get(name="big").tokens_per_day == 2_147_483_647


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--rpm", "99999999999", "At most 2147483647. For no limit, enter 0."),
        ("--tpm", "2147483648", "At most 2147483647. For no limit, enter 0."),
        ("--tpd", "-1", "Enter 0 or more. For no limit, enter 0."),
        (
            "--expires-days",
            "0",
            "--expires-days 0: At least 1 day. Omit --expires-days for a key that does not expire.",
        ),
        ("--expires-days", "-3", "At least 1 day. Omit --expires-days"),
        ("--expires-days", "4000", "--expires-days 4000: At most 3650 days (ten years)."),
    ],
)
def test_command_refuses_what_the_keys_page_refuses(member, flag, value, words):
    """A limit the database cannot hold, or an expiry of 0 days (it made a key that never
    expires), is refused in the form's words, and no key is made."""
    with pytest.raises(CommandError) as refused:
        call_command(
            "gateway_key",
            "create",
            "--user",
            member.username,
            "--name",
            "ci",
            flag,
            value,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert flag in str(refused.value) and words in str(refused.value)
    assert "Leave it empty" not in str(refused.value)  # the page's box, not the command's flag
    assert not GatewayKey.objects.exists()


def test_every_option_of_the_command_says_what_it_is_for():
    """`gateway_key create --help` listed --expires-days with no words at all."""
    import argparse

    from gateway.management.commands.gateway_key import Command

    parser = Command().create_parser("manage.py", "gateway_key")
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    silent = [
        f"{name} {action.option_strings or action.dest}"
        for name, subparser in sub.choices.items()
        for action in subparser._actions
        if not isinstance(action, argparse._HelpAction) and not (action.help or "").strip()
    ]
    assert not silent
    create = sub.choices["create"].format_help()
    assert "omit it for a key that does not expire" in " ".join(create.split())


def test_the_keys_page_counts_failures_as_monitoring_does(as_member, member, gw_endpoint):
    """A caller who went away mid-answer (499) is not a failure on either page; a refusal, a
    limit and a failure are, on both."""
    import uuid

    from django.utils import timezone

    from gateway.models import UsageRecord
    from monitoring.rollups import outcome

    made = make_key(member, name="mixed")
    statuses = [(200, ""), (499, ""), (400, "bad"), (429, "limited"), (502, "cut")]
    UsageRecord.objects.bulk_create(
        UsageRecord(
            request_id=uuid.uuid4(),
            at=timezone.now(),
            key=made.key,
            user=member,
            endpoint=gw_endpoint,
            status=status,
            error=error,
        )
        for status, error in statuses
    )
    not_ok = sum(outcome(status, error) != "ok" for status, error in statuses)
    assert not_ok == 3
    page = as_member.get(KEYS).content.decode()
    assert "5 calls" in page and f"{not_ok} refused or failed" in page


def test_command_keys_start_from_the_keys_pages_limits(member, settings):
    """With no limit options it made a key without limits, where the Keys page starts from the
    GATEWAY_DEFAULT_… settings; 0 given still means no limit."""
    settings.GATEWAY_DEFAULT_REQUESTS_PER_MINUTE = 61
    settings.GATEWAY_DEFAULT_TOKENS_PER_MINUTE = 100_001
    settings.GATEWAY_DEFAULT_TOKENS_PER_DAY = 0
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("gateway_key", "create", "--user", member.username, "--name", "a", **quiet)
    key = GatewayKey.objects.get(name="a")
    assert (key.requests_per_minute, key.tokens_per_minute, key.tokens_per_day) == (
        61,
        100_001,
        None,
    )
    call_command(
        "gateway_key", "create", "--user", member.username, "--name", "b", "--rpm", "0", **quiet
    )
    assert GatewayKey.objects.get(name="b").requests_per_minute is None


def test_a_keys_expiry_reads_in_vietnamese_whole():
    """Django's "from now" had no Vietnamese for naturaltime's wrapper (found by a helper)."""
    from datetime import timedelta

    from django.contrib.humanize.templatetags.humanize import naturaltime
    from django.utils import timezone, translation

    with translation.override("vi"):
        later = naturaltime(timezone.now() + timedelta(days=29, hours=1))
        earlier = naturaltime(timezone.now() - timedelta(days=29, hours=1))
    assert later.startswith("sau 4") and "from now" not in later
    assert earlier.endswith("trước") and "ago" not in earlier


def test_a_keys_expiry_is_its_date_and_new_key_is_at_the_top(as_member, member):
    """A key made for 7 days read "expires 6 days, 23 hours from now", less than asked: the
    date itself. And the New key form, at the page's foot, is a link away from its top."""
    from datetime import timedelta

    from django.utils import timezone
    from django.utils.formats import date_format

    expires = timezone.now() + timedelta(days=7)
    make_key(member, name="week", expires_at=expires)
    page = as_member.get(KEYS).content.decode()
    when = date_format(timezone.localtime(expires), "DATETIME_FORMAT")
    assert f"expires {when}" in page
    assert 'href="#new-key"' in page and 'id="new-key"' in page
