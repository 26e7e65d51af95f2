"""Load tests: start (a Member, one at a time per endpoint, within the caps), stop, read.

The run itself is monitoring.loadrunner on a worker. Caps (settings): at most
MONITORING_LOADTEST_MAX_CONCURRENCY streams, MONITORING_LOADTEST_MAX_SECONDS seconds and
MONITORING_LOADTEST_MAX_TOKENS tokens per reply; at most MONITORING_LOADTEST_MAX_RUNNING tests
run at once across the site (the others wait, queued), so a worker is left for beat's tasks.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from endpoints.models import Endpoint
from monitoring.models import LoadTest

# Why a load test failed (LoadTest.error_code), in the reader's language.
FAILURES = {
    "worker_gone": _lazy("The worker running it stopped answering."),
    "crashed": _lazy("The load test failed: %(exception)s."),
    # Tests that failed before failures were codes: the sentence as it was stored.
    "legacy": _lazy("%(text)s"),
}


def failure_text(code: str, params: dict | None) -> str:
    """The words, or "" for no failure; never raises (a bad row shows its words unfilled)."""
    if not code:
        return ""
    template = FAILURES.get(code)
    if template is None:
        return code
    try:
        return str(template) % (params or {})
    except (KeyError, TypeError, ValueError):
        return str(template).split("%(", 1)[0].rstrip(" :")


# A test still queued or running this long after it should have ended lost its worker.
STALE_GRACE = timedelta(minutes=3)


class LoadTestRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def caps() -> dict[str, int]:
    return {
        "concurrency": settings.MONITORING_LOADTEST_MAX_CONCURRENCY,
        "seconds": settings.MONITORING_LOADTEST_MAX_SECONDS,
        "max_tokens": settings.MONITORING_LOADTEST_MAX_TOKENS,
    }


def steps_for(concurrency: int) -> list[int]:
    """Concurrency doubles from 1 up to the number asked for: 1, 2, 4, 8, 12."""
    levels = []
    level = 1
    while level < concurrency:
        levels.append(level)
        level *= 2
    return [*levels, concurrency]


def _expire_stale(endpoint: Endpoint) -> None:
    now = timezone.now()
    for test in LoadTest.objects.filter(endpoint=endpoint, status__in=LoadTest.ACTIVE):
        began = test.started_at or test.created_at
        if now - began > timedelta(seconds=test.duration_seconds) + STALE_GRACE:
            LoadTest.objects.filter(pk=test.pk, status=test.status).update(
                status=LoadTest.Status.FAILED,
                finished_at=now,
                error_code="worker_gone",
            )


def load_test_start(
    *, endpoint: Endpoint, user, concurrency: int, duration_seconds: int, max_tokens: int
) -> LoadTest:
    """Queue a load test and hand it to a worker once committed. Refused (LoadTestRefused) when
    the endpoint cannot be called, a value is over its cap, or a test of it is under way."""
    from monitoring.tasks import run_load_test_task

    if not endpoint.can_be_called():
        raise LoadTestRefused(
            _("A load test needs an active endpoint; this one is %(status)s.")
            % {"status": endpoint.get_status_display()}
        )
    limits = caps()
    if not (1 <= concurrency <= limits["concurrency"]):
        raise LoadTestRefused(_("Concurrent streams: 1 to %(n)d.") % {"n": limits["concurrency"]})
    if not (1 <= duration_seconds <= limits["seconds"]):
        raise LoadTestRefused(_("Duration: 1 to %(n)d seconds.") % {"n": limits["seconds"]})
    if not (1 <= max_tokens <= limits["max_tokens"]):
        raise LoadTestRefused(_("Max tokens: 1 to %(n)d.") % {"n": limits["max_tokens"]})
    _expire_stale(endpoint)
    test = LoadTest(
        endpoint=endpoint,
        started_by=user,
        concurrency=concurrency,
        duration_seconds=duration_seconds,
        max_tokens=max_tokens,
    )
    test.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            test.save()
    except IntegrityError:
        raise LoadTestRefused(
            _("A load test of this endpoint is already under way: one at a time.")
        ) from None
    queue = settings.MONITORING_LOADTEST_QUEUE
    options = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: run_load_test_task.apply_async((test.pk,), **options))
    return test


def load_test_stop(*, test: LoadTest) -> bool:
    """A queued test ends now; a running one is asked to stop (within a second). False when it
    had already ended."""
    now = timezone.now()
    if LoadTest.objects.filter(pk=test.pk, status=LoadTest.Status.QUEUED).update(
        status=LoadTest.Status.STOPPED, stop_requested=True, finished_at=now
    ):
        return True
    return bool(
        LoadTest.objects.filter(pk=test.pk, status=LoadTest.Status.RUNNING).update(
            stop_requested=True
        )
    )


def latest_for(endpoint: Endpoint) -> LoadTest | None:
    """The endpoint's latest test, a run whose worker was lost shown as failed (not "Running"
    for ever) once its duration and the grace have passed."""
    _expire_stale(endpoint)
    return LoadTest.objects.filter(endpoint=endpoint).order_by("-created_at", "-pk").first()


def as_json(test: LoadTest) -> dict:
    return {
        "id": str(test.code),
        "status": test.status,
        "status_label": test.get_status_display(),
        "active": test.is_active(),
        "concurrency": test.concurrency,
        "duration_seconds": test.duration_seconds,
        "max_tokens": test.max_tokens,
        "steps_planned": steps_for(test.concurrency),
        "created_at": test.created_at.isoformat(),
        "started_at": test.started_at.isoformat() if test.started_at else None,
        "finished_at": test.finished_at.isoformat() if test.finished_at else None,
        "started_by": test.started_by.get_username() if test.started_by else "",
        "steps": test.steps,
        "samples": test.samples,
        "error": failure_text(test.error_code, test.error_params),
    }
