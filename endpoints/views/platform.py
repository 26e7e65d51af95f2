"""The platform's routes, on the Credentials page (Admins): the table in force, the probe of
every read route (`check_platform`), and the import of a console HAR (`import_console_har`).

The uploaded HAR is read in memory (or Django's temporary file for a large one) and never stored;
the routes file it yields holds only methods, paths and names, so it travels back to the browser
in the page and is handed out as a download after being checked again.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from endpoints.har import HarOtherHost, HarRefused, size_text
from endpoints.models import Credential
from endpoints.platform_check import platform_check
from endpoints.route_capture import capture_from_har, route_text
from webapp.platform_routes import OPERATIONS, RoutesFileError, dump_routes, validate_routes
from webapp.roles import AuthenticatedHttpRequest, admin_required

TEMPLATE = "credentials/platform.html"


def _accounts():
    return (
        Credential.objects.filter(kind=Credential.Kind.SERVICE_ACCOUNT)
        .exclude(state=Credential.State.INVALID)
        .defer("secret", "access_token")
    )


def _context(**extra) -> dict:
    routes = settings.AIPLATFORM_ROUTES
    rows = [
        {
            "operation": op,
            "route": route_text(routes[op]),
            "source": routes[op].get("source", "UNVERIFIED"),
            "note": routes[op].get("note", ""),
        }
        for op in OPERATIONS
    ]
    return {
        "routes_file": settings.AIPLATFORM_ROUTES_FILE,
        "management_url": settings.AIPLATFORM_MANAGEMENT_URL,
        "route_rows": rows,
        "sources": sorted(Counter(r["source"] for r in rows).items()),
        "accounts": _accounts(),
        "har_limit": size_text(settings.CONSOLE_HAR_MAX_BYTES),
        **extra,
    }


@require_GET
@admin_required
def platform_routes_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The routes card (loaded after the Credentials page), or its own page without JavaScript."""
    if request.htmx:
        return render(request, f"{TEMPLATE}#card", _context())
    return render(request, TEMPLATE, _context())


@require_POST
@admin_required
def platform_check_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Call every read route once with the chosen service account; the report."""
    try:
        code = uuid.UUID(request.POST.get("account") or "")
    except ValueError:
        raise Http404 from None
    account = get_object_or_404(_accounts(), code=code)
    context = _context(report=platform_check(account), account=account)
    if request.htmx:
        return render(request, f"{TEMPLATE}#check-report", context)
    return render(request, TEMPLATE, context)


def _is_web_address(address: str) -> bool:
    try:
        parts = urlsplit(address)  # ValueError for a host it cannot read (`http://[::1/x`)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@never_cache
@require_POST
@admin_required
def routes_har_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Import an uploaded console HAR: found beside in force, and the routes file to download."""
    upload = request.FILES.get("har")
    if upload is None:
        return render(
            request, TEMPLATE, _context(har_error=_("Choose a .har file to import.")), status=400
        )
    name = (upload.name or "console.har").rsplit("/", 1)[-1][:100]
    address = (request.POST.get("management_url") or "").strip().rstrip("/")
    if address and not _is_web_address(address):
        upload.close()
        error = _("“%(url)s” is not an address of the management API (https://host).") % {
            "url": address[:200]
        }
        return render(
            request, TEMPLATE, _context(har_error=error, har_address=address[:200]), status=400
        )
    try:
        capture = capture_from_har(
            upload, size=upload.size or 0, name=name, management_url=address or None
        )
    except HarOtherHost as exc:
        error = f"{exc} " + _(
            "If the console calls the management API at another address, give it in "
            "“Management API address” and import again. Nothing was kept."
        )
        return render(request, TEMPLATE, _context(har_error=error, har_address=address), status=400)
    except HarRefused as exc:
        return render(
            request,
            TEMPLATE,
            _context(har_error=f"{exc} " + _("Nothing was kept."), har_address=address),
            status=400,
        )
    finally:
        upload.close()
    # The routes file holds paths only: recorded on another host, it needs that host too.
    in_force = settings.AIPLATFORM_MANAGEMENT_URL.rstrip("/")
    other_host = address if address and address.lower() != in_force.lower() else ""
    return render(
        request,
        TEMPLATE,
        _context(
            capture=capture,
            har_name=name,
            routes_json=dump_routes(capture.routes),
            har_other_host=other_host,
        ),
    )


@require_POST
@admin_required
def routes_download_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The routes file the import showed, checked again, as a download."""
    text = request.POST.get("routes") or ""
    try:
        data = json.loads(text)
        validate_routes(data, text=text, name="aiplatform-routes.json")
    except RecursionError:
        return HttpResponse(
            _(
                "The routes file nests its JSON too deeply to be a routes file. Import the HAR "
                "again."
            ),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    except (ValueError, RoutesFileError) as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(dump_routes(data), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="aiplatform-routes.json"'
    return response
