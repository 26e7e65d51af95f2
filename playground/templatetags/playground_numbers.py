"""The page's number format, handed to playground.js: the figures it writes while a reply streams
read as the server writes them after a reload (`intcomma`, `floatformat:"1g"`), in the page's
language, whatever the browser's own locale says."""

from __future__ import annotations

from django import template
from django.utils.formats import get_format

register = template.Library()

NUMBER_FORMATS = ("DECIMAL_SEPARATOR", "THOUSAND_SEPARATOR", "NUMBER_GROUPING")


@register.simple_tag
def number_format(name: str) -> str:
    """DECIMAL_SEPARATOR, THOUSAND_SEPARATOR or NUMBER_GROUPING of the active language."""
    if name not in NUMBER_FORMATS:
        raise template.TemplateSyntaxError(f"number_format: {name!r} is not a number format")
    return str(get_format(name))
