"""Deploy, action and reconcile tasks (endpoints): thin wrappers around the services."""

from __future__ import annotations

import random

from celery import shared_task

from endpoints import reconciler
from endpoints.clients.errors import RateLimited, Unavailable
from endpoints.platform_errors import error_text
from endpoints.services import actions, deployments


# acks_late: the deploy is idempotent (a claim by compare-and-swap, a look-up by name before any
# create, adoption after a 409); tests/endpoints/test_worker_killed.py kills a worker mid-deploy.
@shared_task(name="endpoints.deploy_endpoint", ignore_result=True, acks_late=True)
def deploy_endpoint(endpoint_id: int) -> str:
    return deployments.endpoint_deploy(endpoint_id=endpoint_id)


@shared_task(name="endpoints.poll_endpoints", ignore_result=True)
def poll_endpoints() -> dict:
    return reconciler.endpoints_poll()


# Not acks_late: a stop or a delete sent twice is harmless, but a scale sent twice after a crash
# could undo a newer one. Transient platform errors are retried with backoff and jitter, never
# sooner than the platform's Retry-After; after the last retry the request is given up in words
# (and a lost task by the reconciler).
ACTION_RETRIES = 6


# max_retries: Celery's default (3) would end the task with the error on the 4th failure, before
# the give-up below ever ran, leaving the endpoint waiting on an action nobody performs.
@shared_task(
    bind=True, name="endpoints.endpoint_action", ignore_result=True, max_retries=ACTION_RETRIES
)
def endpoint_action(
    self, endpoint_id: int, action: str, scaling: dict, actor_id: int | None
) -> str:
    try:
        return actions.endpoint_perform_action(
            endpoint_id=endpoint_id, action=action, scaling=scaling, actor_id=actor_id
        )
    except (Unavailable, RateLimited) as exc:
        if self.request.retries >= ACTION_RETRIES:
            actions.endpoint_action_gave_up(
                endpoint_id=endpoint_id, action=action, error=error_text(exc)
            )
            return "gave-up"
        backoff = min(60.0, 2.0 * 2**self.request.retries) * random.uniform(0.5, 1.0)
        raise self.retry(exc=exc, countdown=max(backoff, exc.retry_after or 0.0)) from exc
