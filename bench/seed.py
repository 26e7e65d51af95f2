"""The data a run needs, written through the dashboard's own models and services (Django set up
in this process against the run's database)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from bench.stack import DEPLOY_SECONDS, POLL_ACCOUNTS, Stack

DEMO_MODEL_ID = "mr-5f0c7a51-1d7b-4a57-9d39-0d3c2a6de001"  # localplatform.catalog: demo-chat
DEMO_SERVED_MODEL = "demo-chat"
INSTANCE_TYPE = "g1-standard-4x16-1rtx2080ti"
# The fleet of list-page, poll-cycle and staleness: most endpoints at rest (ACTIVE), one in
# MOVING_EVERY still deploying (CREATING, and it stays so: the run's deploy_hang fault).
MOVING_EVERY = 5


def is_moving(index: int) -> bool:
    """Whether the fleet's endpoint number `index` (0-based) is a deploying one."""
    return index % MOVING_EVERY == MOVING_EVERY - 1


@dataclass
class Seeded:
    username: str
    password: str
    poll_credential_ids: list[int]
    relay_endpoint_code: str
    relay_token: str


def seed_base(stack: Stack) -> Seeded:
    from django.contrib.auth.models import Group, User

    from endpoints.models import Endpoint
    from endpoints.services.credentials import credential_create
    from endpoints.tokens import get_token

    password = secrets.token_urlsafe(18)
    user = User.objects.create_user("bench-member", password=password)
    user.groups.add(Group.objects.get(name="Member"))

    credentials = [
        credential_create(
            kind="service_account",
            label=f"bench-{index + 1}",
            client_id=account.client_id,
            secret=account.client_secret,
        )
        for index, account in enumerate(stack.accounts[:POLL_ACCOUNTS])
    ]
    relay_credential = credentials[0]
    relay = Endpoint.objects.create(
        name="bench-relay",
        region="HCM",
        credential=relay_credential,
        auth_mode=Endpoint.AuthMode.IAM_TOKEN,
        platform_id=stack.seed_endpoint,
        model_id=DEMO_MODEL_ID,
        model_name="demo-chat",
        served_model_name=DEMO_SERVED_MODEL,
        framework="demo",
        instance_type=INSTANCE_TYPE,
        private_access=True,
        status=Endpoint.Status.ACTIVE,
        raw_status="ACTIVE",
        url=f"{stack.platform_url}/v1/{stack.seed_endpoint}",
        next_poll_at=None,
    )
    # The relay's token is in place before anything is timed, as it is on a running site.
    token = get_token(relay_credential)
    return Seeded(
        username=user.username,
        password=password,
        poll_credential_ids=[c.pk for c in credentials],
        relay_endpoint_code=str(relay.code),
        relay_token=token,
    )


def seed_platform_endpoints(stack: Stack, count: int) -> list[str]:
    """The fleet on the local platform: `count` endpoints, number i deploying (CREATING) when
    `is_moving(i)`, else ACTIVE. Their ids, in fleet order."""
    moving = sum(1 for index in range(count) if is_moving(index))
    stable: list[str] = []
    if count - moving:
        with stack.deploys_finish():
            stable = _bulk(stack, count - moving, "bench-on-")
        time.sleep(DEPLOY_SECONDS + 0.2)  # ACTIVE from now on
    deploying = _bulk(stack, moving, "bench-dep-") if moving else []
    stable.reverse()
    deploying.reverse()
    return [(deploying if is_moving(i) else stable).pop() for i in range(count)]


def _bulk(stack: Stack, count: int, prefix: str) -> list[str]:
    created = stack.platform("POST", "/_local/endpoints", {"count": count, "name_prefix": prefix})
    return [ep["id"] for ep in created["listData"]]


def seed_endpoint_rows(platform_ids: list[str], credential_ids: list[int], *, offset: int) -> None:
    """Dashboard rows for the fleet's platform endpoints (number `offset` onwards), spread over
    the credentials, all due: the deploying ones for a poll, the ACTIVE ones for their re-check
    (last checked ENDPOINT_RECHECK_SECONDS ago, as the platform had them)."""
    from django.conf import settings
    from django.utils import timezone

    from endpoints.models import Endpoint

    now = timezone.now()
    recheck = settings.ENDPOINT_RECHECK_SECONDS
    # The local platform's URL for an endpoint is its own address + /v1/<id>.
    base = settings.AIPLATFORM_MANAGEMENT_URL.rstrip("/")
    rows = []
    for index, platform_id in enumerate(platform_ids, start=offset):
        moving = is_moving(index)
        status = Endpoint.Status.CREATING if moving else Endpoint.Status.ACTIVE
        rows.append(
            Endpoint(
                name=f"bench-ep-{index + 1}",
                region="HCM",
                credential_id=credential_ids[index % len(credential_ids)],
                auth_mode=Endpoint.AuthMode.IAM_TOKEN,
                platform_id=platform_id,
                model_id=DEMO_MODEL_ID,
                model_name="demo-chat",
                served_model_name=DEMO_SERVED_MODEL,
                framework="demo",
                instance_type=INSTANCE_TYPE,
                instance_spec={"name": INSTANCE_TYPE, "vcpu": 4, "ram_gb": 16, "vram_gb": 11},
                private_access=True,
                status=status,
                raw_status=str(status),
                current_replicas=0 if moving else 1,
                url="" if moving else f"{base}/v1/{platform_id}",
                checked_at=None if moving else now - timedelta(seconds=recheck),
                next_poll_at=now - timedelta(seconds=1),
                phase_started_at=now if moving else now - timedelta(days=1),
            )
        )
    Endpoint.objects.bulk_create(rows, batch_size=1000)
