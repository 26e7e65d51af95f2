"""`gateway_key edit PREFIX …`: what is given changes, the rest stays; refused where the edit
page refuses, in its words, with nothing stored."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gateway import services
from gateway.models import GatewayKey
from tests.gateway.conftest import make_key
from tests.gateway.test_key_edit import stored

pytestmark = pytest.mark.django_db


def edit(*args: str) -> str:
    out = io.StringIO()
    call_command("gateway_key", "edit", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_edits_what_it_is_told_and_keeps_the_rest(member, gw_endpoint):
    made = make_key(
        member,
        name="ci",
        requests_per_minute=30,
        tokens_per_minute=500,
        expires_at=timezone.now() + timedelta(days=3),
    )
    expires = made.key.expires_at
    said = edit(made.key.prefix, "--rpm", "12", "--endpoint", gw_endpoint.name)
    assert said == f"Changed {made.key.prefix}… (ci).\n"
    key = GatewayKey.objects.get()
    assert list(key.endpoints.all()) == [gw_endpoint] and not key.all_endpoints
    assert (key.requests_per_minute, key.tokens_per_minute) == (12, 500)
    assert key.expires_at == expires and key.name == "ci"
    edit(made.key.prefix, "--name", "nightly", "--all-endpoints", "--no-expiry", "--tpm", "0")
    key.refresh_from_db()
    assert key.name == "nightly" and key.all_endpoints and not key.endpoints.exists()
    assert key.expires_at is None and key.tokens_per_minute is None
    assert key.requests_per_minute == 12
    edit(made.key.prefix, "--expires-days", "7")
    key.refresh_from_db()
    assert key.expires_at > timezone.now() + timedelta(days=6)
    assert key.hashed == made.key.hashed


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--rpm", "-1"], "--rpm -1: Enter 0 or more. For no limit, enter 0."),
        (["--tpd", "2147483648"], "--tpd 2147483648: At most 2147483647. For no limit, enter 0."),
        (
            ["--expires-days", "0"],
            "--expires-days 0: At least 1 day. Use --no-expiry for a key that does not expire.",
        ),
        (["--name", ""], "--name '': This field is required."),
        (["--endpoint", "no-such-endpoint"], "Endpoint 'no-such-endpoint': none with that name."),
        (["--all-endpoints", "--endpoint", "x"], "not allowed with argument"),
        (["--no-expiry", "--expires-days", "3"], "not allowed with argument"),
    ],
)
def test_command_refuses_what_the_edit_page_refuses(member, args, words):
    made = make_key(member, name="ci", requests_per_minute=30)
    before = stored(made.key)
    with pytest.raises(CommandError) as refused:
        edit(made.key.prefix, *args)
    assert words in str(refused.value)
    assert stored(made.key) == before


def test_command_refuses_a_revoked_or_unknown_key(member):
    made = make_key(member, name="ci")
    services.gateway_key_revoke(key=made.key)
    with pytest.raises(CommandError, match="a revoked key cannot be changed"):
        edit(made.key.prefix, "--rpm", "5")
    with pytest.raises(CommandError, match="No key with prefix"):
        edit("idk_nothing", "--rpm", "5")
    made.key.refresh_from_db()
    assert made.key.requests_per_minute is None


def test_a_whole_key_given_for_its_prefix_is_refused_and_never_repeated(member):
    """A mistyped whole key edited the key all the same, and one matching nothing was repeated
    in the error, into the script's log (found by a breaker)."""
    made = make_key(member, name="ci")
    for given in (made.secret, made.secret[:-1] + "x", made.key.prefix + "zz"):
        with pytest.raises(CommandError) as refused:
            edit(given, "--name", "changed")
        assert given not in str(refused.value) and made.secret[12:20] not in str(refused.value)
        assert "Give the key's prefix (12 characters" in str(refused.value)
    assert stored(made.key)[0] == "ci"
    # The prefix as the Keys page and `list` show it, with its ellipsis, is fine.
    assert "Changed" in edit(made.key.prefix + "…", "--name", "renamed")


def test_a_name_with_control_characters_is_refused(member, as_member):
    made = make_key(member, name="ci")
    with pytest.raises(CommandError, match="Use printable characters only"):
        edit(made.key.prefix, "--name", "x\x01y")
    page = as_member.post(
        "/keys/",
        {
            "name": "tab\there",
            "requests_per_minute": 0,
            "tokens_per_minute": 0,
            "tokens_per_day": 0,
        },
    )
    assert page.status_code == 400 and "Use printable characters only" in page.content.decode()
    assert stored(made.key)[0] == "ci"
