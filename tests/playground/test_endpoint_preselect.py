"""Coming from an endpoint's page, the playground opens with that endpoint picked (?endpoint=);
a code that names nothing the person may chat with falls back to the default, quietly."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from endpoints.models import Endpoint
from tests.playground.conftest import make_endpoint

INDEX = reverse("playground:index")


def picked(page: str) -> str:
    """The code of the endpoint the picker has selected."""
    select = page.split('id="pg-endpoint"')[1].split("</select>")[0]
    found = re.findall(r'<option value="([^"]+)"[^>]*\bselected\b', select)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def second(platform, endpoint) -> Endpoint:
    """Named to sort after demo-endpoint, so that it is never the default."""
    return make_endpoint(
        platform,
        endpoint.credential,
        name="qa-qwen-small",
        served_model_name="qwen-small",
        platform_id=None,
    )


def test_the_endpoint_page_opens_the_playground_on_that_endpoint(as_member, endpoint, second):
    detail = as_member.get(reverse("endpoints:detail", args=[second.code])).content.decode()
    href = f'href="{INDEX}?endpoint={second.code}"'
    assert href in detail
    page = as_member.get(INDEX, {"endpoint": str(second.code)}).content.decode()
    assert picked(page) == str(second.code)
    # The chat's header and its empty heading name it too.
    assert 'qa-qwen-small · <span class="mono">qwen-small</span>' in page
    assert "Chat with qwen-small" in page


def test_without_a_choice_the_first_endpoint_is_picked(as_member, endpoint, second):
    assert picked(as_member.get(INDEX).content.decode()) == str(endpoint.code)


# A fixed unknown UUID: pytest-xdist workers must collect the same test ids.
@pytest.mark.parametrize("code", ["nonsense", "3ef35daf-497f-41e8-9cb8-e301e91e8670", "", "%00"])
def test_an_unknown_code_falls_back_to_the_default(as_member, endpoint, second, code):
    response = as_member.get(INDEX, {"endpoint": code})
    assert response.status_code == 200
    assert picked(response.content.decode()) == str(endpoint.code)


def test_an_endpoint_one_may_not_chat_with_is_not_picked(as_member, endpoint, second):
    second.status = Endpoint.Status.INACTIVE
    second.save(update_fields=["status"])
    page = as_member.get(INDEX, {"endpoint": str(second.code)}).content.decode()
    assert picked(page) == str(endpoint.code)
    assert f'value="{second.code}"' not in page  # not in the picker at all
