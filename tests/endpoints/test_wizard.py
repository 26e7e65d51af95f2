"""The create-endpoint wizard through the Django test client against the local platform."""

from __future__ import annotations

import pytest

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from endpoints.views.wizard import SESSION_KEY
from tests.endpoints.conftest import BIG_GPU, BIG_MODEL, DEMO_MODEL, SMALL_GPU

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    from endpoints.tasks import deployments as tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.deploy_endpoint, "delay", sent.append)
    return sent


def basics(sa, **over):
    return {
        "name": "my-endpoint",
        "region": "HCM",
        "credential": str(sa.code),
        "model_id": DEMO_MODEL,
        **over,
    }


SCALING = {
    "min_replicas": "1",
    "max_replicas": "3",
    "cpu_threshold": "70",
    "ram_threshold": "70",
    "gpu_threshold": "80",
    "latency_threshold_ms": "1000",
    "private_access": "on",
}


def walk(client, sa, *, name="my-endpoint", model=DEMO_MODEL, instance=SMALL_GPU, scaling=None):
    r = client.post("/inference/create/basics/", basics(sa, name=name, model_id=model))
    assert r.status_code == 302, r.content.decode()
    r = client.post("/inference/create/resources/", {"instance_type": instance})
    assert r.status_code == 302, r.content.decode()
    r = client.post("/inference/create/scaling/", scaling or SCALING)
    assert r.status_code == 302, r.content.decode()
    assert r.url == "/inference/create/review/"
    return client.session[SESSION_KEY]["key"]


def error_text(response, field: str) -> str:
    """The text of the inline error element of `field` (as the browser would show it)."""
    import re

    html = response.content.decode()
    match = re.search(rf'id="err-{field}"[^>]*>(.*?)</div>', html, re.S)
    assert match, f"no error element for {field}"
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


def test_the_four_steps_make_one_pending_endpoint_and_enqueue_its_deploy(
    platform, sa, api_key, as_member, member, _no_broker, django_capture_on_commit_callbacks
):
    r = as_member.get("/inference/create/?new=1")
    assert r.status_code == 302 and r.url == "/inference/create/basics/"
    assert as_member.get(r.url).status_code == 200
    scaling = {**SCALING, "access_credential": str(api_key.code)}
    key = walk(as_member, sa, scaling=scaling)
    review = as_member.get("/inference/create/review/").content.decode()
    assert "my-endpoint" in review and key in review
    # Cost: 6,868 VND/h for 1 to 3 replicas, and 730 hours a month.
    assert "6,868 \u2013 20,604" in review and "5,013,640 \u2013 15,040,920" in review
    with django_capture_on_commit_callbacks(execute=True):
        r = as_member.post("/inference/create/review/", {"idempotency_key": key})
    ep = Endpoint.objects.get()
    assert r.status_code == 302 and r.url == f"/inference/{ep.code}/"
    assert ep.status == Endpoint.Status.PENDING and ep.created_by == member
    assert ep.auth_mode == Endpoint.AuthMode.API_KEY and ep.access_credential == api_key
    assert ep.instance_spec["vram_gb"] == 11 and ep.served_model_name == "demo-chat"
    assert ep.autoscaling == {
        "cpu_threshold": 70,
        "ram_threshold": 70,
        "gpu_threshold": 80,
        "latency_threshold_ms": 1000,
    }
    assert _no_broker == [ep.pk]
    assert SESSION_KEY not in as_member.session
    assert ep.events.get().to_status == "PENDING"


def test_double_click_on_create_makes_one_endpoint(
    platform, sa, as_member, _no_broker, django_capture_on_commit_callbacks
):
    key = walk(as_member, sa)
    with django_capture_on_commit_callbacks(execute=True):
        first = as_member.post("/inference/create/review/", {"idempotency_key": key})
        second = as_member.post("/inference/create/review/", {"idempotency_key": key})
    assert Endpoint.objects.count() == 1
    assert first.url == second.url == f"/inference/{Endpoint.objects.get().code}/"
    assert len(_no_broker) == 1


