"""How deep parsed JSON nests, measured without recursion: files from outside (a console HAR, a
routes file) are refused before code that walks them recursively could overflow Python's stack."""

from __future__ import annotations

from typing import Any


def deeper_than(data: Any, limit: int) -> bool:
    """True when dicts and lists nest more than `limit` levels in `data`."""
    stack = [(data, 1)]
    while stack:
        obj, depth = stack.pop()
        if isinstance(obj, dict | list):
            if depth > limit:
                return True
            stack.extend(
                (value, depth + 1) for value in (obj.values() if isinstance(obj, dict) else obj)
            )
    return False
