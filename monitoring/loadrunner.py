"""A load test on a worker: N streams at once for T seconds, through the gateway's way to the
platform (endpoints.clients.upstream: the same credential, pool and first-byte retry).

Concurrency rises in steps (1, 2, 4, … N), each an equal share of the duration, so the page can
show time to first token and throughput against concurrency. Each stream is a thread that sends
one chat completion after another; every reply is recorded like any other request (source
"loadtest"). Once a second the runner writes its progress on the row (steps, and a sample of
streams in flight, replies, tokens and the replicas the platform reports, read every
SAMPLE_REPLICAS_SECONDS), and reads whether a person asked it to stop.
"""

from __future__ import annotations

import contextlib
import json
import logging
import statistics
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import urllib3
from django.db import connections
from django.utils import timezone

from endpoints.clients.errors import PlatformError
from endpoints.clients.upstream import open_chat
from monitoring.loadtests import steps_for
from monitoring.models import LoadTest
from monitoring.recording import record_replica_samples, record_request
from playground import failures
from playground.failures import Failure

logger = logging.getLogger(__name__)

PROMPT = "Write a short paragraph about autoscaling inference endpoints."
SAMPLE_REPLICAS_SECONDS = 2.0
# After the last step, replies under way get this long to end before they are cut.
DRAIN_SECONDS = 30.0


@dataclass
class Step:
    concurrency: int
    started: float
    ttfts: list[int] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)
    requests: int = 0
    errors: int = 0
    tokens: int = 0
    replicas_peak: int | None = None
    seconds: float = 0.0

    def summary(self) -> dict:
        ttfts = sorted(self.ttfts)
        return {
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "errors": self.errors,
            "ttft_p50_ms": _quantile(ttfts, 0.5),
            "ttft_p95_ms": _quantile(ttfts, 0.95),
            "tokens_per_second": round(self.tokens / self.seconds, 1) if self.seconds else None,
            "stream_tokens_per_second": round(statistics.fmean(self.speeds), 1)
            if self.speeds
            else None,
            "replicas_peak": self.replicas_peak,
        }


def _quantile(ordered: list[int], q: float) -> float | None:
    if not ordered:
        return None
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