def test_private_without_api_key_uses_an_iam_token_and_says_so(platform, sa, as_member):
    walk(as_member, sa)
    page = as_member.get("/inference/create/scaling/").content.decode()
    assert 'data-testid="no-api-key"' in page and "needs an AI Platform API key" in page
    key = as_member.session[SESSION_KEY]["key"]
    as_member.post("/inference/create/review/", {"idempotency_key": key})
    assert Endpoint.objects.get().auth_mode == Endpoint.AuthMode.IAM_TOKEN


def test_public_endpoint_has_no_auth(platform, sa, api_key, as_member):
    scaling = {**SCALING, "access_credential": str(api_key.code)}
    del scaling["private_access"]
    key = walk(as_member, sa, scaling=scaling)
    as_member.post("/inference/create/review/", {"idempotency_key": key})
    ep = Endpoint.objects.get()
    assert ep.auth_mode == Endpoint.AuthMode.NONE and ep.access_credential is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the endpoint a name."),
        ("has space", "no spaces or other characters"),
        ("bad!name", "no spaces or other characters"),
        ("x" * 51, "At most 50 characters"),
        ("-", "Start with a letter or a digit."),
        ("_hidden", "Start with a letter or a digit."),
        ("demo-endpoint", "already exists in HCM"),  # the seed endpoint, on the platform only
        ("DEMO-ENDPOINT", "“demo-endpoint” already exists in HCM, and names are compared"),
    ],
)
def test_name_rules_inline_and_on_submit(platform, sa, as_member, name, message):
    inline = as_member.post(
        "/inference/create/basics/validate/",
        basics(sa, name=name),
        HTTP_HX_TRIGGER_NAME="name",
        **HX,
    )
    assert inline.status_code == 200 and message in error_text(inline, "name")
    assert 'hx-swap-oob="true"' in inline.content.decode()  # the summary follows along
    submit = as_member.post("/inference/create/basics/", basics(sa, name=name))
    assert submit.status_code == 400 and message in error_text(submit, "name")
    assert 'aria-invalid="true"' in submit.content.decode()
    assert "basics" not in as_member.session[SESSION_KEY]["saved"]


@pytest.mark.parametrize(
    "name",
    [
        # Full-width letters, as an East Asian keyboard types them.
        "\uff4d\uff59\uff0d\uff4d\uff4f\uff44\uff45\uff4c",
        "mô-hình",  # Vietnamese letters
        "-bad name",  # two rules broken: two messages
    ],
)
def test_a_name_with_other_characters_gets_one_message(platform, sa, as_member, name):
    """One message per rule broken: a full-width letter is a letter to its reader, so a name
    starting with one is not told to start with a letter."""
    submit = as_member.post("/inference/create/basics/", basics(sa, name=name))
    assert submit.status_code == 400
    errors = list(submit.context["form"].errors["name"])
    assert "no spaces or other characters" in errors[0]
    assert errors[1:] == (["Start with a letter or a digit."] if name.startswith("-") else [])


def test_a_valid_name_has_no_inline_error_and_updates_the_summary(platform, sa, as_member):
    r = as_member.post(
        "/inference/create/basics/validate/",
        basics(sa, name="fine_name-1"),
        HTTP_HX_TRIGGER_NAME="name",
        **HX,
    )
    assert error_text(r, "name") == ""
    assert 'data-testid="summary-name">fine_name-1<' in r.content.decode()


def test_name_taken_by_a_local_endpoint(platform, sa, as_member):
    from tests.endpoints.conftest import make_endpoint

    make_endpoint(sa, "mine-already")
    r = as_member.post("/inference/create/basics/", basics(sa, name="mine-already"))
    assert r.status_code == 400 and "already exists" in error_text(r, "name")


def test_model_and_credential_must_come_from_the_lists(platform, sa, as_member):
    r = as_member.post("/inference/create/basics/", basics(sa, model_id="mr-nope", credential="x"))
    assert r.status_code == 400
    assert "not in the Model Registry" in error_text(r, "model_id")
    assert "cannot deploy" in error_text(r, "credential")


