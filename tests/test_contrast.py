"""The console's colours pass WCAG 2.1 AA: the ratios written beside the custom properties in
static/css/console.css are computed again here, and the pairs the pages depend on are required.

Disabled controls have no pair here on purpose. The stylesheet does have a disabled state
(`.btn[disabled], .btn[aria-disabled="true"] { opacity: .55 }`, and `.instance-card.is-disabled`
in endpoints.css), but WCAG 2.1 exempts them: 1.4.3 and 1.4.11 do not apply to "inactive user
interface components" (a disabled Send or Next cannot be used, so its text need not reach 4.5:1).
What a disabled control must do instead, say why it is disabled where that matters, is the page's
job (the wizard's instance cards name their reason with aria-describedby)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[1] / "static" / "css" / "console.css"
# WCAG 2.1: 1.4.3 (text, 4.5:1) and 1.4.11 (control borders and focus indicators, 3:1).
MINIMUM = {"text": 4.5, "border": 3.0, "focus": 3.0}
# What the pages cannot do without: a pair missing from the stylesheet's notes is a failure.
REQUIRED = {
    ("--accent", "--on-accent", "text"),  # the orange primary button
    ("--accent-ink", "--on-accent", "text"),  # the same, hovered
    ("--field-border", "--surface", "border"),
    ("--field-border", "--bg", "border"),
    ("--focus", "--surface", "focus"),
    ("--focus", "--bg", "focus"),
    ("--brand", "--surface", "text"),  # links
    ("--muted", "--surface", "text"),  # help text
    ("--text", "--surface", "text"),
    ("--err", "--err-bg", "text"),
}
PROPERTY = re.compile(r"(--[\w-]+):\s*(#[0-9a-fA-F]{3,6})\s*;")
NOTE = re.compile(r"(\d+(?:\.\d+)?):1 on (--[\w-]+) \((text|border|focus)\)")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    hex_ = colour.lstrip("#")
    if len(hex_) == 3:
        hex_ = "".join(c * 2 for c in hex_)
    r, g, b = (_channel(int(hex_[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def parse(css: str) -> tuple[dict[str, str], list[tuple[str, str, str, float]]]:
    """The :root colours, and each documented pair (property, other property, kind, ratio written).
    A note belongs to the first property declared on its line
    (`--ok: …; --ok-bg: …; /* 4.78:1 on --ok-bg (text) */` is about --ok)."""
    root = css[css.index(":root {") : css.index("}", css.index(":root {"))]
    colours: dict[str, str] = {}
    notes: list[tuple[str, str, str, float]] = []
    for line in root.splitlines():
        declared = PROPERTY.findall(line)
        colours.update(declared)
        if "/*" in line and declared:
            owner = declared[0][0]
            comment = line[line.index("/*") :]
            notes += [(owner, other, kind, float(r)) for r, other, kind in NOTE.findall(comment)]
    return colours, notes


COLOURS, NOTES = parse(CSS.read_text())


def test_known_values() -> None:
    assert contrast("#ffffff", "#000000") == pytest.approx(21)
    # The measurement of the old orange button.
    assert contrast("#ffffff", "#e0620b") == pytest.approx(3.55, abs=0.01)


def test_every_required_pair_is_documented() -> None:
    documented = {(owner, other, kind) for owner, other, kind, _ in NOTES}
    assert not REQUIRED - documented, f"undocumented: {sorted(REQUIRED - documented)}"


@pytest.mark.parametrize(("owner", "other", "kind", "written"), NOTES, ids=lambda v: str(v))
def test_documented_ratio_is_true_and_passes(owner: str, other: str, kind: str, written: float):
    measured = contrast(COLOURS[owner], COLOURS[other])
    assert round(measured, 2) == pytest.approx(written, abs=0.01), (
        f"{owner} on {other}: the stylesheet says {written}:1, it is {measured:.2f}:1"
    )
    assert measured >= MINIMUM[kind], f"{owner} on {other}: {measured:.2f}:1 < {MINIMUM[kind]}:1"


def test_rules_use_the_checked_properties() -> None:
    css = CSS.read_text()
    assert ".btn-primary { background: var(--accent);" in css
    assert "color: var(--on-accent)" in css
    assert "border: 1px solid var(--field-border)" in css
    assert re.search(r"input:focus[^{]*\{[^}]*outline: 3px solid var\(--focus\)", css)
    assert re.search(r"\.help a[^{]*\{[^}]*text-decoration: underline", css)
