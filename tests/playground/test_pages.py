"""The playground pages: restore a saved conversation, rename, delete, the list, view code."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.urls import reverse

from endpoints.models import Endpoint
from playground.models import Conversation, Message
from tests.playground.conftest import chat_data, events

SEND = reverse("playground:send")


def test_index_lists_active_endpoints_with_their_served_model(
    as_member, endpoint, key_endpoint, platform
):
    Endpoint.objects.create(
        name="still-creating",
        credential=endpoint.credential,
        model_id="m",
        instance_type="t",
        status=Endpoint.Status.CREATING,
    )
    page = as_member.get(reverse("playground:index")).content.decode()
    assert f'value="{endpoint.code}"' in page
    assert f'data-model="{endpoint.served_model_name}"' in page
    assert f'value="{key_endpoint.code}"' in page
    assert "still-creating" not in page
    # The platform's ranges drive the sliders and number boxes.
    assert 'name="temperature" min="0" max="2" step="0.01" value="1"' in page
    assert 'name="max_tokens" min="1" max="10000" step="1" value="800"' in page
    assert "1\N{EN DASH}10,000</span>" in page  # words group the number; the input max does not
    assert 'name="past_messages" min="1" max="20" step="1" value="10"' in page
    assert 'name="top_p" min="0" max="1" step="0.01" value="0.7"' in page
    assert 'name="presence_penalty" min="-2" max="2" step="0.01" value="0"' in page
    assert "<script>" not in page and 'style="' not in page


def test_reopening_restores_endpoint_parameters_and_messages(
    as_member, endpoint, key_endpoint, platform
):
    data = chat_data(
        key_endpoint,
        "Remember this",
        system_prompt="Be brief.",
        temperature="0.3",
        max_tokens="12",
        top_p="0.9",
        presence_penalty="-1.5",
        past_messages="4",
        stop="END\nSTOP",
    )
    evs = events(as_member.post(SEND, data))
    conversation = Conversation.objects.get(code=evs[0]["conversation"])

    page = as_member.get(reverse("playground:conversation", args=[conversation.code]))
    html = page.content.decode()
    assert page.status_code == 200
    assert f'<option value="{key_endpoint.code}" data-model="demo-chat" selected>' in html
    assert 'name="temperature" min="0" max="2" step="0.01" value="0.3"' in html
    assert 'name="max_tokens" min="1" max="10000" step="1" value="12"' in html
    assert 'name="top_p" min="0" max="1" step="0.01" value="0.9"' in html
    assert 'value="-1.5"' in html
    assert 'name="past_messages" min="1" max="20" step="1" value="4"' in html
    assert "Be brief.</textarea>" in html
    assert "END\nSTOP</textarea>" in html
    assert "Remember this" in html
    assert conversation.messages.get(role="assistant").content in html
    assert f'name="conversation" value="{conversation.code}"' in html


def test_saved_conversations_list_rename_and_delete(as_member, member, endpoint, platform):
    first = events(as_member.post(SEND, chat_data(endpoint, "Alpha question", max_tokens=3)))
    events(as_member.post(SEND, chat_data(endpoint, "Beta question", max_tokens=3)))
    code = first[0]["conversation"]

    history = as_member.get(reverse("playground:history")).content.decode()
    assert history.index("Beta question") < history.index("Alpha question")  # newest first

    response = as_member.post(reverse("playground:rename", args=[code]), {"title": "  Renamed  "})
    assert response.status_code == 302
    assert Conversation.objects.get(code=code).title == "Renamed"

    # A refused name changes nothing.
    as_member.post(reverse("playground:rename", args=[code]), {"title": "x" * 121})
    as_member.post(reverse("playground:rename", args=[code]), {"title": "   "})
    assert Conversation.objects.get(code=code).title == "Renamed"

    response = as_member.post(reverse("playground:delete", args=[code]))
    assert response.status_code == 302
    assert not Conversation.objects.filter(code=code).exists()
    assert Conversation.objects.filter(owner=member).count() == 1
    assert as_member.get(reverse("playground:conversation", args=[code])).status_code == 404


def test_view_code_shows_the_exact_request_with_a_placeholder(as_member, key_endpoint, platform):
    data = chat_data(
        key_endpoint,
        "Say 'hi' \"twice\"",
        system_prompt="Be brief.",
        temperature="0.25",
        max_tokens="9",
        top_p="0.5",
        presence_penalty="1",
        stop="END",
    )
    response = as_member.post(reverse("playground:code"), data, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "cURL" in html and "Python (requests)" in html and "OpenAI SDK" in html
    assert "$AIPLATFORM_API_KEY" in html
    assert platform.api_key not in html
    for needle in ('"max_tokens": 9', '"temperature": 0.25', '"top_p": 0.5', "&quot;stop&quot;"):
        assert needle in html or needle.replace('"', "&quot;") in html
    assert key_endpoint.url + "/v1/chat/completions" in html
    assert '"role": "system"'.replace('"', "&quot;") in html


def test_view_code_for_an_iam_endpoint_uses_a_token_placeholder(as_member, endpoint, platform):
    html = as_member.post(reverse("playground:code"), chat_data(endpoint, "")).content.decode()
    assert "$AIPLATFORM_IAM_TOKEN" in html
    endpoint.credential.refresh_from_db()
    assert endpoint.credential.access_token not in html


def test_view_code_refuses_parameters_out_of_range(as_member, endpoint, platform):
    response = as_member.post(reverse("playground:code"), chat_data(endpoint, temperature="9"))
    assert response.status_code == 400
    assert "Temperature must be between 0 and 2." in response.content.decode()


@pytest.mark.parametrize("language", ["curl", "requests", "openai"])
def test_view_code_snippets_run_against_the_endpoint(
    as_member, key_endpoint, platform, tmp_path, language
):
    """The snippets are not illustrations: run them, with the key in the environment."""
    from playground import codegen, relay

    question = 'It\'s "quoted": what is an endpoint?'
    data = chat_data(key_endpoint, question, max_tokens="6", stop="zzz", temperature="0")
    from playground.forms import ChatForm

    form = ChatForm(data)
    assert form.is_valid(), form.errors
    payload = relay.build_payload(
        endpoint=key_endpoint,
        system_prompt="Answer in English.",
        history=[],
        message=form.cleaned_data["message"],
        params=form.params(),
    )
    snippet = next(s for s in codegen.snippets(key_endpoint, payload) if s.key == language)
    env = {**os.environ, "AIPLATFORM_API_KEY": platform.api_key}
    if language == "curl":
        command = ["bash", "-c", snippet.code]
    else:
        script = tmp_path / "snippet.py"
        script.write_text(snippet.code)
        command = [sys.executable, str(script)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    if language == "curl":
        assert '"finish_reason":"length"' in result.stdout.replace(" ", "")
        assert "data: [DONE]" in result.stdout
    else:
        assert "completion_tokens" in result.stdout
        assert "6" in result.stdout.split("completion_tokens")[1][:5]


def test_the_playground_speaks_vietnamese(as_member, endpoint, platform, settings):
    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    html = as_member.get(reverse("playground:index")).content.decode()
    assert "Dùng thử các model để xem chúng hoạt động ra sao." in html
    assert "Tên model được phục vụ" in html
    assert "Số token tối đa" in html
    response = as_member.post(SEND, chat_data(endpoint, temperature="5"))
    assert (
        "Độ sáng tạo (temperature) phải nằm trong khoảng từ 0 đến 2."
        in response.json()["error"]["message"]
    )


def test_reopening_a_conversation_whose_endpoint_stopped_says_so(as_member, endpoint, platform):
    evs = events(as_member.post(SEND, chat_data(endpoint, "Before it stopped", max_tokens=3)))
    Endpoint.objects.filter(pk=endpoint.pk).update(status=Endpoint.Status.INACTIVE)
    html = as_member.get(
        reverse("playground:conversation", args=[evs[0]["conversation"]])
    ).content.decode()
    assert "This conversation used the endpoint demo-endpoint, which is INACTIVE now" in html
    assert f'value="{endpoint.code}"' not in html  # not offered any more
    assert "Before it stopped" in html  # the conversation itself is all there


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "Stopped before the model answered"), ("vi", "Đã dừng trước khi model trả lời")],
)
def test_a_reply_stopped_before_a_word_says_so_instead_of_an_empty_bubble(
    as_member, endpoint, platform, settings, language, words
):
    evs = events(as_member.post(SEND, chat_data(endpoint, "Wait", max_tokens=3)))
    reply = Message.objects.get(role=Message.Role.ASSISTANT)
    Message.objects.filter(pk=reply.pk).update(content="", finish_reason=Message.STOPPED)
    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    url = reverse("playground:conversation", args=[evs[0]["conversation"]])
    html = as_member.get(url).content.decode()
    # Once in the reply, once in the shapes the script clones for live replies.
    assert html.count(words) == 2
    assert '<div class="pg-bubble" data-content hidden></div>' in html
    # A reply stopped after some words shows them, as before.
    Message.objects.filter(pk=reply.pk).update(content="Some words")
    html = as_member.get(url).content.decode()
    assert html.count(words) == 1
    assert '<div class="pg-bubble" data-content>Some words</div>' in html


def test_the_page_works_with_no_active_endpoint(as_member, db):
    html = as_member.get(reverse("playground:index")).content.decode()
    assert "No endpoint is ACTIVE, so there is nothing to chat with yet." in html
    assert "<option" not in html.split('id="pg-endpoint"')[1].split("</select>")[0]
    compare = as_member.get(reverse("playground:compare")).content.decode()
    assert "nothing to compare yet" in compare