def test_instance_too_small_for_the_model_is_shown_disabled_and_refused(platform, sa, as_member):
    as_member.post("/inference/create/basics/", basics(sa, model_id=BIG_MODEL))
    page = as_member.get("/inference/create/resources/").content.decode()
    assert "Needs 20 GB of VRAM; this type has 11 GB." in page
    assert (
        f'value="{SMALL_GPU}"  disabled' in page
        or f'value="{SMALL_GPU}" disabled' in page.replace("  ", " ")
    )
    inline = as_member.post(
        "/inference/create/resources/validate/",
        {"instance_type": SMALL_GPU},
        HTTP_HX_TRIGGER_NAME="instance_type",
        **HX,
    )
    assert "too small for this model" in error_text(inline, "instance_type")
    r = as_member.post("/inference/create/resources/", {"instance_type": SMALL_GPU})
    assert r.status_code == 400 and "too small" in error_text(r, "instance_type")
    r = as_member.post("/inference/create/resources/", {"instance_type": BIG_GPU})
    assert r.status_code == 302
    r = as_member.post("/inference/create/resources/", {"instance_type": "g9-made-up"})
    assert r.status_code == 400 and "not offered" in error_text(r, "instance_type")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("min_replicas", "0", "At least 1"),
        ("max_replicas", "11", "At most 10"),
        ("min_replicas", "two", "Whole numbers only"),
        ("cpu_threshold", "5", "At least 10"),
        ("ram_threshold", "95", "At most 90"),
        ("gpu_threshold", "", "from 10 to 90"),
        ("latency_threshold_ms", "99", "At least 100"),
        ("latency_threshold_ms", "60001", "At most 60000"),
    ],
)
def test_scaling_rules_inline_and_on_submit(platform, sa, as_member, field, value, message):
    as_member.post("/inference/create/basics/", basics(sa))
    as_member.post("/inference/create/resources/", {"instance_type": SMALL_GPU})
    data = {**SCALING, field: value}
    inline = as_member.post(
        "/inference/create/scaling/validate/", data, HTTP_HX_TRIGGER_NAME=field, **HX
    )
    assert message in error_text(inline, field)
    r = as_member.post("/inference/create/scaling/", data)
    assert r.status_code == 400 and message in error_text(r, field)


def test_min_above_max_is_refused(platform, sa, as_member):
    as_member.post("/inference/create/basics/", basics(sa))
    as_member.post("/inference/create/resources/", {"instance_type": SMALL_GPU})
    r = as_member.post(
        "/inference/create/scaling/", {**SCALING, "min_replicas": "5", "max_replicas": "2"}
    )
    assert r.status_code == 400 and "must be at least the min (5)" in error_text(r, "max_replicas")
    # The summary puts the field's label before the message, which names no field again (it read
    # "Số lượng bản sao tối đa: Số lượng bản sao tối đa (2) phải…", found by a crawl).
    summary = r.content.decode().split('data-testid="error-summary"', 1)[1]
    assert "Max replica count: It must be at least the min (5), not 2." in summary


def test_back_forward_and_reload_keep_what_was_typed(platform, sa, as_member):
    walk(as_member, sa, name="kept-name")
    # Back from scaling with unsaved edits: the edits stay.
    r = as_member.post("/inference/create/scaling/", {**SCALING, "max_replicas": "7", "_back": "1"})
    assert r.url == "/inference/create/resources/"
    assert f'value="{SMALL_GPU}" checked' in as_member.get(r.url).content.decode()
    assert 'value="kept-name"' in as_member.get("/inference/create/basics/").content.decode()
    assert 'value="7"' in as_member.get("/inference/create/scaling/").content.decode()  # reload
    # The session holds plain values and ids only: never a secret.
    state = str(as_member.session[SESSION_KEY])
    assert sa.secret not in state and "secret" not in state


def test_steps_cannot_be_skipped(platform, sa, as_member):
    as_member.get("/inference/create/?new=1")
    assert as_member.get("/inference/create/review/").url == "/inference/create/basics/"
    assert as_member.get("/inference/create/nope/").status_code == 404


def test_final_post_validates_again_against_the_platform(platform, sa, as_member, platform_api):
    from tests.endpoints.conftest import console_create

    key = walk(as_member, sa, name="race-name")
    console_create(platform_api, "race-name")  # somebody took the name in the console meanwhile
    r = as_member.post("/inference/create/review/", {"idempotency_key": key})
    assert r.status_code == 302 and r.url == "/inference/create/basics/?check=1"
    page = as_member.get(r.url).content.decode()
    assert "already exists in HCM" in page
    assert Endpoint.objects.count() == 0


