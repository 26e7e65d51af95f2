"""What a call is recorded as: streams cut short are not 200s, tokens the endpoint did not report
are marked estimated, and only streamed calls carry a time to first token."""

from __future__ import annotations

import pytest

from gateway import usage
from gateway.models import UsageRecord
from tests.gateway.conftest import call, chat_body, open_stream

pytestmark = pytest.mark.django_db


def only_record() -> UsageRecord:
    assert usage.drain() == 1
    return UsageRecord.objects.get()


def stream(model: str, key: str, **overrides):
    return call(
        "POST",
        "/v1/chat/completions",
        key=key,
        body=chat_body(model, stream=True, max_tokens=40, **overrides),
    )


@pytest.mark.parametrize(
    "fault", [{"stream_cut_after": 3}, {"stream_truncate_after": 3}, {"stream_error_after": 3}]
)
def test_a_stream_the_endpoint_cuts_is_recorded_as_a_502(gw_endpoint, member_key, platform, fault):
    platform.set_faults(**fault)
    answer = stream(gw_endpoint.name, member_key.secret)
    assert answer.status == 200  # the headers had gone before the cut
    events = answer.events()
    assert "error" in events[-1]
    # One error event: the endpoint's own when it sent one, else the gateway's.
    assert sum("error" in e for e in events) == 1
    row = only_record()
    assert row.status == 502 and row.error
    # No usage came: the tokens are the gateway's estimate, and say so.
    assert row.tokens_estimated and row.completion_tokens >= 3 and row.prompt_tokens >= 1


def test_a_caller_who_goes_away_is_recorded_as_a_499(gw_endpoint, member_key, platform):
    platform.set_faults(token_per_second=50)
    body = open_stream(gw_endpoint.name, member_key.secret)
    body.close()  # what the server does when the caller's socket closes
    row = only_record()
    assert row.status == 499
    assert row.error == "The caller went away before the end of the answer."
    assert row.tokens_estimated


def test_reported_usage_is_recorded_as_counted(gw_endpoint, member_key):
    streamed = stream(gw_endpoint.name, member_key.secret)
    assert streamed.events()[-1] == "[DONE]"
    row = only_record()
    assert row.status == 200 and not row.error and not row.tokens_estimated
    assert row.ttft_ms is not None


def test_a_plain_call_has_no_time_to_first_token(gw_endpoint, member_key):
    answer = call(
        "POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(gw_endpoint.name)
    )
    reported = answer.json()["usage"]
    row = only_record()
    assert row.ttft_ms is None and row.total_ms is not None
    assert (row.prompt_tokens, row.completion_tokens) == (
        reported["prompt_tokens"],
        reported["completion_tokens"],
    )
    assert not row.tokens_estimated


def test_a_request_refused_for_its_body_is_recorded_under_its_endpoint(gw_endpoint, member_key):
    """It was stored with an empty model and endpoint, so the endpoint's monitoring never
    counted it among the refused."""
    body = chat_body(gw_endpoint.name, messages=[{"role": "wizard", "content": "Hi"}])
    answer = call("POST", "/v1/chat/completions", key=member_key.secret, body=body)
    assert answer.status == 400
    row = only_record()
    assert (row.status, row.model, row.endpoint_id) == (400, gw_endpoint.name, gw_endpoint.pk)
