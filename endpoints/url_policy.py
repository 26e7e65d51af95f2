"""Which URLs the dashboard will call as an endpoint with an account's credentials.

A connected endpoint is called with the service account's IAM token or a stored API key, on every
re-check and every chat. A URL typed by a person must therefore be one of the platform's own
inference hosts, or the dashboard would hand those secrets to whatever server the URL names (and
probe the private network for whoever typed it). The platform's hosts are those
AIPLATFORM_INFERENCE_URL_TEMPLATE can produce: its scheme, and its host and port with the
`{region}` slot standing for any region (`inference-aiplatform-hcm.api.vngcloud.vn`, SEEN §3.2).
An operator who runs endpoints elsewhere (a gateway of their own in front of the platform) names
those hosts in CONNECT_EXTRA_HOSTS; nothing a person types in the console widens the list.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

_REGION_SLOT = "{region}"
_PLACEHOLDER = "regionslot0"


def _template_origin() -> tuple[str, re.Pattern[str], str]:
    """(scheme, a pattern for the host[:port], the origin as a person reads it)."""
    parts = urlsplit(settings.AIPLATFORM_INFERENCE_URL_TEMPLATE.replace(_REGION_SLOT, _PLACEHOLDER))
    netloc = parts.netloc.lower()
    pattern = re.escape(netloc).replace(_PLACEHOLDER, "[a-z0-9][a-z0-9-]*")
    shown = f"{parts.scheme}://{netloc.replace(_PLACEHOLDER, '<region>')}"
    return parts.scheme, re.compile(pattern), shown


def _netloc(parts) -> str:
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def refusal(url: str) -> str:
    """Why the dashboard will not call `url` as an endpoint, in words; "" when it will."""
    try:
        parts = urlsplit(url.strip())
        netloc = _netloc(parts)
    except ValueError:
        return _("This is not a URL the dashboard can call.")
    if parts.username is not None or parts.password is not None:
        return _("An endpoint URL carries no user name or password.")
    if not parts.hostname:
        return _("This is not a URL the dashboard can call.")
    scheme, pattern, shown = _template_origin()
    if parts.scheme.lower() == scheme and pattern.fullmatch(netloc):
        return ""
    extra = {h.lower() for h in settings.CONNECT_EXTRA_HOSTS}
    if parts.scheme.lower() == "https" and (netloc in extra or (parts.hostname or "") in extra):
        return ""
    return _(
        "Only the platform's endpoints can be connected: their URLs start with %(origin)s. "
        "The dashboard sends your credentials to the endpoint, so it calls no other server "
        "(whoever runs the dashboard's server can allow more hosts with its "
        "CONNECT_EXTRA_HOSTS setting)."
    ) % {"origin": shown}
