"""The Admins' share links: each filter tab counts the rows it shows, and each row's state reads
as the tab it is listed under. A read-only transcript answers nothing: while it can be read it
is *Open*, a live demo that answers visitors is *Answering*; both are *Paused* while their maker
may not share, and *Revoked* or *Expired* once they end."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.playground.test_history_and_links import row_of

LINKS = reverse("playground:links")
WORDS = {
    "en": {"answering": "Answering", "open": "Open", "paused": "Paused"},
    "vi": {"answering": "Đang phản hồi", "open": "Đang mở", "paused": "Tạm dừng"},
}
ENDED = {"en": {"Revoked", "Expired"}, "vi": {"Đã thu hồi", "Đã hết hạn"}}


def tab_counts(html: str) -> dict[str, tuple[str, int]]:
    """Each tab's (label, count), by its filter."""
    found = re.findall(r'data-filter="(\w+)">([^<]+?) <span class="pg-count">(\d+)</span>', html)
    return {state: (label, int(count)) for state, label, count in found}


def badges(html: str) -> list[str]:
    """The state word of each row listed."""
    return re.findall(r'<td data-state>\s*<span class="badge[^"]*">([^<]+)</span>', html)


@pytest.mark.parametrize("language", ["en", "vi"])
def test_each_tab_counts_its_rows_and_they_read_as_the_tab(as_admin, links, language):
    as_admin.cookies["idash_language"] = language
    tabs = tab_counts(as_admin.get(LINKS).content.decode())
    assert set(tabs) == {"all", "answering", "open", "paused", "ended"}
    for state, word in WORDS[language].items():
        html = as_admin.get(LINKS, {"state": state}).content.decode()
        label, count = tabs[state]
        assert label == word
        assert badges(html) == [word] * count, state
    ended = badges(as_admin.get(LINKS, {"state": "ended"}).content.decode())
    assert len(ended) == tabs["ended"][1] and set(ended) == ENDED[language]
    everything = badges(as_admin.get(LINKS).content.decode())
    assert len(everything) == tabs["all"][1] == sum(n for s, (_, n) in tabs.items() if s != "all")


def test_the_transcript_is_open_and_the_live_demo_answers(as_admin, links):
    html = as_admin.get(LINKS, {"state": "answering"}).content.decode()
    assert f'data-link="{links["answering"].code}"' in html
    assert f'data-link="{links["transcript"].code}"' not in html
    html = as_admin.get(LINKS, {"state": "open"}).content.decode()
    assert f'data-link="{links["transcript"].code}"' in html
    assert f'data-link="{links["answering"].code}"' not in html


def test_the_log_id_says_what_it_is(as_admin, links):
    """Logs write a short hash instead of a link's secret token: the row says so, in words."""
    link = links["answering"]
    row = row_of(as_admin.get(LINKS).content.decode(), link)
    assert f'ID in logs: <span class="mono">{link.log_id}</span>' in row
    assert (
        'title="Logs write this instead of the link\N{RIGHT SINGLE QUOTATION MARK}s secret' in row
    )
    as_admin.cookies["idash_language"] = "vi"
    row = row_of(as_admin.get(LINKS).content.decode(), link)
    assert f'Mã trong nhật ký: <span class="mono">{link.log_id}</span>' in row


def test_the_admin_panel_says_the_same(as_admin, links):
    page = as_admin.get(reverse("admin:playground_sharelink_changelist")).content.decode()
    assert "ID in logs" in page and links["transcript"].log_id in page
    rows = {
        name: page.split(f"{link.log_id}</td>")[0].rsplit("<tr", 1)[1]
        for name, link in links.items()
    }
    assert ">Open<" in rows["transcript"] and "Answering" not in rows["transcript"]
    assert ">Answering<" in rows["answering"]
