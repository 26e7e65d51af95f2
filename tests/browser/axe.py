"""axe-core (tests/vendor/axe, `make vendor-axe`; never served to visitors) put into a page and run
with the WCAG 2.0/2.1 A and AA rules, plus the few best-practice rules about finding one's way
(one main landmark, a level-one heading, unique landmarks, a skip link that leads somewhere)."""

from __future__ import annotations

from pathlib import Path

AXE = (Path(__file__).resolve().parents[1] / "vendor" / "axe" / "axe.min.js").read_text()
# Serious and critical WCAG violations fail; so does any violation of these, whatever its impact.
WAYFINDING = ["landmark-one-main", "page-has-heading-one", "landmark-unique", "skip-link"]
RUN = """async (wayfinding) => {
  const wcag = axe.getRules(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .filter((r) => !r.tags.includes("experimental"))
    .map((r) => r.ruleId);
  const result = await axe.run(document, {
    runOnly: { type: "rule", values: wcag.concat(wayfinding) },
    resultTypes: ["violations"],
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical" || wayfinding.includes(v.id))
    .map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " :: " + n.failureSummary),
    }));
}"""
# An id an attribute names that the page lacks (Django's form fields point aria-describedby at
# "<id>_helptext": a template that draws the help without that id breaks it). axe leaves these to
# its moderate rules.
BROKEN_REFERENCES = """() => {
  const broken = [];
  for (const attr of ["aria-describedby", "aria-labelledby", "aria-controls", "for"]) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) broken.push(`${el.tagName.toLowerCase()}[${attr}=${id}]`);
      }
    }
  }
  return broken;
}"""
WIDTHS = {"desktop": (1366, 860), "phone": (390, 844)}


def violations(page) -> list[dict]:
    """What axe finds in the page as it is now. The test's browser context needs bypass_csp: the
    page's own CSP allows its own files only."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE)
    found = page.evaluate(RUN, WAYFINDING)
    broken = page.evaluate(BROKEN_REFERENCES)
    if broken:
        found.append(
            {
                "id": "broken-idref",
                "impact": "serious",
                "help": "refers to an id the page lacks",
                "nodes": broken[:5],
            }
        )
    return found


def report(found: dict[str, list[dict]]) -> str:
    return "\n".join(
        f"{name}: {v['impact']} {v['id']} ({v['help']}): {v['nodes']}"
        for name, vs in found.items()
        for v in vs
    )
