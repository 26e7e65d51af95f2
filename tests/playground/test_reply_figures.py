"""The figures under a reply, as the server writes them: numbers in the page's language (as
Django's l10n writes them everywhere else: 1,362.5 in English, 1.362,5 in Vietnamese) and the
finish reason in words, the API's code beside it. playground.js writes the same (see
test_browser_numbers.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse


def figures(page: str) -> dict[str, str]:
    reply = page.split('data-role="assistant"')[1].split("</article>")[0]
    found = {}
    for key in ("ttft_ms", "tokens_per_second", "total_ms", "completion_tokens"):
        found[key] = reply.split(f'data-fig="{key}">')[1].split("</dd>")[0]
    return found


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            {
                "ttft_ms": "1,362 ms",
                "tokens_per_second": "1,083.5",  # 1233 tokens after the first, in 1.138 s
                "total_ms": "2,500 ms",
                "completion_tokens": "1,234",
            },
        ),
        (
            "vi",
            {
                "ttft_ms": "1.362 ms",
                "tokens_per_second": "1.083,5",
                "total_ms": "2.500 ms",
                "completion_tokens": "1.234",
            },
        ),
    ],
)
def test_figures_read_in_the_pages_language(as_member, long_reply, language, expected):
    as_member.cookies["idash_language"] = language
    page = as_member.get(reverse("playground:conversation", args=[long_reply.code]))
    assert figures(page.content.decode()) == expected


def test_the_script_is_given_the_pages_language(as_member, endpoint):
    """playground.js writes figures in the page's language (its <html lang>), never the
    browser's locale; Django's Vietnamese separators are those that language's own."""
    from django.utils import translation
    from django.utils.formats import get_format

    as_member.cookies["idash_language"] = "vi"
    page = as_member.get(reverse("playground:index")).content.decode()
    assert '<html lang="vi">' in page
    with translation.override("vi"):
        assert (get_format("DECIMAL_SEPARATOR"), get_format("THOUSAND_SEPARATOR")) == (",", ".")
