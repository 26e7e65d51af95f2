"""/share/<token>/: a read-only transcript, or a live demo page for people without an account.

A live link relays to the endpoint it was made with, with the parameters it was made with. It
is refused once revoked or expired (HTTP 410, checked on every request: revoking takes effect at
the next one) and rate limited per link and per visitor in Redis (HTTP 429).
"""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from endpoints.clients.errors import PlatformError
from endpoints.models import Endpoint
from playground import params, ratelimit, relay, selectors, services
from playground.forms import ShareChatForm
from playground.models import ShareLink
from playground.views import form_errors
from webapp.roles import AuthenticatedHttpRequest, Role, member_required, role_of


def _get_link(token: str) -> ShareLink:
    link = selectors.share_link_by_token(token)
    if link is None:
        raise Http404
    return link


def _gone(request: HttpRequest, link: ShareLink, *, as_json: bool) -> HttpResponse:
    if link.is_revoked():
        message = _("This link was revoked by its owner and no longer works.")
    else:
        message = _("This link has expired and no longer works.")
    if as_json:
        return JsonResponse({"error": {"message": message, "retry": False}}, status=410)
    return render(
        request, "playground/share_gone.html", {"link": link, "message": message}, status=410
    )


def _live_endpoint(link: ShareLink) -> Endpoint | None:
    endpoint = link.endpoint
    if endpoint is None or not endpoint.can_be_called() or not endpoint.data_plane_url():
        return None
    return endpoint


@require_GET
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    link = _get_link(token)
    if not link.is_usable():
        return _gone(request, link, as_json=False)
    if not link.public:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if role_of(request.user) < Role.VIEWER:
            raise PermissionDenied(_("Your role does not allow this."))
    context = {"link": link, "conversation": link.conversation}
    if link.is_live:
        context |= {
            "endpoint": _live_endpoint(link),
            "params": link.params,
            "message_max_chars": params.message_max_chars(),
        }
        return render(request, "playground/share_live.html", context)
    context["messages_list"] = list(selectors.conversation_messages(link.conversation))
    return render(request, "playground/share_transcript.html", context)


@require_POST
def share_send(request: HttpRequest, token: str) -> HttpResponse:
    """A visitor's message on a live demo: checked, counted, relayed; nothing is stored."""
    started = time.perf_counter()
    link = _get_link(token)
    if not link.is_live:
        raise Http404
    if not link.is_usable():
        return _gone(request, link, as_json=True)
    form = ShareChatForm(request.POST)
    if not form.is_valid():
        return form_errors(form)
    endpoint = _live_endpoint(link)
    if endpoint is None:
        return JsonResponse(
            {
                "error": {
                    "message": _("The endpoint of this demo is not available right now."),
                    "retry": True,
                }
            },
            status=503,
        )
    refusal = _rate_limited(request, link)
    if refusal is not None:
        return refusal
    chat_params = link.params
    payload = relay.build_payload(
        endpoint=endpoint,
        system_prompt=link.system_prompt,
        history=form.cleaned_data["history"],
        message=form.cleaned_data["message"],
        params=chat_params,
    )
    try:
        stream = relay.open_stream(endpoint, payload)
    except PlatformError as exc:
        return JsonResponse(
            {"error": {"message": relay.describe_error(exc), "retry": True}}, status=502
        )
    body = relay.RelayBody(
        stream, started=started, head={"model": payload["model"]}, model=payload["model"]
    )
    return relay.streaming_response(body)


def _rate_limited(request: HttpRequest, link: ShareLink) -> JsonResponse | None:
    visitor = ratelimit.hit(
        f"visitor:{link.pk}", ratelimit.visitor_id(request), limit=link.rate_per_visitor
    )
    if not visitor.allowed:
        message = _(
            "You have sent %(limit)d messages this minute, the most this demo allows per "
            "visitor. Try again in %(wait)d seconds."
        ) % {"limit": visitor.limit, "wait": visitor.retry_after}
        return _too_many(message, visitor.retry_after)
    whole = ratelimit.hit("link", str(link.pk), limit=link.rate_per_link)
    if not whole.allowed:
        message = _(
            "This demo link has had %(limit)d messages this minute, the most it allows. Try "
            "again in %(wait)d seconds."
        ) % {"limit": whole.limit, "wait": whole.retry_after}
        return _too_many(message, whole.retry_after)
    return None


def _too_many(message: str, retry_after: int) -> JsonResponse:
    response = JsonResponse(
        {"error": {"message": message, "retry": True, "retry_after": retry_after}}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response


@require_POST
@member_required
def share_revoke(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    link = _get_link(token)
    # The conversation's owner, whoever made the link, or an Admin; to others it does not exist.
    if request.user.pk not in (link.conversation.owner_id, link.created_by_id) and (
        role_of(request.user) < Role.ADMIN
    ):
        raise Http404
    if services.share_link_revoke(link=link, by=request.user):
        messages.success(request, _("Link revoked: it stopped working at once."))
    if request.htmx and request.user.pk == link.conversation.owner_id:
        from playground.forms import ShareForm

        return render(
            request,
            "playground/playground.html#shares",
            {
                "conversation": link.conversation,
                "share_form": ShareForm(),
                "share_links": list(selectors.share_links_for_conversation(link.conversation)),
            },
        )
    if request.user.pk == link.conversation.owner_id:
        return redirect("playground:conversation", code=link.conversation.code)
    return redirect("share:page", token=link.token)
