"""Run `get_token` in N threads of a fresh process: `python -m tests.credentials.concurrent_tokens
<credential id> <threads> <start at (unix time)>`. Prints one line per thread: the sha256 of the
token it got, or `error <exception>`. Used by the cross-process single-flight test.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time


def main() -> None:
    import django

    django.setup()
    from django.db import connection

    from endpoints import tokens
    from endpoints.models import Credential

    credential_id, threads, start_at = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    barrier = threading.Barrier(threads)
    results: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            credential = Credential.objects.get(pk=credential_id)  # each thread its own row copy
            barrier.wait()
            time.sleep(max(0.0, start_at - time.time()))  # both processes go at the same moment
            token = tokens.get_token(credential)
            line = hashlib.sha256(token.encode()).hexdigest()
        except Exception as exc:  # reported to the test, which fails on it
            line = f"error {exc!r}"
        finally:
            connection.close()
        with lock:
            results.append(line)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print("\n".join(results), flush=True)


if __name__ == "__main__":
    main()
