"""The Model aliases page: Admins list, add and delete aliases; callers use them at once."""

from __future__ import annotations

import pytest

from gateway import routes
from gateway.models import ModelAlias
from tests.gateway.conftest import call, chat_body, make_key

pytestmark = pytest.mark.django_db
ALIASES = "/keys/aliases/"


def wide(text: str) -> str:
    """The full-width form of ASCII text (NFKC turns it back)."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


DELETE = "/keys/aliases/delete/"


def test_roles(as_admin, as_member, as_viewer, as_stranger, client, gw_endpoint):
    assert as_admin.get(ALIASES).status_code == 200
    for visitor in (as_member, as_viewer, as_stranger):
        assert visitor.get(ALIASES).status_code == 403
        assert visitor.post(ALIASES, {"alias": "x", "endpoint": gw_endpoint.pk}).status_code == 403
    assert client.get(ALIASES).status_code == 302
    ModelAlias.objects.create(alias="kept", endpoint=gw_endpoint)
    assert as_member.post(DELETE, {"alias": "kept"}).status_code == 403
    assert ModelAlias.objects.filter(alias="kept").exists()


def test_admin_adds_an_alias_and_a_key_calls_it(as_admin, admin, member, gw_endpoint):
    made = as_admin.post(ALIASES, {"alias": "chat-default", "endpoint": gw_endpoint.pk})
    assert made.status_code == 302 and made["Location"] == ALIASES
    row = ModelAlias.objects.get()
    assert (row.alias, row.endpoint, row.created_by) == ("chat-default", gw_endpoint, admin)
    page = as_admin.get(ALIASES).content.decode()
    assert "chat-default" in page and gw_endpoint.name in page
    key = make_key(member).secret
    answer = call("POST", "/v1/chat/completions", key=key, body=chat_body("chat-default"))
    assert answer.status == 200
    models = call("GET", "/v1/models", key=key).json()["data"]
    assert "chat-default" in {m["id"] for m in models}


def test_admin_deletes_an_alias_and_it_stops_resolving(as_admin, member, gw_endpoint):
    ModelAlias.objects.create(alias="old-name", endpoint=gw_endpoint)
    deleted = as_admin.post(DELETE, {"alias": "old-name"})
    assert deleted.status_code == 302 and not ModelAlias.objects.exists()
    routes.forget_all()  # another process's route cache forgets within a few seconds
    answer = call(
        "POST", "/v1/chat/completions", key=make_key(member).secret, body=chat_body("old-name")
    )
    assert answer.status == 404
    assert as_admin.post(DELETE, {"alias": "old-name"}).status_code == 404


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("", "This field is required."),
        ("two words", "An alias is one word: letters, digits,"),
        ("x/../y", "without spaces or slashes."),
        ("/chat", "without spaces or slashes."),
        ("chat?", "without spaces or slashes."),
        ("-chat", "without spaces or slashes."),
        ("taken", "The alias “taken” exists already"),
        ("TAKEN", "The alias “taken” exists already"),
        (wide("taken"), "The alias “taken” exists already"),  # full-width: NFKC makes it "taken"
        (wide("T") + "aken", "The alias “taken” exists already"),
        ("ENDPOINT", "An endpoint already has this name."),
        ("ENDPOINT-UPPER", "An endpoint already has this name."),
        ("ITSELF", "This is already the endpoint&#x27;s name: no alias needed."),
    ],
)
def test_refused_aliases_say_why(as_admin, gw_endpoint, other_endpoint, alias, message):
    ModelAlias.objects.create(alias="taken", endpoint=gw_endpoint)
    alias = {
        "ENDPOINT": other_endpoint.name,
        "ENDPOINT-UPPER": other_endpoint.name.upper(),
        "ITSELF": gw_endpoint.name,  # it was listed twice in /v1/models
    }.get(alias, alias)
    page = as_admin.post(ALIASES, {"alias": alias, "endpoint": gw_endpoint.pk})
    assert page.status_code == 400
    assert message in page.content.decode()
    assert ModelAlias.objects.count() == 1


def test_aliases_page_in_vietnamese(as_admin, gw_endpoint):
    ModelAlias.objects.create(alias="chat-default", endpoint=gw_endpoint)
    as_admin.cookies["idash_language"] = "vi"
    page = as_admin.get(ALIASES).content.decode()
    assert "Bí danh model" in page and "Thêm bí danh" in page


def test_an_alias_is_stored_in_nfkc_and_answers_in_any_case(as_admin, member, gw_endpoint):
    """A full-width `chat.v2` is stored as `chat.v2`; a caller sending `CHAT.V2` or the
    full-width form reaches it, as no other alias can differ from it only by case or width."""
    made = as_admin.post(ALIASES, {"alias": f" {wide('chat')}.v2 ", "endpoint": gw_endpoint.pk})
    assert made.status_code == 302
    assert ModelAlias.objects.get().alias == "chat.v2"
    key = make_key(member).secret
    for model in ("chat.v2", "CHAT.V2", wide("chat") + ".v2"):
        answer = call("POST", "/v1/chat/completions", key=key, body=chat_body(model))
        assert answer.status == 200, (model, answer.body)


def test_the_service_refuses_what_the_form_refuses(gw_endpoint):
    """The service (and the admin, through the model's clean) refuses the same aliases."""
    from django.core.exceptions import ValidationError

    from gateway import services

    services.model_alias_set(endpoint=gw_endpoint, alias="chat")
    for alias in ("CHAT", wide("chat"), "x/../y", "a b"):
        with pytest.raises(ValidationError) as refused:
            services.model_alias_set(endpoint=gw_endpoint, alias=alias)
        assert "alias" in refused.value.message_dict
    assert list(ModelAlias.objects.values_list("alias", flat=True)) == ["chat"]


def test_an_endpoint_name_matches_regardless_of_case(gw_endpoint, member_key):
    """ "Chat-Default" found the alias, "Demo-Endpoint" not the endpoint "demo-endpoint"."""
    for model in (gw_endpoint.name.upper(), gw_endpoint.name.title()):
        answer = call("POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(model))
        assert answer.status == 200, answer.body
        assert call("GET", f"/v1/models/{model}", key=member_key.secret).status == 200


def test_a_vietnamese_alias_is_one_name_in_any_case_on_every_database(gw_endpoint, member_key):
    """SQLite folds ASCII letters only: `MÔ-HÌNH` missed `mô-hình`, and both could be saved
    (found by a breaker under make run's SQLite). Run on PostgreSQL and SQLite alike."""
    from django.core.exceptions import ValidationError

    from gateway import services

    services.model_alias_set(endpoint=gw_endpoint, alias="mô-hình")
    for model in ("mô-hình", "MÔ-HÌNH", "Mô-Hình"):
        routes.forget_all()
        answer = call("POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(model))
        assert answer.status == 200, (model, answer.body)
    with pytest.raises(ValidationError, match="differ only in case"):
        services.model_alias_set(endpoint=gw_endpoint, alias="MÔ-HÌNH")
    assert list(ModelAlias.objects.values_list("alias", flat=True)) == ["mô-hình"]
