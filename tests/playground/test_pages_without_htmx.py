"""htmx (52 KB) is sent only to pages that use it: not to the sign-in page, the share pages or the
set-password pages; the console's pages still load it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from playground.models import Conversation
from tests.playground.conftest import chat_data, events
from tests.playground.test_share import make_link

HTMX = "vendor/htmx/htmx.min.js"
pytestmark = pytest.mark.django_db


def test_sign_in_page_has_no_htmx(client):
    html = client.get("/login/").content.decode()
    assert "Sign in" in html and HTMX not in html


def test_console_pages_still_load_htmx(as_member):
    for url in ("/", "/inference/", "/playground/"):
        assert HTMX in as_member.get(url).content.decode(), url


def test_share_pages_have_no_htmx(as_member, endpoint, platform, client):
    answer = as_member.post(reverse("playground:send"), chat_data(endpoint, "Hi", max_tokens=4))
    conversation = Conversation.objects.get(code=events(answer)[0]["conversation"])
    link = make_link(as_member, conversation, endpoint)
    live = client.get(reverse("share:page", args=[link.token]))
    assert live.status_code == 200 and 'class="share-shell"' in live.content.decode()
    assert HTMX not in live.content.decode()
