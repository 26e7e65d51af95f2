"""One process of callers for token-flight: `python -m bench.flight CREDENTIAL_ID THREADS`.

Each thread loads its own copy of the credential and opens its database and Redis connections
first, then the process prints `ready` and waits for `go <unix time>` on stdin; at that moment
one event releases every thread, and each calls `get_token()` and times it. The waits (seconds)
and a digest of each token it got come back as one JSON line on stdout.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time


def warm_redis() -> None:
    """Open this thread's connection in the token service's Redis pool, as a process that has
    been serving for a while has: the flight measures the single flight, not connection set-up."""
    from django.conf import settings

    from endpoints.token_lock import redis_for

    redis_for(settings.REDIS_URL).ping()


def main() -> int:
    import django

    django.setup()
    from django.db import connection

    from endpoints.models import Credential
    from endpoints.tokens import get_token

    credential_id, count = int(sys.argv[1]), int(sys.argv[2])
    ready = threading.Barrier(count + 1)
    go = threading.Event()
    waits: list[float] = []
    digests: list[str] = []
    errors: list[str] = []

    def caller() -> None:
        credential = Credential.objects.get(pk=credential_id)
        connection.ensure_connection()
        warm_redis()
        ready.wait()
        go.wait()
        started = time.perf_counter()
        try:
            token = get_token(credential)
        except Exception as exc:  # reported, not raised: the others go on
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        finally:
            waits.append(time.perf_counter() - started)
            connection.close()
        digests.append(hashlib.sha256(token.encode()).hexdigest()[:12])

    threads = [threading.Thread(target=caller) for _ in range(count)]
    for thread in threads:
        thread.start()
    ready.wait()
    print("ready", flush=True)
    command = sys.stdin.readline().split()
    if not command or command[0] != "go":
        return 2
    # Released together by one event (threads spinning on the clock would hand the GIL
    # round and round, and start up to one switch interval per thread late).
    time.sleep(max(0.0, float(command[1]) - time.time()))
    go.set()
    for thread in threads:
        thread.join()
    print(json.dumps({"waits": waits, "tokens": digests, "errors": errors}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
