"""Every page of the URL map, as addresses a browser can visit: the accessibility run (test_axe.py)
walks Django's URL resolver, so a page added to any urls.py is checked without touching the tests.

A route is either a page (a GET that answers HTML for somebody) or an exception named below with
its reason. A route with a parameter the world below cannot fill fails `test_every_route_is_known`
until somebody says how to fill it, or why it is not a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from endpoints.views.wizard import STEPS
from gateway.services import gateway_key_create
from playground.models import Conversation, Message, ShareLink
from playground.services import share_link_create
from tests.endpoints.conftest import make_endpoint
from webapp.people.services import set_password_link_create

# Routes that are not pages, and why the accessibility run does not open them.
NOT_PAGES = {
    "logout": "POST only: signs out and redirects",
    "set_language": "POST only: the language switch in the top bar",
    "healthz": "plain text for load balancers",
    "console-banner": "the signed-in pages' banner, polled: a fragment, checked on every page",
    "favicon.ico": "a redirect to the logo",
    "monitoring:endpoint-metrics": "JSON for the charts",
    "monitoring:load-test": "JSON for the load test card",
    "monitoring:key-metrics": "JSON for the charts",
    "monitoring:team-metrics": "JSON for the charts",
    "monitoring:load-test-start": "POST only (an action on the endpoint page)",
    "monitoring:load-test-stop": "POST only (an action on the endpoint page)",
    "monitoring:overview-figures": "a fragment of the overview, checked there",
    "endpoints:wizard-models": "a fragment of wizard step 1 (the model list), checked there",
    "endpoints:wizard-validate": "POST only: one field's error, swapped into a wizard step",
    "endpoints:status": "the endpoint page's live poll: a fragment, checked on the page",
    "endpoints:delete": "POST only (the confirmation is a dialog on the endpoint page)",
    "endpoints:scale": "POST only (the form is on the endpoint page)",
    "endpoints:action": "POST only: Stop, Start, Retry",
    "credentials:api-keys": "a fragment of the credentials page, checked there",
    "credentials:api-key-create": "POST only (the form is on the credentials page)",
    "credentials:api-key-store": "POST only",
    "credentials:api-key-delete": "POST only",
    "credentials:platform": "a fragment of the credentials page, checked there",
    "credentials:platform-check": "POST only (check_platform from the credentials page)",
    "credentials:routes-har": "POST only (a HAR upload from the credentials page)",
    "credentials:routes-download": "a JSON download",
    "credentials:test": "POST only (Test on a credential's page)",
    "playground:send": "POST only: the streamed reply (NDJSON)",
    "playground:code": "a fragment of the playground (View code), checked there",
    "playground:history": "a fragment of the playground (the saved conversations), checked there",
    "playground:compare_send": "POST only: the streamed replies (NDJSON)",
    "playground:link_revoke": "POST only (Revoke on the share links page)",
    "playground:rename": "POST only (Rename in the playground)",
    "playground:delete": "POST only (Delete in the playground)",
    "playground:share": "POST only (Make link in the playground)",
    "share:send": "POST only: the live demo's streamed reply",
    "share:revoke": "POST only (Revoke on a transcript's page)",
    "gateway:revoke": "POST only (Revoke on the keys page)",
    "gateway:alias-delete": "POST only (Delete on the model aliases page)",
    "people:role": "POST only (the role menu on the people page)",
    "people:link": "POST only: its answer, the one-time link, is checked after Reset password",
    "people:reactivate": "POST only (Reactivate on the people page)",
}
# Django's own admin (/admin/) is Django's templates, not ours: not part of this run.
SKIPPED_NAMESPACES = {"admin"}


@dataclass(frozen=True)
class Route:
    name: str  # namespaced URL name, or the route itself when it has none
    route: str
    params: tuple[str, ...]


@dataclass
class World:
    """One of everything a page can be about, made through the services."""

    endpoint: Endpoint
    credential: Credential
    conversation: Conversation
    share_tokens: list[str]  # a transcript, a live demo, a revoked link
    key_code: str
    person: str  # a username the people pages are about
    password_link: str
    values: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def routes() -> list[Route]:
    """Every named route of the URL map, outside Django's admin."""
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace in SKIPPED_NAMESPACES:
                    continue
                ns = ":".join(filter(None, [namespace, p.namespace or ""]))
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                name = ":".join(filter(None, [namespace, p.name or ""])) if p.name else route
                params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))
                found.append(Route(name=name, route=route, params=params))

    walk(get_resolver().url_patterns, "", "")
    return found


