"""Replicas follow load, and the platform holds 200 concurrent streams."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from endpoints.clients.inference import InferenceClient
from tests.platform.helpers import management_client, wait_for


def stream_once(platform, max_tokens: int) -> dict:
    client = InferenceClient(
        base_url=platform.endpoint_url(), auth_mode="api_key", credential=platform.api_key
    )
    payload = {
        "model": "demo-chat",
        "messages": [{"role": "user", "content": "replicas"}],
        "max_tokens": max_tokens,
        "ignore_eos": True,
    }
    with client.stream_chat_completion(payload) as stream:
        chunks = list(stream)
    return chunks[-1]["usage"]


def test_replicas_rise_under_concurrent_streams_and_fall_after(platform):
    mgmt = management_client(platform)
    assert mgmt.get_endpoint(platform.seed_endpoint_id).current_replicas == 1
    platform.set_faults(token_per_second=5)
    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(stream_once, platform, 10) for _ in range(12)]
        # 12 in flight at 4 per replica: 3 replicas, between min 1 and max 10.
        peak = wait_for(
            lambda: (n := mgmt.get_endpoint(platform.seed_endpoint_id).current_replicas) >= 3 and n
        )
        assert peak <= 10
        assert all(f.result()["completion_tokens"] == 10 for f in futures)
    wait_for(lambda: mgmt.get_endpoint(platform.seed_endpoint_id).current_replicas == 1)


def test_two_hundred_concurrent_streams_all_complete(platform):
    platform.set_faults(token_per_second=10)
    count, results, errors = 200, [], []
    lock = threading.Lock()

    def worker() -> None:
        try:
            usage = stream_once(platform, 40)
            with lock:
                results.append(usage)
        except Exception as exc:  # collected and reported below
            with lock:
                errors.append(repr(exc))

    threads = []
    for _ in range(count):
        thread = threading.Thread(target=worker)
        thread.start()
        threads.append(thread)
        time.sleep(0.005)  # a modest opening pace, not a thundering herd
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == count
    assert all(u["completion_tokens"] == 40 for u in results)
    stats = platform.stats()
    assert stats["peak_inflight_streams"] == count
    assert stats["completed_streams"] == count
    assert stats["inflight_streams"] == 0
