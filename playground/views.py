"""The playground pages: chat, saved conversations, view code, share links and compare.

Members and Admins only (Viewers read shared transcripts through /share/). The send views answer
a stream of NDJSON events (see `playground.relay`) or, when nothing could be sent, JSON with
the reason and an HTTP status that says it.
"""

from __future__ import annotations

import time
import uuid
from functools import partial

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from endpoints.clients.errors import PlatformError
from endpoints.models import Endpoint
from playground import codegen, failures, params, relay, selectors, services, writing
from playground.forms import (
    ChatForm,
    ParamsForm,
    RenameForm,
    SettingsForm,
    ShareForm,
)
from playground.models import Conversation, Message, ShareLink
from playground.param_fields import param_rows, stop_checks
from webapp.roles import AuthenticatedHttpRequest, member_required


def _get_conversation_for_user(request: AuthenticatedHttpRequest, code) -> Conversation:
    """The signed-in person's own conversation; anyone else's is a 404 (no hint it exists)."""
    return get_object_or_404(
        Conversation.objects.select_related("endpoint"), code=code, owner=request.user
    )


def _retry_refused(conversation: Conversation | None, data: dict) -> JsonResponse | None:
    """Why this Retry may not replace the conversation's last exchange (409), or None.

    A Retry names the reply it was shown beside (`retry_of`): one that is no longer the last
    (the conversation went on, in another tab) is refused, as is a reply still being written
    elsewhere (playground.writing) unless this page read that stream itself (`retry_own`). A
    reply named so may also be one the page saw stop (its connection was lost).
    """

    def refuse(message: str) -> JsonResponse:
        return JsonResponse({"error": {"message": message, "retry": False}}, status=409)

    last = selectors.last_exchange(conversation) if conversation else None
    reply = last[1] if last else None
    target = data["retry_of"]
    if last is None or (target is not None and (reply is None or reply.pk != target)):
        return refuse(went_on_message() if last is not None else nothing_to_retry_message())
    # A reply that ended well is not asked again; one the page saw stop (its connection was
    # lost, and the server saved what it had as stopped) is, when the page names it.
    named_and_stopped = (
        target is not None and reply is not None and reply.finish_reason == Message.STOPPED
    )
    if reply is not None and not reply.failed and not named_and_stopped:
        return refuse(nothing_to_retry_message())
    if (
        reply is not None
        and reply.finish_reason == Message.INTERRUPTED
        and not reply.error_code
        and not data["retry_own"]
        and writing.being_written(reply.pk)
    ):
        return refuse(still_being_written_message())
    return None


def nothing_to_retry_message() -> str:
    return _("The last reply did not fail: there is nothing to retry.")


def went_on_message() -> str:
    return _(
        "This conversation went on since this reply (in another tab or window): reload to see "
        "it, then send again."
    )


def conversation_gone_message() -> str:
    return _(
        "This conversation no longer exists (it was deleted, perhaps in another tab). Start a "
        "new chat to go on; your message is back in the box."
    )


def still_being_written_message() -> str:
    return _(
        "This reply is still being written, in another tab or window: wait for it to end, then "
        "reload. If nothing is writing it any more, Retry works again within a minute."
    )


def form_errors(form) -> JsonResponse:
    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
    first = next(iter(errors.values()))[0] if errors else _("The request was refused.")
    return JsonResponse({"error": {"message": first, "fields": errors, "retry": True}}, status=400)


def _history_context(request: AuthenticatedHttpRequest, *, current_code: str, query: str) -> dict:
    conversations = list(selectors.conversation_list_for_user(request.user, query=query))
    return {
        "history_groups": selectors.conversations_by_age(conversations),
        "history_query": query.strip(),
        "current_code": current_code,
    }


def _requested_endpoint(endpoints: list[Endpoint], raw: str) -> Endpoint | None:
    """The endpoint `?endpoint=<code>` names, if the playground may call it; None otherwise (an
    old bookmark, a paused endpoint, a typo: the page opens on the default, without a word)."""
    try:
        code = uuid.UUID(raw)
    except ValueError:
        return None
    return next((ep for ep in endpoints if ep.code == code), None)


def _page_context(
    request: AuthenticatedHttpRequest, conversation: Conversation | None, *, wanted: str = ""
) -> dict:
    endpoints = list(selectors.playground_endpoints())
    initial = params.defaults()
    selected = _requested_endpoint(endpoints, wanted) or (endpoints[0] if endpoints else None)
    if conversation is not None:
        initial.update(conversation.params or {})
        initial["system_prompt"] = conversation.system_prompt
        if conversation.endpoint and conversation.endpoint in endpoints:
            selected = conversation.endpoint
    initial["stop"] = "\n".join(initial.get("stop") or [])
    settings_form = SettingsForm(initial=initial, endpoints=selectors.playground_endpoints())
    return {
        "conversation": conversation,
        "endpoints": endpoints,
        "selected_endpoint": selected,
        "unavailable_endpoint": (
            conversation.endpoint
            if conversation is not None
            and conversation.endpoint is not None
            and conversation.endpoint not in endpoints
            else None
        ),
        "settings_form": settings_form,
        "param_rows": param_rows(settings_form, initial),
        "values": initial,
        "messages_list": (
            list(selectors.conversation_messages(conversation)) if conversation else []
        ),
        **_history_context(
            request,
            current_code=str(conversation.code) if conversation else "",
            query=request.GET.get("q", ""),
        ),
        "stop_checks": stop_checks(),
        "share_form": ShareForm(),
        "share_links": (
            list(selectors.share_links_for_conversation(conversation)) if conversation else []
        ),
        "message_max_chars": params.message_max_chars(),
    }


