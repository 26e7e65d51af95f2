"""Moving through a page with the keyboard alone, as a person without a mouse does: Tab and
Shift+Tab from stop to stop, each stop checked for a visible focus indicator."""

from __future__ import annotations

# The focused element, or the box drawn around it (a radio inside its card, the message box inside
# the composer), shows a ring: an outline of 2px or more, or a box shadow.
FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "nothing is focused";
  for (let node = el, depth = 0; node && depth < 4; node = node.parentElement, depth++) {
    const s = getComputedStyle(node);
    if (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2) return "";
    if (s.boxShadow && s.boxShadow !== "none") return "";
  }
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return "focused but not on screen";
  return "no visible focus indicator";
}"""
DESCRIBE = """() => {
  const el = document.activeElement;
  if (!el) return "";
  const name = el.getAttribute("aria-label") || el.innerText || el.value || "";
  const text = name.trim().slice(0, 40);
  return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (text ? " '" + text + "'" : "");
}"""


def focused(page) -> str:
    return page.evaluate(DESCRIBE)


def check_focus_shown(page) -> None:
    problem = page.evaluate(FOCUS_SHOWN)
    assert not problem, f"{focused(page)}: {problem}"


def tab_to(page, selector: str, *, back: bool = False, limit: int = 60) -> None:
    """Press Tab (Shift+Tab with `back`) until the focus is on `selector`, checking at every stop
    that the focus can be seen."""
    key = "Shift+Tab" if back else "Tab"
    path = []
    for _ in range(limit):
        page.keyboard.press(key)
        path.append(focused(page))
        check_focus_shown(page)
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with {key}: {path}")


def choose(page, text: str, *, limit: int = 20) -> None:
    """On a focused <select>, press the arrow keys until the option containing `text` is chosen."""
    for key in ("ArrowDown", "ArrowUp"):
        for _ in range(limit):
            chosen = page.evaluate(
                "() => document.activeElement.selectedOptions[0]?.textContent || ''"
            )
            if text in chosen:
                return
            page.keyboard.press(key)
    raise AssertionError(f"no option with {text!r} in {focused(page)}")
