"""Small helpers shared by the contract tests of the platform clients."""

from __future__ import annotations

import time
from collections.abc import Callable

from endpoints.clients.aiplatform import AiPlatformClient, StaticToken


class CountingTokenSource:
    """Hands out tokens in order; `refresh` moves to the next one and records the stale one."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.refreshed: list[str] = []

    def get(self) -> str:
        return self.tokens[0]

    def refresh(self, stale: str) -> str:
        self.refreshed.append(stale)
        if len(self.tokens) > 1:
            self.tokens.pop(0)
        return self.tokens[0]


def management_client(platform, **kwargs) -> AiPlatformClient:
    return AiPlatformClient(StaticToken(platform.mint_token()), **kwargs)


def wait_for(predicate: Callable[[], object], *, timeout: float = 10.0, interval: float = 0.05):
    """Poll until predicate() is truthy and return its value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
