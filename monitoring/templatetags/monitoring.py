"""`{% monitoring_strings %}`: the words the chart script needs, in the reader's language, as a
JSON data block (not a script: the CSP allows no inline script, and none runs here)."""

from __future__ import annotations

from django import template
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
