"""What must be unique among endpoints, and only among those not deleted: a platform id (an
endpoint created again on the platform with the id of a deleted one is imported again), and a
name in any case within a service account and region (enforced by the database as well as by the
wizard, and migration 0006 renames existing clashes without losing a row)."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from endpoints import reconciler
from endpoints.clients.aiplatform import InstanceType, RegistryModel
from endpoints.models import Endpoint
from endpoints.services import actions
from endpoints.services.deployments import EndpointNameTaken, endpoint_create
from endpoints.tasks import deployments as tasks
from endpoints.views.wizard import SESSION_KEY
from tests.endpoints.conftest import DEMO_MODEL, SMALL_GPU, make_endpoint, wait_platform_idle

S = Endpoint.Status


def discovery_due(sa) -> None:
    cache.delete(f"endpoints:discovery:{sa.pk}:HCM")


# ------------------------------------------------------------------------------ platform id
def test_an_endpoint_created_again_with_a_deleted_ones_id_is_imported_again(
    platform, sa, member, monkeypatch
):
    """The local platform's seed comes back with its fixed id after a restart (reset): deleted
    here before, it is imported as a new row, and the deleted row keeps its history."""
    reconciler.endpoints_poll()
    first = Endpoint.objects.get(platform_id=platform.seed_endpoint_id)
    assert first.status == S.ACTIVE

    # A person deletes it in the dashboard; the platform deletes it; the reconciler sees it gone.
    monkeypatch.setattr(tasks.endpoint_action, "delay", lambda *args, **kwargs: None)
    actions.endpoint_request_action(endpoint=first, action="delete", user=member)
    actions.endpoint_perform_action(
        endpoint_id=first.pk, action="delete", scaling={}, actor_id=member.pk
    )
    wait_platform_idle(platform, gone=platform.seed_endpoint_id)
    Endpoint.objects.filter(pk=first.pk).update(next_poll_at=timezone.now())
    reconciler.endpoints_poll()
    first.refresh_from_db()
    assert first.status == S.DELETED and first.platform_id == platform.seed_endpoint_id

    platform.reset()  # the platform restarts: the same endpoint id is listed again
    discovery_due(sa)
    stats = reconciler.endpoints_poll()
    assert stats["imported"] == 1
    again = Endpoint.objects.exclude(pk=first.pk).get(platform_id=platform.seed_endpoint_id)
    assert again.status == S.ACTIVE and again.name == first.name
    assert [e.code for e in again.events.all()] == ["imported"]
    first.refresh_from_db()
    assert first.status == S.DELETED and first.events.count() > 1  # its history is kept

    discovery_due(sa)
    reconciler.endpoints_poll()  # and only once
    assert Endpoint.objects.filter(platform_id=platform.seed_endpoint_id).count() == 2


def test_two_live_rows_never_share_a_platform_id(sa):
    make_endpoint(sa, "one", platform_id="me-shared", status=S.ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_endpoint(sa, "two", platform_id="me-shared", status=S.ACTIVE)
    make_endpoint(sa, "gone", platform_id="me-shared", status=S.DELETED)  # history: allowed


# ------------------------------------------------------------------------------ names
def test_the_database_refuses_a_name_taken_in_another_case(sa, api_key):
    make_endpoint(sa, "Team-Chat")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_endpoint(sa, "team-chat")
    # Names are scoped as the wizard scopes them: another region, another service account, or a
    # deleted endpoint do not take a name.
    make_endpoint(sa, "TEAM-CHAT", region="HAN")
    make_endpoint(api_key, "team-CHAT")
    make_endpoint(sa, "old-name", status=S.DELETED)
    make_endpoint(sa, "OLD-NAME")


def test_endpoint_create_says_the_name_is_taken_whatever_its_case(sa, member, monkeypatch):
    monkeypatch.setattr(tasks.deploy_endpoint, "delay", lambda *args, **kwargs: None)
    make_endpoint(sa, "Team-Chat")
    with pytest.raises(EndpointNameTaken):
        endpoint_create(
            user=member,
            credential=sa,
            access_credential=None,
            name="TEAM-chat",
            region="HCM",
            model=RegistryModel(DEMO_MODEL, "demo-chat", "demo", "demo-chat", 0.1),
            instance=InstanceType(SMALL_GPU, SMALL_GPU, 4, 16, "RTX 2080 Ti", 1, 11, None),
            min_replicas=1,
            max_replicas=1,
            autoscaling={},
            private_access=False,
            idempotency_key=uuid.uuid4(),
        )
    assert list(Endpoint.objects.values_list("name", flat=True)) == ["Team-Chat"]


@pytest.mark.parametrize(
    ("language", "flash", "field_error"),
    [
        (
            "en",
            "That name was taken a moment ago. Choose another name.",
            "“race-chat” already exists in HCM, and names are compared whatever their case.",
        ),
        (
            "vi",
            "Tên này vừa có người dùng. Hãy chọn tên khác.",
            "Đã có “race-chat” tại HCM, và tên được so sánh không phân biệt chữ hoa, chữ thường.",
        ),
    ],
)
def test_a_name_taken_in_another_case_during_create_is_told_in_words(
    platform, sa, as_member, settings, monkeypatch, language, flash, field_error
):
    """Two people create `Race-Chat` and `race-chat` at the same moment: both pass the wizard's
    checks, the database lets one in, and the other is told why, in the reader's language."""
    from endpoints.views.wizard import review
    from tests.endpoints.test_wizard import walk

    monkeypatch.setattr(tasks.deploy_endpoint, "delay", lambda *args, **kwargs: None)
    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    key = walk(as_member, sa, name="Race-Chat")
    real = review.endpoint_create

    def somebody_else_first(**kwargs):
        make_endpoint(sa, "race-chat")  # after this request's checks, before its insert
        return real(**kwargs)

    monkeypatch.setattr(review, "endpoint_create", somebody_else_first)
    r = as_member.post("/inference/create/review/", {"idempotency_key": key}, follow=True)
    page = r.content.decode()
    assert r.redirect_chain[-1][0] == "/inference/create/basics/?check=1"
    assert flash in page and field_error in page
    assert list(Endpoint.objects.values_list("name", flat=True)) == ["race-chat"]
    assert as_member.session[SESSION_KEY]["key"] == key  # nothing typed was lost