def test_platform_down_on_create_shows_a_retry_and_loses_nothing(platform, sa, as_member):
    key = walk(as_member, sa)
    platform.set_faults(error_ratio=1.0)
    r = as_member.post("/inference/create/review/", {"idempotency_key": key})
    assert r.status_code == 503
    page = r.content.decode()
    assert "not answering" in page and "Try again" in page
    assert Endpoint.objects.count() == 0
    assert as_member.session[SESSION_KEY]["key"] == key  # everything still there
    platform.set_faults(error_ratio=None)
    r = as_member.post("/inference/create/review/", {"idempotency_key": key})
    assert r.status_code == 302 and Endpoint.objects.count() == 1


def test_refused_service_account_401_is_shown_on_the_basics_step(platform, as_member, db):
    bad = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="wrong-secret",
        client_id=platform.service_account.client_id,
        secret="not-the-secret",
    )
    page = as_member.get("/inference/create/basics/").content.decode()
    assert "refused the credentials of wrong-secret" in page
    r = as_member.post("/inference/create/basics/", basics(bad))
    assert r.status_code == 400 and Endpoint.objects.count() == 0


def test_clone_fills_the_wizard(platform, sa, as_member):
    from tests.endpoints.conftest import make_endpoint

    source = make_endpoint(
        sa, "original", min_replicas=2, max_replicas=4, autoscaling={"cpu_threshold": 40}
    )
    r = as_member.get(f"/inference/create/?clone={source.code}")
    assert r.url == "/inference/create/basics/"
    page = as_member.get(r.url).content.decode()
    assert 'value="original-copy"' in page
    scaling = as_member.get("/inference/create/scaling/")
    assert scaling.status_code == 302  # basics first: the name needs a look
    as_member.post("/inference/create/basics/", basics(sa, name="original-copy"))
    page = as_member.get("/inference/create/scaling/").content.decode()
    assert 'name="min_replicas" value="2"' in page and 'name="cpu_threshold" value="40"' in page


def test_viewer_and_stranger_cannot_use_the_wizard(platform, sa, as_viewer, as_stranger, client):
    for c in (as_viewer, as_stranger):
        assert c.get("/inference/create/basics/").status_code == 403
        assert c.post("/inference/create/basics/", basics(sa)).status_code == 403
        assert c.post("/inference/create/basics/validate/", basics(sa)).status_code == 403
        assert c.post("/inference/create/review/", {"idempotency_key": "x"}).status_code == 403
    r = client.get("/inference/create/basics/")
    assert r.status_code == 302 and "/login/" in r.url
    assert Endpoint.objects.count() == 0


def test_a_platform_400_at_deploy_is_shown_on_the_step_it_belongs_to(platform, sa, as_member):
    """The deploy runs in the background: its refusal is fixed by cloning into the wizard."""
    from endpoints.services import deployments as svc
    from tests.endpoints.conftest import make_endpoint

    ep = make_endpoint(sa, "refused", max_replicas=11)  # no form of ours lets this through
    svc.endpoint_deploy(endpoint_id=ep.pk)
    ep.refresh_from_db()
    assert ep.status == Endpoint.Status.ERROR and ep.refusal_step == "scaling"
    detail = as_member.get(f"/inference/{ep.code}/").content.decode()
    assert f"/inference/create/?clone={ep.code}" in detail and "Fix it in the wizard" in detail
    r = as_member.get(f"/inference/create/?clone={ep.code}", follow=True)
    assert "fix it on the step “Replicas and scaling”" in r.content.decode()
    as_member.post("/inference/create/basics/", basics(sa, name="refused-2"))
    page = as_member.get("/inference/create/scaling/").content.decode()
    assert 'data-testid="refusal"' in page
    assert "Max replica count must be a whole number from 1 to 10" in page
    r = as_member.post("/inference/create/scaling/", {**SCALING, "max_replicas": "11"})
    assert r.status_code == 400 and "At most 10" in error_text(r, "max_replicas")


def test_drafts_keep_only_the_steps_own_fields(platform, sa, as_member):
    as_member.post("/inference/create/basics/", {**basics(sa, name="bad name"), "junk": "x" * 5000})
    draft = as_member.session[SESSION_KEY]["drafts"]["basics"]
    assert "junk" not in draft and draft["name"] == "bad name"


