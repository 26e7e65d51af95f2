"""`check_platform` counts the objects of an answer as the page does: "1 object", "2 objects"."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from tests.platform.test_check_platform import service_account

pytestmark = pytest.mark.django_db


def test_one_object_is_not_one_objects(platform):
    service_account(platform)
    out = io.StringIO()
    call_command("check_platform", "--credential", "local-sa", stdout=out)
    counts = re.findall(r"^ +(\d+) (objects?) in the answer$", out.getvalue(), re.M)
    assert counts, out.getvalue()
    assert all((n == "1") == (noun == "object") for n, noun in counts), counts
