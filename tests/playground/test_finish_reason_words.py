"""The finish reason "stop" in words: the model reached its end (or a stop sequence), nothing cut
the reply. The API's code stays beside the words, in both languages."""

from __future__ import annotations

import pytest
from django.urls import reverse


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "Reply complete"), ("vi", "Trả lời hoàn tất")],
)
def test_a_reply_the_model_ended_itself_reads_complete(as_member, long_reply, language, words):
    """finish_reason "stop": the model reached its end (or a stop sequence), nothing cut it."""
    as_member.cookies["idash_language"] = language
    page = as_member.get(reverse("playground:conversation", args=[long_reply.code]))
    html = page.content.decode()
    reply = html.split('data-role="assistant"')[1].split("</article>")[0]
    assert f'data-fig="finish_reason">{words} (stop)</dd>' in reply
    # The script writes the same words for a reply that streams in.
    strings = html.split('id="pg-strings"')[1].split(">")[0]
    assert f'data-finish-stop="{words}"' in strings
