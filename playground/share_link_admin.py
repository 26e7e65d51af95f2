"""/playground/links/: every share link, whoever made it, for Admins: filtered by state, searched,
paged, with Revoke. The token never shows (it is the key to the demo)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from playground import selectors, services
from playground.models import ShareLink
from playground.selectors import LinkState
from webapp.roles import AuthenticatedHttpRequest, admin_required

SHARE_LINKS_PER_PAGE = 25


def _get_share_link_for_admin(code: uuid.UUID) -> ShareLink:
    """Any share link, by its code (the views that call this are for Admins only)."""
    link = selectors.share_link_by_code(code)
    if link is None:
        raise Http404
    return link


def _share_links_context(data) -> dict:
    """The Admins' list as `data` (a GET's query, or a revoke's form) filters and pages it."""
    state = data.get("state", LinkState.ALL)
    if state not in LinkState.CHOICES:
        state = LinkState.ALL
    query = data.get("q", "").strip()
    paginator = Paginator(
        selectors.share_links_for_admin(state=state, query=query), SHARE_LINKS_PER_PAGE
    )
    page = paginator.get_page(data.get("page"))
    counts = selectors.share_link_counts(query=query)
    filters = [
        (LinkState.ALL, _("All")),
        (LinkState.ANSWERING, ShareLink.State.ANSWERING.label),
        (LinkState.OPEN, ShareLink.State.OPEN.label),
        (LinkState.PAUSED, ShareLink.State.PAUSED.label),
        (LinkState.ENDED, _("Revoked or expired")),
    ]
    return {
        "links": selectors.share_links_with_makers(page.object_list),
        "page_obj": page,
        "state": state,
        "query": query,
        "filters": [
            {"value": value, "label": label, "count": counts[value]} for value, label in filters
        ],
    }


@require_GET
@admin_required
def share_link_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every share link, whoever made it: its state (paused while its maker may not share) and
    Revoke. Admins only; the token never shows (it is the key to the demo)."""
    return render(request, "playground/share_links.html", _share_links_context(request.GET))


@require_POST
@admin_required
def share_link_admin_revoke(request: AuthenticatedHttpRequest, code: uuid.UUID) -> HttpResponse:
    """Revoke any link; the list comes back as it was filtered and paged."""
    link = _get_share_link_for_admin(code)
    if services.share_link_revoke(link=link, by=request.user):
        messages.success(request, _("Link revoked: it stopped working at once."))
    else:
        messages.info(request, _("This link was already revoked."))
    if request.htmx:
        return render(
            request, "playground/share_links.html#links", _share_links_context(request.POST)
        )
    return redirect("playground:links")