# ------------------------------------------------------------------------------ migration 0006
@pytest.mark.django_db(transaction=True)
def test_migration_renames_case_clashes_and_loses_nothing(sa):
    """Rows that clash by case before 0006 all survive it: the oldest keeps its name, the others
    get a free `-2`, `-3`, ... with an event, and nothing else of theirs changes."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("endpoints", "0005_endpoint_status_source")])
    try:
        old = executor.loader.project_state([("endpoints", "0005_endpoint_status_source")]).apps
        Old = old.get_model("endpoints", "Endpoint")

        def row(name: str, **fields):
            return Old.objects.create(
                name=name,
                region=fields.pop("region", "HCM"),
                credential_id=sa.pk,
                model_id=DEMO_MODEL,
                instance_type=SMALL_GPU,
                idempotency_key=uuid.uuid4(),
                **fields,
            )

        chat = row("Chat", status="ACTIVE", platform_id="me-chat-1")
        chat_lower = row("chat", status="ACTIVE", platform_id="me-chat-2")
        chat_upper = row("CHAT", status="INACTIVE", platform_id="me-chat-3")
        taken_suffix = row("chat-2", status="ACTIVE", platform_id="me-chat-4")
        long_a = row("a" * 50, status="ACTIVE")
        long_b = row("A" * 50, status="PENDING")
        elsewhere = row("CHAT", region="HAN", status="ACTIVE")
        deleted = row("cHaT", status="DELETED", platform_id="me-chat-old")
        before = {
            r["pk"]: r for r in Old.objects.values("pk", "platform_id", "status", "credential_id")
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    names = dict(Endpoint.objects.values_list("pk", "name"))
    assert names == {
        chat.pk: "Chat",
        chat_lower.pk: "chat-3",  # "chat-2" is taken by another endpoint
        chat_upper.pk: "CHAT-4",
        taken_suffix.pk: "chat-2",
        long_a.pk: "a" * 50,
        long_b.pk: "A" * 48 + "-2",
        elsewhere.pk: "CHAT",
        deleted.pk: "cHaT",
    }
    # Nothing lost, nothing duplicated, nothing else changed.
    after = {
        r["pk"]: r for r in Endpoint.objects.values("pk", "platform_id", "status", "credential_id")
    }
    assert after == before
    renamed = Endpoint.objects.get(pk=chat_upper.pk).events.get()
    assert renamed.code == "renamed" and renamed.params == {"old": "CHAT", "new": "CHAT-4"}
    assert renamed.from_status == renamed.to_status == "INACTIVE"
    assert "Renamed from CHAT to CHAT-4" in renamed.message()
    assert not Endpoint.objects.get(pk=chat.pk).events.exists()
