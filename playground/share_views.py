"""/share/<token>/: a read-only transcript, or a live demo page for people without an account.

A link answers while it is neither revoked nor expired (HTTP 410) and while the person who made it
is an active Member (HTTP 403, "paused", until they are one again), checked on every request:
revoking takes effect at the next one. A live link relays to the endpoint it was made with, with
the parameters it was made with, rate limited per link and per visitor in Redis (HTTP 429).
Visitors read plain messages; what went wrong in full, and who made the link, are for the team.
"""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from endpoints.clients.errors import PlatformError
from endpoints.models import Endpoint
from playground import demo_chats, failures, params, ratelimit, relay, selectors, services
from playground.demo_limits import too_long_for_the_model, too_long_response
from playground.forms import ShareChatForm
from playground.models import ShareLink
from playground.views import form_errors
from webapp.roles import AuthenticatedHttpRequest, Role, member_required, role_of


def _get_link(token: str) -> ShareLink:
    link = selectors.share_link_by_token(token)
    if link is None:
        raise Http404
    return link


def _is_team(request: HttpRequest) -> bool:
    """Signed in with a role: may read who made a link."""
    return role_of(request.user) >= Role.VIEWER


def _may_see_details(request: HttpRequest, link: ShareLink) -> bool:
    """The link's owner, its maker, or an Admin: may read why it fails, in full."""
    user = request.user
    if not user.is_authenticated:
        return False
    return user.pk in (link.created_by_id, link.conversation.owner_id) or (
        role_of(user) >= Role.ADMIN
    )


def visitor_error_message() -> str:
    return _("The demo could not answer just now. Try again in a moment.")


def _refusal(request: HttpRequest, link: ShareLink, *, as_json: bool) -> HttpResponse | None:
    """None when the link answers; otherwise why not: gone (410) or paused (403)."""
    if not link.is_usable():
        if link.is_revoked():
            message = _("This link was revoked by its owner and no longer works.")
        else:
            message = _("This link has expired and no longer works.")
        heading, status = _("This link no longer works"), 410
    else:
        paused = link.paused_reason()
        if not paused:
            return None
        heading, status = _("This link is paused"), 403
        if _may_see_details(request, link):
            message = _(
                "%(reason)s It works again once they are a Member again (or revoke it)."
            ) % {"reason": paused}
        else:
            message = _("This link is not available right now.")
    if as_json:
        return JsonResponse({"error": {"message": message, "retry": False}}, status=status)
    return render(
        request,
        "playground/share_gone.html",
        {"link": link, "heading": heading, "message": message, "show_creator": _is_team(request)},
        status=status,
    )


def _live_endpoint(link: ShareLink) -> Endpoint | None:
    endpoint = link.endpoint
    if endpoint is None or not endpoint.can_be_called() or not endpoint.data_plane_url():
        return None
    return endpoint


@require_GET
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    link = _get_link(token)
    refusal = _refusal(request, link, as_json=False)
    if refusal is not None:
        return refusal
    if not link.public:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if role_of(request.user) < Role.VIEWER:
            raise PermissionDenied(_("Your role does not allow this."))
    context = {
        "link": link,
        "title": link.title or link.conversation.title,
        "show_creator": _is_team(request),
        "show_details": _may_see_details(request, link),
    }
    if link.is_live:
        context |= {
            "endpoint": _live_endpoint(link),
            "params": link.params,
            "message_max_chars": params.message_max_chars(),
            "chat_token": demo_chats.new_chat_token(link),
        }
        return render(request, "playground/share_live.html", context)
    context["messages_list"] = selectors.share_transcript(link)
    return render(request, "playground/share_transcript.html", context)


def _max_body_bytes() -> int:
    # A message of the longest length, every character a 4-byte UTF-8 one percent-encoded (12
    # bytes), plus the chat id and the CSRF token.
    return params.message_max_chars() * 12 + 4096


@csrf_exempt  # checked below, once the body's size is known to be sane (see csrf_protect)
@require_POST
def share_send(request: HttpRequest, token: str) -> HttpResponseBase:
    """A visitor's message on a live demo: checked, counted, relayed with the chat so far."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > _max_body_bytes():
        # Before anything reads the body (the CSRF check reads the form too).
        return JsonResponse(
            {"error": {"message": _("The message is too long."), "retry": False}}, status=413
        )
    return _share_send(request, token)


@csrf_protect
def _share_send(request: HttpRequest, token: str) -> HttpResponseBase:
    started = time.perf_counter()
    link = _get_link(token)
    if not link.is_live:
        raise Http404
    refusal = _refusal(request, link, as_json=True)
    if refusal is not None:
        return refusal
    form = ShareChatForm(request.POST, link=link)
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
    # Monitoring counts a refused visitor too (429 limited, 400 refused), not only a relayed one.
    counted = {
        "source": "demo",
        "endpoint_id": endpoint.pk,
        "user_id": link.created_by_id,
        "at": time.time(),
    }
    refusal = _rate_limited(request, link)
    if refusal is not None:
        relay.count(counted, relay.Reply(), refusal.status_code)
        return refusal
    chat, message = form.chat_id, form.cleaned_data["message"]
    assert chat is not None  # the form is refused without a chat id of this link
    payload = relay.build_payload(
        endpoint=endpoint,
        system_prompt=link.system_prompt,
        history=demo_chats.history(link, chat),
        message=message,
        params=link.params,
    )
    try:
        stream = relay.open_stream(endpoint, payload)
    except PlatformError as exc:
        if too_long_for_the_model(exc):  # the visitor's message, not the demo, is at fault
            too_long = relay.Reply(model=payload["model"], error=failures.Failure("too_long"))
            relay.count(counted, too_long, 400)
            return too_long_response()
        failure = failures.of(exc)
        failed = relay.Reply(model=payload["model"], error=failure)
        relay.count(counted, failed, exc.status_code or 502)
        services.share_link_note_error(link=link, error=failure)
        return JsonResponse(
            {"error": {"message": visitor_error_message(), "retry": True}}, status=502
        )

    def keep(reply: relay.Reply) -> None:
        if reply.error:
            services.share_link_note_error(link=link, error=reply.error)
        elif reply.content:
            demo_chats.append(link, chat, question=message, answer=reply.content)

    body = relay.RelayBody(
        stream,
        started=started,
        head={"model": payload["model"]},
        model=payload["model"],
        on_finish=keep,
        public_error=visitor_error_message(),
        record=counted,
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