def test_inputs_check_themselves_as_the_user_types(platform, sa, as_member):
    page = as_member.get("/inference/create/basics/").content.decode()
    name_input = (
        page.split('name="name"')[0].rsplit("<input", 1)[1]
        + page.split('name="name"')[1].split(">")[0]
    )
    assert 'hx-post="/inference/create/basics/validate/"' in name_input
    assert 'hx-trigger="input changed delay:400ms"' in name_input
    assert 'hx-target="#err-name"' in name_input
    inline = as_member.post(
        "/inference/create/basics/validate/",
        basics(sa, model_id="mr-nope"),
        HTTP_HX_TRIGGER_NAME="model_id",
        **HX,
    )
    assert "not in the Model Registry" in error_text(inline, "model_id")


@pytest.mark.parametrize("refusal", ["403", "409"])
def test_platform_refusals_at_deploy_come_back_on_the_basics_step(
    platform, sa, as_member, platform_api, refusal
):
    from endpoints.services import deployments as svc
    from tests.endpoints.conftest import console_create, make_endpoint

    if refusal == "403":
        ro = credential_create(
            kind=Credential.Kind.SERVICE_ACCOUNT,
            label="read-only",
            client_id=platform.readonly_account.client_id,
            secret=platform.readonly_account.client_secret,
        )
        ep = make_endpoint(ro, "no-rights")
        words = "AiPlatformFullAccess"
    else:
        ep = make_endpoint(sa, "taken-later")
        console_create(platform_api, "taken-later", model_id=BIG_MODEL, instance_type_id=BIG_GPU)
        words = "already exists on the platform"
    svc.endpoint_deploy(endpoint_id=ep.pk)
    ep.refresh_from_db()
    assert ep.status == Endpoint.Status.ERROR and ep.refusal_step == "basics"
    page = as_member.get(f"/inference/create/?clone={ep.code}", follow=True).content.decode()
    refusal_box = page.split('data-testid="refusal"')[1].split("</div>")[0]
    assert words in refusal_box


def test_deploy_from_the_registry_preselects_the_model(platform, sa, as_member):
    r = as_member.get(f"/inference/create/?model={BIG_MODEL}", follow=True)
    assert f'<option value="{BIG_MODEL}" selected>' in r.content.decode()


def test_a_late_inline_check_does_not_undo_a_submitted_step(platform, sa, as_member, monkeypatch):
    """Two overlapping requests on one session, as the browser makes them: the inline check of the
    name loads the session and waits on the platform; meanwhile the user submits the step. The
    check answers after the submit was saved, and the submitted step survives it."""
    from django.conf import settings
    from django.test import Client

    from endpoints.views.wizard.catalog import Catalog

    cookie = settings.SESSION_COOKIE_NAME
    as_member.get("/inference/create/?new=1")
    other = Client()  # the browser's other connection, with the same session cookie
    other.cookies[cookie] = as_member.cookies[cookie].value
    names_taken = Catalog.names_taken
    submitted = []

    def slow_platform(catalog, code, region):
        if not submitted:  # the check waits on the platform: the step is submitted meanwhile
            submitted.append(None)
            submitted[0] = other.post("/inference/create/basics/", basics(sa))
        return names_taken(catalog, code, region)

    monkeypatch.setattr(Catalog, "names_taken", slow_platform)
    late = as_member.post(
        "/inference/create/basics/validate/",
        basics(sa, name="my-endpoin"),
        HTTP_HX_TRIGGER_NAME="name",
        **HX,
    )
    assert submitted[0].status_code == 302, submitted[0].content.decode()
    assert submitted[0].url == "/inference/create/resources/"
    assert late.status_code == 200 and error_text(late, "name") == ""
    state = as_member.session[SESSION_KEY]
    assert state["saved"]["basics"]["name"] == "my-endpoint"
    assert "basics" not in state["drafts"]
    assert as_member.get("/inference/create/").url == "/inference/create/resources/"
    page = as_member.get("/inference/create/basics/").content.decode()
    assert 'value="my-endpoint"' in page
    assert cookie not in late.cookies  # the inline check saved no session at all


