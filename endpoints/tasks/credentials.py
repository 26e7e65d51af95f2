"""Token refresh tasks (credentials): a beat fan-out and one refresh per service account.

The back-off lives on the row (`retry_not_before`, set by the token service from
`consecutive_failures` with jitter) rather than in Celery's own `retry_backoff`: the beat fan-out,
`get_token` in web requests and these retries then all respect the same window, so IAM is never
asked more often than the back-off allows, whoever asks.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from endpoints import tokens
from endpoints.clients.errors import PlatformError
from endpoints.models import Credential
from endpoints.services.credential_checks import api_key_check_if_due
from endpoints.services.credentials import (
    api_key_ids_due_for_check,
    credential_ids_due_for_refresh,
)

logger = logging.getLogger(__name__)


@shared_task(name="endpoints.refresh_tokens", ignore_result=True)
def refresh_tokens() -> int:
    """Beat: enqueue a refresh for every service account whose token passed half its life, and
    a check of every API key not known to work whose retry delay has passed (one beat entry for
    both: each credential's own back-off on the row paces the calls)."""
    due = credential_ids_due_for_refresh()
    for credential_id in due:
        transaction.on_commit(partial(refresh_credential.delay, credential_id))
    keys = api_key_ids_due_for_check()
    for credential_id in keys:
        transaction.on_commit(partial(check_api_key.delay, credential_id))
    return len(due) + len(keys)


@shared_task(name="endpoints.check_api_key", ignore_result=True)
def check_api_key(credential_id: int) -> None:
    """Ask the platform about one API key not known to work (seeded or saved while it was down)."""
    api_key_check_if_due(credential_id)


@shared_task(
    bind=True,
    name="endpoints.refresh_credential",
    ignore_result=True,
    max_retries=None,  # bounded below by CREDENTIAL_RETRY_MAX, read at run time
)
def refresh_credential(self, credential_id: int) -> None:
    """Refresh one credential's token if due; retry transient failures after their back-off."""
    try:
        tokens.refresh_if_due(credential_id)
    except PlatformError as exc:
        # Already written on the row. AUTHENTICATION_FAILED made it invalid: never retried.
        row = (
            Credential.objects.filter(pk=credential_id).values("state", "retry_not_before").first()
        )
        if not row or row["state"] == Credential.State.INVALID or not row["retry_not_before"]:
            return
        if self.request.retries >= settings.CREDENTIAL_RETRY_MAX:
            logger.warning("credential %s: giving retries to the beat from now on", credential_id)
            return
        countdown = max(0.0, (row["retry_not_before"] - timezone.now()).total_seconds())
        raise self.retry(exc=exc, countdown=countdown) from None
