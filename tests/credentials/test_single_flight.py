"""One mint at a time per credential, across processes (real Redis lock, real IAM over HTTP)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from endpoints.models import Credential
from tests.credentials.conftest import expire_token, iam_calls, make_service_account
from tests.fixtures.worker import ROOT, child_env


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_calls_in_two_processes_cause_one_iam_call(platform):
    credential = make_service_account(platform)
    expire_token(credential)
    # A slow IAM widens the window in which every caller finds the token expired.
    platform.set_faults(latency_ms=300)
    start_at = time.time() + 3.0  # both processes are set up by then; each thread waits for it

    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.credentials.concurrent_tokens",
                str(credential.pk),
                "10",
                str(start_at),
            ],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        outputs += out.split()

    assert len(outputs) == 20
    assert not [line for line in outputs if line.startswith("error")], outputs
    assert len(set(outputs)) == 1, "every caller got the one minted token"
    assert iam_calls(platform) == 1
    credential.refresh_from_db()
    assert credential.state == Credential.State.OK
    assert credential.token_seconds_left() > 1700


@pytest.mark.django_db(transaction=True)
def test_concurrent_401s_on_the_same_token_cost_one_mint(platform):
    import threading

    from django.db import connection

    from endpoints import tokens

    credential = make_service_account(platform)
    stale = tokens.get_token(credential)
    platform.set_faults(latency_ms=200)
    barrier = threading.Barrier(10)
    results: list[str] = []

    def saw_a_401() -> None:
        try:
            source = tokens.CredentialTokenSource(Credential.objects.get(pk=credential.pk))
            barrier.wait()
            results.append(source.refresh(stale))
        finally:
            connection.close()

    threads = [threading.Thread(target=saw_a_401) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 10 and len(set(results)) == 1
    assert results[0] != stale
    assert iam_calls(platform) == 2  # the first token, then exactly one re-mint