def test_inline_checks_and_pages_never_write_the_session(platform, sa, as_member):
    """Only a submitted step (Next or Back) writes the wizard's state; what only reads does not."""
    from django.conf import settings

    cookie = settings.SESSION_COOKIE_NAME
    before = dict(as_member.session)
    for step, data in [
        ("basics", basics(sa)),
        ("resources", {"instance_type": SMALL_GPU}),
        ("scaling", SCALING),
    ]:
        r = as_member.post(f"/inference/create/{step}/validate/", data, **HX)
        assert r.status_code == 200 and cookie not in r.cookies, step
    for url in ("/inference/create/basics/", "/inference/create/models/?refresh=1"):
        r = as_member.get(url)
        assert r.status_code == 200 and cookie not in r.cookies, url
    assert dict(as_member.session) == before and SESSION_KEY not in before


def error_messages(response, field: str) -> list[str]:
    """Each message of the inline error element of `field`, one per rule broken."""
    import re

    html = response.content.decode()
    match = re.search(rf'id="err-{field}"[^>]*>(.*?)</div>', html, re.S)
    assert match, f"no error element for {field}"
    return re.findall(r"<span>(.*?)</span>", match.group(1))


def test_a_long_name_gets_one_message_and_the_right_one(platform, sa, as_member):
    r = as_member.post("/inference/create/basics/", basics(sa, name="x" * 60))
    assert error_messages(r, "name") == ["At most 50 characters (this one has 60)."]
    # Two rules broken: two messages, each its own line, each true.
    r = as_member.post("/inference/create/basics/", basics(sa, name="a b" * 20))
    assert error_messages(r, "name") == [
        "Use only letters, digits, hyphens (-) and underscores (_): no spaces or other characters.",
        "At most 50 characters (this one has 60).",
    ]


def test_the_name_is_not_cut_silently_it_is_counted(platform, sa, as_member):
    import re

    page = as_member.get("/inference/create/basics/").content.decode()
    name_input = re.search(r'<input[^>]*name="name"[^>]*>', page).group(0)
    assert "maxlength" not in name_input and 'data-max-chars="50"' in name_input
    assert 'data-count-for="id_name"' in page and "{n} too many" in page


def test_names_are_compared_whatever_their_case(platform, sa, as_member, platform_api):
    from tests.endpoints.conftest import console_create, make_endpoint

    make_endpoint(sa, "Team-Chat")
    r = as_member.post("/inference/create/basics/", basics(sa, name="team-chat"))
    assert r.status_code == 400
    assert "“Team-Chat” already exists in HCM" in error_text(r, "name")
    # Taken on the platform in another case after the step was saved: Create checks again.
    key = walk(as_member, sa, name="Race-Name")
    console_create(platform_api, "race-name")
    r = as_member.post("/inference/create/review/", {"idempotency_key": key})
    assert r.url == "/inference/create/basics/?check=1" and Endpoint.objects.count() == 1


def test_a_check_sends_again_the_errors_of_the_other_filled_fields(platform, sa, as_member):
    import re

    as_member.post("/inference/create/basics/", basics(sa))
    as_member.post("/inference/create/resources/", {"instance_type": SMALL_GPU})
    data = {**SCALING, "min_replicas": "5", "max_replicas": "3"}
    r = as_member.post(
        "/inference/create/scaling/validate/", data, HTTP_HX_TRIGGER_NAME="min_replicas", **HX
    )
    body = r.content.decode()
    max_error = re.search(r'<div[^>]*id="err-max_replicas"[^>]*>.*?</div>', body).group(0)
    assert 'hx-swap-oob="true"' in max_error and "at least the min (5)" in max_error
    # The min is lowered: the max's error goes, though the max was not touched.
    data["min_replicas"] = "2"
    body = as_member.post(
        "/inference/create/scaling/validate/", data, HTTP_HX_TRIGGER_NAME="min_replicas", **HX
    ).content.decode()
    assert re.search(r'<div[^>]*id="err-max_replicas"[^>]*hx-swap-oob="true"></div>', body)
    # A field nobody filled is not scolded while another is typed in.
    as_member.get("/inference/create/?new=1")
    body = as_member.post(
        "/inference/create/basics/validate/",
        basics(sa, model_id=""),
        HTTP_HX_TRIGGER_NAME="name",
        **HX,
    ).content.decode()
    assert 'id="err-model_id"' not in body and "Choose a model" not in body


