"""A platform error that reaches Django's error report carries no token or secret."""

from __future__ import annotations

import secrets
import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from endpoints.clients import iam
from endpoints.clients.aiplatform import AiPlatformClient, StaticToken
from endpoints.clients.errors import PlatformError
from endpoints.clients.inference import InferenceClient

# Made at run time: a literal would show up in the report as source context.
TOKEN = f"leaky-{secrets.token_hex(12)}"


def report_of(call) -> str:
    try:
        call()
    except PlatformError:
        reporter = ExceptionReporter(RequestFactory().get("/"), *sys.exc_info())
        return reporter.get_traceback_text() + reporter.get_traceback_html()
    pytest.fail("the call did not fail")


def test_management_error_report_hides_the_bearer_token(settings):
    settings.AIPLATFORM_MANAGEMENT_URL = "http://127.0.0.1:9"  # nothing listens: Unavailable
    client = AiPlatformClient(StaticToken(TOKEN))
    assert TOKEN not in report_of(client.list_regions)


def test_inference_error_report_hides_the_api_key():
    client = InferenceClient(
        base_url="http://127.0.0.1:9/v1/me-x", auth_mode="api_key", credential=TOKEN
    )
    assert TOKEN not in report_of(lambda: client.chat_completion({"messages": []}))


def test_iam_error_report_hides_the_secret(settings):
    report = report_of(
        lambda: iam.mint_token(
            client_id="id", client_secret=TOKEN, token_url="http://127.0.0.1:9/token"
        )
    )
    assert TOKEN not in report
