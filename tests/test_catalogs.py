"""The Vietnamese catalogs: complete, placeholders intact, and the glossary's decisions applied.

docs/glossary-vi.md chooses one Vietnamese term per concept; a few of its choices are checked here
so that a later edit cannot quietly bring back a term it replaced.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = sorted(
    p
    for p in ROOT.glob("**/locale/vi/LC_MESSAGES/django.po")
    if not ({".venv", "var", "node_modules"} & set(p.relative_to(ROOT).parts))
)

# %(name)s, %(n)d, %s, %% and {name} placeholders, as Python and str.format see them.
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]?\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{\w*\}")


def _label(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text))


def _translations(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def _entries(path: Path) -> list[polib.POEntry]:
    return [e for e in polib.pofile(str(path)) if not e.obsolete]


def _msgstr(msgid: str, *, app: str | None = None) -> set[str]:
    """Every translation of msgid, across the catalogs (or in the one catalog of app)."""
    found = set()
    for path in CATALOGS:
        if app and path.relative_to(ROOT).parts[0] != app:
            continue
        for entry in _entries(path):
            if entry.msgid == msgid and not entry.msgid_plural:
                found.add(entry.msgstr)
    return found


def test_the_catalogs_are_found():
    apps = {p.relative_to(ROOT).parts[0] for p in CATALOGS}
    assert {"locale", "endpoints", "playground", "gateway"} <= apps


@pytest.mark.parametrize("path", CATALOGS, ids=_label)
def test_every_entry_is_translated_and_none_is_fuzzy(path):
    untranslated = [e.msgid for e in _entries(path) if not all(_translations(e))]
    fuzzy = [e.msgid for e in _entries(path) if "fuzzy" in e.flags]
    assert not untranslated, f"untranslated in {_label(path)}: {untranslated}"
    assert not fuzzy, f"fuzzy in {_label(path)}: {fuzzy}"


@pytest.mark.parametrize("path", CATALOGS, ids=_label)
def test_vietnamese_has_one_plural_form(path):
    po = polib.pofile(str(path))
    assert "nplurals=1" in po.metadata.get("Plural-Forms", "").replace(" ", "")
    for entry in _entries(path):
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == [0], entry.msgid


@pytest.mark.parametrize("path", CATALOGS, ids=_label)
def test_placeholders_match_their_msgid(path):
    wrong = []
    for entry in _entries(path):
        # A plural's msgstr may use either form's placeholders (Vietnamese has one form for both).
        allowed = {tuple(_placeholders(entry.msgid))}
        if entry.msgid_plural:
            allowed.add(tuple(_placeholders(entry.msgid_plural)))
        for text in _translations(entry):
            if text and tuple(_placeholders(text)) not in allowed:
                wrong.append((entry.msgid, text))
    assert not wrong, f"placeholders differ in {_label(path)}: {wrong}"


@pytest.mark.parametrize("path", CATALOGS, ids=_label)
def test_html_tags_match_their_msgid(path):
    tags = re.compile(r"</?\w+[^>]*>")
    wrong = [
        e.msgid
        for e in _entries(path)
        for text in _translations(e)
        if sorted(tags.findall(text)) != sorted(tags.findall(e.msgid))
    ]
    assert not wrong, f"HTML differs in {_label(path)}: {wrong}"


# --- The glossary's decisions (docs/glossary-vi.md) ---


def test_clone_and_replicas_read_differently():
    clone = _msgstr("Clone")
    replicas = _msgstr("Replicas")
    assert clone == {"Dùng lại cấu hình"}
    assert replicas == {"Bản sao"}
    for text in clone:
        assert "bản" not in text.lower(), "Clone must not read like the replicas' “bản sao”"


def test_start_is_khoi_dong():
    assert _msgstr("Start") == {"Khởi động"}
    assert _msgstr("Started.") == {"Đã khởi động."}


def test_statuses_roles_and_actions_have_one_term_each():
    glossary = {
        "Active": "Đang hoạt động",
        "Inactive": "Không hoạt động",
        "Creating": "Đang tạo",
        "Updating": "Đang cập nhật",
        "Error": "Lỗi",
        "Deleting": "Đang xóa",
        "Deleted": "Đã xóa",
        "Missing": "Không tìm thấy",
        "Unknown": "Không xác định",
        "Pending": "Đang chờ",
        "Admin": "Quản trị viên",
        "Member": "Thành viên",
        "Viewer": "Người xem",
        "Stop": "Dừng",
        "Delete": "Xóa",
        "Refresh": "Làm mới",
        "Revoke": "Thu hồi",
        "Edit scaling": "Sửa cấu hình bản sao",
        "Instance type": "Loại instance",
        "Served model name": "Tên model được phục vụ",
        "Resource configuration": "Cấu hình resource",
        "OK": "Bình thường",
        "%(when)s ago": "%(when)s trước",
        "now": "vừa xong",
    }
    for msgid, term in glossary.items():
        found = _msgstr(msgid)
        assert found, f"{msgid!r} is in no catalog"
        assert found == {term}, f"{msgid!r}: {found}, the glossary says {term!r}"


def test_replaced_terms_do_not_come_back():
    # Case-sensitive: "Inference Dashboard" is a product name and stays.
    banned = {
        "Nhân bản": "Clone is “Dùng lại cấu hình”",
        "nhân bản": "Clone is “Dùng lại cấu hình”",
        "Chạy": "Start is “Khởi động”",
        "chạy lại": "start again is “khởi động lại”",
        "ổn định": None,
        "Ổn": "OK is “Bình thường”",
        "cổng API": "the gateway is “gateway”",
        "Cổng API": "the gateway is “gateway”",
        "mô hình": "model stays “model”",
        "Mô hình": "model stays “model”",
        "Tài nguyên": "resource stays “resource”, as the VNG console",
        "tài nguyên": "resource stays “resource”, as the VNG console",
        "loại máy": "instance type is “loại instance”",
        "dashboard": "our console is “bảng điều khiển”",
        "Admin": "the role is “Quản trị viên”",
        "IAM token": "Vietnamese order: “token IAM”",
        "link chia sẻ": "share link is “liên kết chia sẻ”",
        "cuộc trò chuyện": "conversation is “cuộc hội thoại”",
        "Cuộc trò chuyện": "conversation is “cuộc hội thoại”",
        "khóa bí mật": "secret stays “secret” (it clashes with “khóa”)",
        "lệnh gọi": "a call is “lượt gọi” (a request stays “yêu cầu”)",
        "lời gọi": "a call is “lượt gọi” (a request stays “yêu cầu”)",
    }
    banned = {word: why for word, why in banned.items() if why}
    found = []
    for path in CATALOGS:
        for entry in _entries(path):
            for text in _translations(entry):
                for word, why in banned.items():
                    if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text):
                        found.append((_label(path), entry.msgid, word, why))
    assert not found, found


def test_gateway_wording_a_new_user_tripped_on():
    """The Keys pages' legend and the token chart's subtitle (which read “vào (đầu vào) và ra
    (đầu ra)”, the same thing twice), and “a call” as one word on the endpoint page too."""
    assert _msgstr("Endpoints it may call") == {"Các endpoint khóa được phép gọi"}
    subtitle = _msgstr("in (prompt) and out (completion)")
    assert subtitle == {"đầu vào (prompt) và đầu ra (completion)"}
    assert _msgstr("Serving calls.") == {"Đang phục vụ lượt gọi."}


def test_ago_reads_truoc():
    """Every “… ago” ends in “trước”, as the VNG console writes “1 ngày trước”."""
    missing = [
        (e.msgid, text)
        for path in CATALOGS
        for e in _entries(path)
        if re.search(r"\bago\b", e.msgid) and "a moment ago" not in e.msgid
        for text in _translations(e)
        if "trước" not in text and "(%(ago)s)" not in text
    ]
    assert not missing, missing


# --- Complete: every string the code marks is in a catalog, and it is what Django shows ---

# The names xgettext collects (Django's makemessages, and webapp's, which adds `_lazy`).
COLLECTED = {"_", "_lazy", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}
COLLECTED |= {"pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}
SOURCE_SKIP = {".venv", "var", "node_modules", "tests", "localplatform", "bench", "scripts", ".git"}


def _key(entry: polib.POEntry) -> tuple[str | None, str, str | None]:
    return (entry.msgctxt or None, entry.msgid, entry.msgid_plural or None)


def test_every_translation_function_is_imported_under_a_name_makemessages_collects():
    """`from django.utils.translation import gettext_lazy as _t` would hide every `_t("…")` from
    makemessages: the strings would never reach a catalog and stay English."""
    wrong = []
    for path in ROOT.rglob("*.py"):
        if SOURCE_SKIP & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                for alias in node.names:
                    name = alias.asname or alias.name
                    if "gettext" in alias.name and name not in COLLECTED:
                        wrong.append(f"{path.relative_to(ROOT)}: {alias.name} as {name}")
    assert not wrong, wrong


def test_makemessages_finds_nothing_the_catalogs_lack(tmp_path):
    """makemessages over a copy of the tree (never over the tracked catalogs): every string of the
    templates and the Python code is already in its catalog."""
    copy = tmp_path / "tree"
    ignore = shutil.ignore_patterns(*SOURCE_SKIP - {"tests"}, "docs", "vendor", "*.mo", "*.pyc")
    shutil.copytree(ROOT, copy, ignore=ignore, symlinks=True)
    command = [sys.executable, "manage.py", "makemessages", "-l", "vi", "--no-obsolete"]
    command += [f"--ignore={d}" for d in ("localplatform", "tests", "bench", "scripts")]
    done = subprocess.run(command, cwd=copy, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    missing = {}
    for path in CATALOGS:
        ours = {_key(e) for e in _entries(path)}
        made = polib.pofile(str(copy / path.relative_to(ROOT)))
        lacking = [
            f"{e.msgid!r} ({e.occurrences[0][0] if e.occurrences else '?'})"
            for e in made
            if not e.obsolete and _key(e) not in ours
        ]
        if lacking:
            missing[_label(path)] = lacking
    assert not missing, f"strings marked for translation but in no catalog: {missing}"


def test_django_shows_each_translation_as_the_catalog_writes_it():
    """Django merges every catalog into one: Django's own (the admin's first) win over an app's, and
    an msgid translated twice by our apps shows one of the two. Either way a page would not show
    what the catalog says (“Chưa xác định” for Unknown, “Lưu lại” for Save)."""
    wrong = []
    with translation.override("vi"):
        for path in CATALOGS:
            for e in _entries(path):
                if e.msgid_plural:
                    shown = (
                        translation.npgettext(e.msgctxt, e.msgid, e.msgid_plural, 2)
                        if e.msgctxt
                        else translation.ngettext(e.msgid, e.msgid_plural, 2)
                    )
                    written = e.msgstr_plural[0]
                else:
                    shown = (
                        translation.pgettext(e.msgctxt, e.msgid)
                        if e.msgctxt
                        else translation.gettext(e.msgid)
                    )
                    written = e.msgstr
                if written and shown != written:
                    wrong.append(
                        f"{_label(path)}: {e.msgid!r} is {written!r}, Django shows {shown!r}"
                    )
    assert not wrong, "\n".join(wrong)


def test_load_tests_and_links_read_as_the_glossary_says():
    assert _msgstr("Done") == {"Hoàn tất"}  # the load test's state and the People link's button
    assert _msgstr("Unknown") == {"Không xác định"}
    assert len(_msgstr("This link no longer works")) == 1
    assert len(_msgstr("Showing %(n)s of %(total)s")) == 1