def summary_text(response, testid: str) -> str:
    import re

    html = response.content.decode()
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(dd|strong)>', html, re.S)
    assert match, testid
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_the_summary_never_shows_a_refused_value(platform, sa, as_member):
    as_member.post("/inference/create/basics/", basics(sa))
    as_member.post("/inference/create/resources/", {"instance_type": SMALL_GPU})
    data = {**SCALING, "gpu_threshold": "150", "min_replicas": "two"}
    r = as_member.post(
        "/inference/create/scaling/validate/", data, HTTP_HX_TRIGGER_NAME="gpu_threshold", **HX
    )
    summary = r.content.decode().split('id="wizard-summary"')[1]
    assert "150" not in summary and "two" not in summary
    assert summary_text(r, "summary-autoscaling") == "CPU 70% · RAM 70% · GPU — · 1000 ms"
    assert summary_text(r, "summary-min") == "—"
    assert "The price appears once the replica counts are valid." in summary
    # The same on submit, and for a name.
    r = as_member.post("/inference/create/scaling/", data)
    assert r.status_code == 400 and summary_text(r, "summary-min") == "—"
    r = as_member.post(
        "/inference/create/basics/validate/",
        basics(sa, name="bad name"),
        HTTP_HX_TRIGGER_NAME="name",
        **HX,
    )
    assert summary_text(r, "summary-name") == "—"
    # A refused value typed, then Back: the page shows it, the summary does not.
    as_member.post("/inference/create/scaling/", {**data, "_back": "1"})
    r = as_member.get("/inference/create/scaling/")
    assert 'value="150"' in r.content.decode() and summary_text(r, "summary-min") == "—"
    assert "GPU —" in summary_text(r, "summary-autoscaling")


def test_one_figure_when_min_equals_max(platform, sa, as_member):
    as_member.post("/inference/create/basics/", basics(sa))
    as_member.post("/inference/create/resources/", {"instance_type": SMALL_GPU})
    data = {**SCALING, "min_replicas": "2", "max_replicas": "2"}
    r = as_member.post(
        "/inference/create/scaling/validate/", data, HTTP_HX_TRIGGER_NAME="max_replicas", **HX
    )
    assert summary_text(r, "summary-cost-hour") == "13,736 VND"
    assert summary_text(r, "summary-cost-month") == "10,027,280 VND"
    as_member.post("/inference/create/scaling/", data)
    review = as_member.get("/inference/create/review/").content.decode()
    cost = review.split('data-testid="cost-range"')[1].split("</div>\n  </div>")[0]
    assert "13,736 VND" in cost and "13,736 \u2013" not in cost


def test_each_step_heading_is_its_stepper_label(platform, sa, as_member):
    import re

    walk(as_member, sa)
    for step in ("basics", "resources", "scaling", "review"):
        page = as_member.get(f"/inference/create/{step}/").content.decode()
        heading = re.search(r'data-testid="step-heading">(.*?)</h2>', page, re.S).group(1)
        current = re.search(r'<span aria-current="step">(.*?)</span>', page, re.S).group(1)
        strip = lambda s: " ".join(re.sub(r"<[^>]+>", " ", s).split()[1:])  # noqa: E731
        assert strip(heading) == strip(current), step


def test_threshold_help_speaks_the_readers_language(platform, sa, as_member, settings):
    """The help and the "required" message of a threshold are formatted when shown, not when the
    module is imported (they were English for good on Vietnamese pages)."""
    from tests.endpoints.conftest import make_endpoint

    walk(as_member, sa)
    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    page = as_member.get("/inference/create/scaling/").content.decode()
    assert "Từ 10 đến 90 % (mặc định 80)." in page and "(default" not in page
    r = as_member.post("/inference/create/scaling/", {**SCALING, "gpu_threshold": ""})
    assert "Nhập giá trị từ 10 đến 90." in error_text(r, "gpu_threshold")
    ep = make_endpoint(sa, "vi-scale", status=Endpoint.Status.ACTIVE, platform_id="me-vi")
    page = as_member.get(f"/inference/{ep.code}/scale/").content.decode()
    # Numbers grouped as the reader writes them.
    assert "Từ 100 đến 60.000 ms (mặc định 1.000)." in page
    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = as_member.get(f"/inference/{ep.code}/scale/").content.decode()
    assert "100 to 60,000 ms (default 1,000)." in page