class Runner:
    def __init__(self, test: LoadTest) -> None:
        self.test = test
        self.endpoint = test.endpoint
        self.levels = steps_for(test.concurrency)
        self.step_seconds = max(1.0, test.duration_seconds / len(self.levels))
        self.lock = threading.Lock()
        self.steps: list[Step] = []
        self.target = 0  # streams that should be running now
        self.in_flight = 0
        self.second = {"requests": 0, "tokens": 0, "errors": 0}
        self.ending = threading.Event()  # no new requests
        self.cut = threading.Event()  # close the ones under way
        self.body = {
            "model": self.endpoint.served_model_name
            or self.endpoint.model_name
            or self.endpoint.model_id,
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": test.max_tokens,
            "temperature": 0.7,
            "stream": True,
            "stream_options": {"include_usage": True},
        }

    # ------------------------------------------------------------------ streams
    def _stream(self, index: int) -> None:
        try:
            while not self.ending.is_set():
                if index >= self.target:
                    time.sleep(0.05)
                    continue
                self._one()
        finally:
            connections.close_all()  # this thread's own database connection, if it made one

    def _one(self) -> None:
        started, at = time.perf_counter(), time.time()
        with self.lock:
            self.in_flight += 1
            step = self.steps[-1]
        status, ttft = 200, None
        error: Failure | None = None
        usage: dict = {}
        try:
            response = open_chat(self.endpoint, self.body, stream=True)
        except PlatformError as exc:
            status, error = exc.status_code or 502, failures.of(exc)
        else:
            try:
                ttft, usage = self._read(response, started)
            except (urllib3.exceptions.HTTPError, OSError, ValueError):
                error = failures.cut_off("broken")
            finally:
                response.release_conn()
        total = round((time.perf_counter() - started) * 1000)
        completion = usage.get("completion_tokens") or 0
        with self.lock:
            self.in_flight -= 1
            step.requests += 1
            self.second["requests"] += 1
            if error or status >= 400:
                step.errors += 1
                self.second["errors"] += 1
            else:
                step.tokens += completion
                self.second["tokens"] += completion
                if ttft is not None:
                    step.ttfts.append(ttft)
                    if completion >= 2 and total > ttft:
                        step.speeds.append((completion - 1) * 1000 / (total - ttft))
        record_request(
            source="loadtest",
            endpoint_id=self.endpoint.pk,
            user_id=self.test.started_by_id,
            status=status,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            ttft_ms=ttft,
            total_ms=total,
            error_code=error.code if error else "",
            error_params=error.params if error else None,
            at=at,
        )

    def _read(self, response, started: float) -> tuple[int | None, dict]:
        """Read the SSE answer to its end: the first content's time, and the usage."""
        ttft, buffer = None, b""
        usage: dict = {}
        while not self.cut.is_set():
            data = response.read1(65536)
            if not data:
                break
            buffer += data.replace(b"\r\n", b"\n")
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                for line in event.split(b"\n"):
                    if not line.startswith(b"data:") or line[5:].strip() == b"[DONE]":
                        continue
                    chunk = json.loads(line[5:])
                    if chunk.get("error"):
                        raise ValueError("error event")
                    if ttft is None and any(
                        (c.get("delta") or {}).get("content") for c in chunk.get("choices") or ()
                    ):
                        ttft = round((time.perf_counter() - started) * 1000)
                    usage = chunk.get("usage") or usage
        return ttft, usage

    # ------------------------------------------------------------------ the run
    def _replicas(self) -> int | None:
        if not self.endpoint.platform_id:
            return None
        from endpoints.selectors import platform_client

        try:
            found = platform_client(self.endpoint.credential).get_endpoint(
                self.endpoint.platform_id
            )
        except PlatformError:
            return None
        # Also a sample for the replica charts, finer than the reconciler's once a minute.
        record_replica_samples(
            [
                SimpleNamespace(
                    pk=self.endpoint.pk,
                    current_replicas=found.current_replicas,
                    min_replicas=found.min_replicas or self.endpoint.min_replicas,
                    max_replicas=found.max_replicas or self.endpoint.max_replicas,
                    status=self.endpoint.status,
                )
            ]
        )
        return found.current_replicas

    def run(self) -> str:
        test = self.test
        began = time.perf_counter()
        end = began + self.step_seconds * len(self.levels)
        threads = [
            threading.Thread(target=self._stream, args=(i,), daemon=True, name=f"loadtest-{i}")
            for i in range(test.concurrency)
        ]
        samples: list[dict] = []
        replicas: int | None = None
        next_replicas = began
        stopped = False
        with self.lock:
            self.steps.append(Step(self.levels[0], 0.0))
            self.target = self.levels[0]
        for thread in threads:
            thread.start()
        tick = began
        while True:
            tick += 1.0
            time.sleep(max(0.0, tick - time.perf_counter()))
            now = time.perf_counter()
            level = min(len(self.levels) - 1, int((now - began) // self.step_seconds))
            if now >= next_replicas:
                replicas = self._replicas()
                next_replicas = now + SAMPLE_REPLICAS_SECONDS
            with self.lock:
                current = self.steps[-1]
                current.seconds = now - began - current.started
                if replicas is not None:
                    current.replicas_peak = max(current.replicas_peak or 0, replicas)
                if now < end and level >= len(self.steps):
                    self.steps.append(Step(self.levels[level], round(now - began, 1)))
                    self.target = self.levels[level]
                second, self.second = self.second, {"requests": 0, "tokens": 0, "errors": 0}
                samples.append(
                    {
                        "t": round(now - began, 1),
                        "concurrency": self.target,
                        "in_flight": self.in_flight,
                        "replicas": replicas,
                        **second,
                    }
                )
                summaries = [s.summary() for s in self.steps]
            stopped = LoadTest.objects.filter(pk=test.pk, stop_requested=True).exists()
            LoadTest.objects.filter(pk=test.pk).update(steps=summaries, samples=samples)
            if now >= end or stopped:
                break
        self.ending.set()
        deadline = time.perf_counter() + DRAIN_SECONDS
        for thread in threads:
            thread.join(max(0.1, deadline - time.perf_counter()))
        self.cut.set()
        with self.lock:
            summaries = [s.summary() for s in self.steps]
        status = LoadTest.Status.STOPPED if stopped else LoadTest.Status.DONE
        LoadTest.objects.filter(pk=test.pk).update(
            status=status, finished_at=timezone.now(), steps=summaries, samples=samples
        )
        return status


def run(load_test_id: int) -> str:
    """Run a queued load test to its end (the caller holds a run slot)."""
    test = (
        LoadTest.objects.select_related("endpoint__credential", "endpoint__access_credential")
        .filter(pk=load_test_id)
        .first()
    )
    if test is None:
        return "gone"
    if not LoadTest.objects.filter(
        pk=test.pk, status=LoadTest.Status.QUEUED, stop_requested=False
    ).update(status=LoadTest.Status.RUNNING, started_at=timezone.now()):
        return "not queued"
    try:
        return Runner(test).run()
    except Exception as exc:
        logger.exception("load test %s failed", test.pk)
        with contextlib.suppress(Exception):
            LoadTest.objects.filter(pk=test.pk).update(
                status=LoadTest.Status.FAILED,
                finished_at=timezone.now(),
                error_code="crashed",
                error_params={"exception": type(exc).__name__},
            )
        return LoadTest.Status.FAILED
