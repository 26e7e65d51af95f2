"""`{% monitoring_strings %}`: the words the chart script needs, in the reader's language, as a
JSON data block (not a script: the CSP allows no inline script, and none runs here)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import json_script
from django.utils.translation import gettext as _

register = template.Library()


def chart_strings() -> dict:
    return {
        "series": {
            "ok": _("Succeeded"),
            "refused": _("Refused (4xx)"),
            "limited": _("Rate limited (429)"),
            "failed": _("Failed (5xx)"),
            "p50": _("TTFT p50"),
            "p95": _("TTFT p95"),
            "speed": _("Output speed"),
            "prompt": _("Tokens in"),
            "completion": _("Tokens out"),
            "average": _("Replicas (average)"),
            "peak": _("Replicas (peak)"),
            "min": _("Min replicas"),
            "max": _("Max replicas"),
            "concurrency": _("Concurrent streams"),
            "in_flight": _("Streams in flight"),
            "replicas": _("Replicas"),
            "throughput": _("Throughput"),
            "stream_speed": _("Per stream"),
            "requests": _("Replies"),
            "errors": _("Errors"),
        },
        "units": {
            "ms": _("ms"),
            "per_minute": _("/ min"),
            "tokens_per_second": _("tokens/s"),
            "seconds": _("s"),
        },
        "time": _("Time"),
        "time_zone": timezone.get_current_timezone_name(),
        "elapsed": _("Elapsed (s)"),
        "no_data": _("No requests in this range yet."),
        "updated": _("Updated at %(time)s; refreshes itself while the page is open."),
        "refresh_failed": _("Could not refresh: showing the last data."),
        "load_test": {
            "queued": _("Queued: waiting for a worker."),
            "running": _(
                "Running: %(streams)s concurrent streams, step %(step)s of %(steps)s, "
                "%(elapsed)s of %(total)s s."
            ),
            "done": _("Done."),
            "stopped": _("Stopped before the end."),
            "failed": _("Failed: %(error)s"),
            "starting": _("Starting…"),
            "stopping": _("Stopping…"),
        },
    }


@register.simple_tag
def monitoring_strings() -> str:
    return json_script(chart_strings(), "monitoring-strings")


@register.simple_tag
def monitoring_refresh() -> str:
    """Seconds between a panel's refreshes (MONITORING_REFRESH_SECONDS); "" keeps the script's
    per-range intervals."""
    seconds = getattr(settings, "MONITORING_REFRESH_SECONDS", 0) or 0
    return f"{seconds:g}" if seconds > 0 else ""


# A day, as the endpoint panel: over 7 days a new key's first calls were a sliver at the right.
KEY_USAGE_DEFAULT_RANGE = "24h"


@register.simple_tag(takes_context=True)
def key_usage(context, keys) -> dict:
    """The Keys page's usage card as the server draws it: the key (`?key=<uuid>`, one of the
    page's own, else the first) and the range (`?range=`, else 24 hours) of the request, so that the
    range links and the key picker work without JavaScript too."""
    from monitoring import metrics, ranges

    request = context.get("request")
    query = request.GET if request is not None else {}
    rng = ranges.RANGES.get(query.get("range") or "", ranges.RANGES[KEY_USAGE_DEFAULT_RANGE])
    keys = list(keys)
    chosen = next((k for k in keys if str(k.code) == query.get("key")), keys[0])
    return {
        "range": rng,
        "ranges": list(ranges.RANGES.values()),
        "key": chosen,
        "key_asked": str(chosen.code) == query.get("key"),
        "data": metrics.key_payload(chosen, rng),
    }
