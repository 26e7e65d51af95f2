"""One process of callers for token-flight: `python -m bench.flight CREDENTIAL_ID THREADS`.

Each thread loads its own copy of the credential and opens its database connection first, then
the process prints `ready` and waits for `go <unix time>` on stdin; at that moment every thread
calls `get_token()` and times it. The waits (seconds) and a digest of each token it got come
back as one JSON line on stdout.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time


def main() -> int:
    import django

    django.setup()
    from django.db import connection

    from endpoints.models import Credential
    from endpoints.tokens import get_token

    credential_id, count = int(sys.argv[1]), int(sys.argv[2])
    ready = threading.Barrier(count + 1)
    go = threading.Event()
    start_at = [0.0]
    waits: list[float] = []
    digests: list[str] = []
    errors: list[str] = []

    def caller() -> None:
        credential = Credential.objects.get(pk=credential_id)
        connection.ensure_connection()
        ready.wait()
        go.wait()
        time.sleep(max(0.0, start_at[0] - time.time() - 0.02))
        while time.time() < start_at[0]:
            pass  # spin the last moment: a sleep alone wakes late by its scheduling delay
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
    start_at[0] = float(command[1])
    go.set()
    for thread in threads:
        thread.join()
    print(json.dumps({"waits": waits, "tokens": digests, "errors": errors}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