@require_GET
@member_required
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A new chat; `?endpoint=<code>` picks the endpoint (the endpoint page's "Try it")."""
    context = _page_context(request, None, wanted=request.GET.get("endpoint", ""))
    return render(request, "playground/playground.html", context)


@require_GET
@member_required
def conversation_detail(request: AuthenticatedHttpRequest, code: uuid.UUID) -> HttpResponse:
    conversation = _get_conversation_for_user(request, code)
    return render(request, "playground/playground.html", _page_context(request, conversation))


@require_GET
@member_required
def conversation_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The saved conversations, searched by `q`; `current` is the one open on the page."""
    return render(
        request,
        "playground/playground.html#history",
        _history_context(
            request,
            current_code=request.GET.get("current", ""),
            query=request.GET.get("q", ""),
        ),
    )


@require_POST
@member_required
def send(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """Relay one message to the endpoint and stream the reply back as it arrives."""
    started = time.perf_counter()
    started_at = timezone.now()
    form = ChatForm(request.POST)
    if not form.is_valid():
        return form_errors(form)
    data = form.cleaned_data
    endpoint = data["endpoint"]
    chat_params = form.params()
    conversation = None
    if data["conversation"]:
        conversation = (
            Conversation.objects.filter(owner=request.user, code=data["conversation"])
            .select_related("endpoint")
            .first()
        )
        if conversation is None:
            # Deleted in another tab (or never this person's): said in the chat, not a 404 page.
            return JsonResponse(
                {"error": {"message": conversation_gone_message(), "retry": False}}, status=404
            )
    replace = None
    if data["retry"]:
        refused = _retry_refused(conversation, data)
        if refused is not None:
            return refused
        user_message, replace = selectors.last_exchange(conversation)  # type: ignore[arg-type,misc]
        text, user_text = user_message.content, None
        history = selectors.conversation_context(
            conversation, chat_params["past_messages"], before=user_message
        )
    else:
        text = user_text = data["message"]
        history = selectors.conversation_context(conversation, chat_params["past_messages"])
    payload = relay.build_payload(
        endpoint=endpoint,
        system_prompt=data["system_prompt"],
        history=history,
        message=text,
        params=chat_params,
    )
    # Stored before anything is sent: the message and a reply marked interrupted until it ends,
    # so the conversation's URL given at the first byte exists whatever happens next.
    conversation, pending = services.exchange_start(
        conversation=conversation,
        owner=request.user,
        endpoint=endpoint,
        system_prompt=data["system_prompt"],
        params=chat_params,
        user_text=user_text,
        replace=replace,
        model=payload["model"],
        at=started_at,
    )

    mark = writing.Mark(pending.pk)

    def record(reply: relay.Reply) -> None:
        try:
            services.exchange_finish(message=pending, reply=reply)
        finally:
            mark.end()

    head = {
        "conversation": str(conversation.code),
        "reply": pending.pk,
        "url": reverse("playground:conversation", args=[conversation.code]),
        "title": conversation.title,
        "model": payload["model"],
    }
    counted = {
        "source": "playground",
        "endpoint_id": endpoint.pk,
        "user_id": request.user.pk,
        "at": time.time(),
    }
    # The start event goes out at once, the request to the endpoint after it: a reply stopped
    # while the endpoint is still waking up is still in a conversation the page knows.
    body = relay.RelayBody(
        None,
        started=started,
        head=head,
        model=payload["model"],
        on_finish=record,
        record=counted,
        opener=partial(relay.open_stream, endpoint, payload),
        on_start=mark.start,
        client_socket=request.META.get("gunicorn.socket"),
    )
    return relay.streaming_response(body)


@require_POST
@member_required
def code(request: AuthenticatedHttpRequest) -> HttpResponse:
    """View code: the request the current settings would send, with a credential placeholder."""
    form = ChatForm(request.POST)
    valid = form.is_valid()
    # An empty draft still shows the request's shape, with a sample message.
    message_errors = form.errors.pop("message", None) if not valid else None
    if form.errors:
        return render(
            request, "playground/playground.html#code", {"code_errors": form.errors}, status=400
        )
    data = form.cleaned_data
    chat_params = form.params()
    conversation = None
    if data.get("conversation"):
        conversation = _get_conversation_for_user(request, data["conversation"])
    history = selectors.conversation_context(conversation, chat_params["past_messages"])
    payload = relay.build_payload(
        endpoint=data["endpoint"],
        system_prompt=data["system_prompt"],
        history=history,
        message=(data.get("message") if not message_errors else "") or _("Hello!"),
        params=chat_params,
    )
    return render(
        request,
        "playground/playground.html#code",
        {"snippets": codegen.snippets(data["endpoint"], payload), "endpoint": data["endpoint"]},
    )


@require_POST
@member_required
def conversation_rename(request: AuthenticatedHttpRequest, code: uuid.UUID) -> HttpResponse:
    conversation = _get_conversation_for_user(request, code)
    form = RenameForm(request.POST)
    if form.is_valid():
        services.conversation_rename(conversation=conversation, title=form.cleaned_data["title"])
        messages.success(request, _("Conversation renamed."))
    else:
        messages.error(request, str(form.errors["title"][0]))
    return redirect("playground:conversation", code=conversation.code)


@require_POST
@member_required
def conversation_delete(request: AuthenticatedHttpRequest, code: uuid.UUID) -> HttpResponse:
    """Delete from the conversation's tools or from the list. From the list (htmx), the list comes
    back; unless it was the conversation open on the page, which then starts a new chat."""
    conversation = _get_conversation_for_user(request, code)
    title = conversation.title
    services.conversation_delete(conversation=conversation)
    messages.success(request, _("Conversation “%(title)s” deleted.") % {"title": title})
    current = request.POST.get("current", "")
    if request.htmx and current != str(code):
        return render(
            request,
            "playground/playground.html#history",
            _history_context(request, current_code=current, query=request.POST.get("q", "")),
        )
    if request.htmx:
        return HttpResponseClientRedirect(reverse("playground:index"))
    return redirect("playground:index")


@require_POST
@member_required
def share_create(request: AuthenticatedHttpRequest, code: uuid.UUID) -> HttpResponse:
    conversation = _get_conversation_for_user(request, code)
    form = ShareForm(request.POST)
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        link = services.share_link_create(
            conversation=conversation,
            created_by=request.user,
            kind=data["kind"],
            public=data["public"],
            expires_in=form.expiry,
            endpoint=data.get("endpoint"),
            system_prompt=data.get("system_prompt") or "",
            params=form.params() if data["kind"] == ShareLink.Kind.LIVE else {},
            rate_per_link=data["rate_per_link"],
            rate_per_visitor=data["rate_per_visitor"],
            show_system_prompt=data["show_system_prompt"],
        )
        messages.success(request, _("Share link made: copy it below."))
        new_token = link.token
        form = ShareForm()
    else:
        status, new_token = 400, None
    context = {
        "conversation": conversation,
        "share_form": form,
        "share_links": list(selectors.share_links_for_conversation(conversation)),
        "new_token": new_token,
    }
    if request.htmx:
        return render(request, "playground/playground.html#shares", context, status=status)
    if status == 400:
        messages.error(request, _("The link was not made: check the form."))
    return redirect("playground:conversation", code=conversation.code)


@require_GET
@member_required
def compare(request: AuthenticatedHttpRequest) -> HttpResponse:
    endpoints = list(selectors.playground_endpoints())
    values = params.defaults()
    form = ParamsForm(initial=values)
    sides = []
    for key, label in (("a", _("Left")), ("b", _("Right"))):
        index = 0 if key == "a" or len(endpoints) < 2 else 1
        sides.append(
            {
                "key": key,
                "label": label,
                "selected": endpoints[index] if endpoints else None,
                # One prompt, no history: "past messages" has nothing to count here.
                "rows": [r for r in param_rows(form, values) if r["name"] != "past_messages"],
            }
        )
    return render(
        request,
        "playground/compare.html",
        {
            "endpoints": endpoints,
            "sides": sides,
            "params_form": form,
            "stop_checks": stop_checks(),
            "message_max_chars": params.message_max_chars(),
        },
    )


@require_POST
@member_required
def compare_send(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """One side of a comparison: the same relay, nothing saved."""
    started = time.perf_counter()
    form = ChatForm(request.POST)
    if not form.is_valid():
        return form_errors(form)
    data = form.cleaned_data
    if not data["message"]:
        return JsonResponse({"error": {"message": _("Type a message first.")}}, status=400)
    payload = relay.build_payload(
        endpoint=data["endpoint"],
        system_prompt=data["system_prompt"],
        history=[],
        message=data["message"],
        params=form.params(),
    )
    counted = {
        "source": "compare",
        "endpoint_id": data["endpoint"].pk,
        "user_id": request.user.pk,
        "at": time.time(),
    }
    try:
        stream = relay.open_stream(data["endpoint"], payload)
    except PlatformError as exc:
        failure = failures.of(exc)
        failed = relay.Reply(model=payload["model"], error=failure)
        relay.count(counted, failed, exc.status_code or 502)
        status, retry = failures.status_of(failure)
        return JsonResponse({"error": {"message": failure.text(), "retry": retry}}, status=status)
    body = relay.RelayBody(
        stream,
        started=started,
        head={"model": payload["model"]},
        model=payload["model"],
        record=counted,
    )
    return relay.streaming_response(body)