def make_world(platform, owner: User, person: User) -> World:
    sa = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="axe-sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )
    ep = make_endpoint(sa, "axe-endpoint", status=Endpoint.Status.ACTIVE, current_replicas=1)
    chat = Conversation.objects.create(
        owner=owner, title="Greeting", endpoint=ep, model_name="demo-chat"
    )
    Message.objects.create(conversation=chat, role=Message.Role.USER, content="Hello there")
    Message.objects.create(
        conversation=chat,
        role=Message.Role.ASSISTANT,
        content="Hello! How can I help?",
        finish_reason="stop",
        ttft_ms=120,
        total_ms=480,
        prompt_tokens=3,
        completion_tokens=6,
        model_name="demo-chat",
    )
    links = []
    for kind in (ShareLink.Kind.TRANSCRIPT, ShareLink.Kind.LIVE, ShareLink.Kind.TRANSCRIPT):
        links.append(
            share_link_create(
                conversation=chat,
                created_by=owner,
                kind=kind,
                public=True,
                expires_in=timedelta(days=1),
                endpoint=ep,
                system_prompt="",
                params={},
                rate_per_link=30,
                rate_per_visitor=6,
            )
        )
    ShareLink.objects.filter(pk=links[2].pk).update(revoked_at=timezone.now())
    key = gateway_key_create(owner=owner, name="axe-key")
    link = set_password_link_create(person=person, by=owner)
    world = World(
        endpoint=ep,
        credential=sa,
        conversation=chat,
        share_tokens=[lk.token for lk in links],
        key_code=str(key.key.code),
        person=person.get_username(),
        password_link=link.secret,
    )
    # How each parameter is filled, by namespace: a new route under a known namespace with a
    # known parameter is checked without a change here.
    world.values = {
        ("endpoints", "code"): [str(ep.code)],
        ("endpoints", "step"): list(STEPS),
        ("credentials", "code"): [str(sa.code)],
        ("playground", "code"): [str(chat.code)],
        ("share", "token"): world.share_tokens,
        ("gateway", "code"): [world.key_code],
        ("people", "name"): [world.person],
        # A link that works, and one that does not (used, expired or mistyped).
        ("people", "token"): [world.password_link, "no-such-link"],
    }
    return world


@dataclass(frozen=True)
class Visit:
    name: str
    path: str


def visits(world: World) -> list[Visit]:
    """Every page of the URL map with its parameters filled: one visit per value (each wizard
    step, each kind of share link)."""
    out: list[Visit] = []
    for r in routes():
        if r.name in NOT_PAGES:
            continue
        namespace = r.name.rpartition(":")[0]
        choices: list[dict[str, str]] = [{}]
        for param in r.params:
            values = world.values[(namespace, param)]
            choices = [{**c, param: v} for c in choices for v in values]
        for kwargs in choices:
            out.append(Visit(name=r.name, path=reverse(r.name, kwargs=kwargs)))
    return out


def unfillable(world: World) -> list[str]:
    """Routes that are neither exceptions nor fillable from the world."""
    missing = []
    for r in routes():
        if r.name in NOT_PAGES:
            continue
        namespace = r.name.rpartition(":")[0]
        for param in r.params:
            if (namespace, param) not in world.values:
                missing.append(f"{r.route} ({r.name}): no value for <{param}>")
        if ":" not in r.name and not r.name.isidentifier():
            missing.append(f"{r.route}: a page without a URL name")
    return missing
