"""The printed table and the JSON file carry the same figures."""

from __future__ import annotations

import json
from pathlib import Path

from bench.benchmarks import Outcome, Row

HEADERS = ("id", "baseline (same run)", "measured", "target", "met")


def _met(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "—"}[value]


def table(outcomes: list[Outcome]) -> str:
    rows: list[Row] = [row for outcome in outcomes for row in outcome.rows]
    cells = [(r.id, r.baseline or "—", r.measured, r.target, _met(r.met)) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]

    def line(values) -> str:
        return " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [line(HEADERS), "-+-".join("-" * w for w in widths)]
    out += [line(c) for c in cells]
    return "\n".join(out)


def document(outcomes: list[Outcome], meta: dict) -> dict:
    return {
        "meta": meta,
        "benchmarks": {o.id: o.as_json() for o in outcomes},
        "table": [
            {
                "id": r.id,
                "what": r.what,
                "baseline": r.baseline,
                "measured": r.measured,
                "target": r.target,
                "met": r.met,
            }
            for o in outcomes
            for r in o.rows
        ],
    }


def write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
