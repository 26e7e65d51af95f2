"""Short relative times, in the reader's language: "5 minutes ago", "in 6 days".

Django's `naturaltime` writes two units ("1 day, 1 hour ago") and its Vietnamese leaves "ago" in
English; a list of conversations or links reads better with one unit and our own words.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

register = template.Library()

JUST_NOW = timedelta(minutes=1)


@register.filter
def ago(value: datetime | None) -> str:
    if value is None:
        return ""
    now = timezone.now()
    if now - value < JUST_NOW:
        return _("just now")
    return _("%(when)s ago") % {"when": timesince(value, now, depth=1)}


@register.filter
def from_now(value: datetime | None) -> str:
    if value is None:
        return ""
    now = timezone.now()
    if value <= now:
        return ago(value)
    if value - now < JUST_NOW:
        return _("in under a minute")
    # Rounded up to the minute: a link made a second ago for a day reads "in 1 day", not
    # "in 23 hours" (timeuntil drops what is left below its unit).
    return _("in %(when)s") % {"when": timeuntil(value + JUST_NOW, now, depth=1)}
