"""Where a management route comes from, in the reader's words: the route tables store the codes of
shared/reference/vngcloud-api.md (SEEN, UNVERIFIED) and CAPTURED for a route read from a HAR."""

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

WORDS = {
    "SEEN": _("seen in the docs"),
    "UNVERIFIED": _("unverified guess"),
    "CAPTURED": _("captured from your console"),
}


@register.filter
def route_source(code: str | None) -> str:
    return str(WORDS.get(code or "UNVERIFIED", code))
