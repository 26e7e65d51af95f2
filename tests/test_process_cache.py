"""A web process keeps an answer for a few seconds and looks it up once per expiry."""

from __future__ import annotations

from webapp.process_cache import ProcessCache


def test_an_answer_is_kept_until_it_expires():
    lookups = []
    seconds = [60.0]
    kept = ProcessCache(
        lambda key: lookups.append(key) or f"answer {len(lookups)}", lambda: seconds[0]
    )

    assert kept.get("a") == "answer 1"
    assert kept.get("a") == "answer 1"
    assert lookups == ["a"]
    kept.expire("a")
    assert kept.get("a") == "answer 2"
    seconds[0] = 0.0  # kept for no time at all: every call looks up
    kept.expire("a")
    assert kept.get("a") == "answer 3"
    assert kept.get("a") == "answer 4"


def test_calls_during_a_lookup_keep_the_last_answer():
    kept: ProcessCache[str] = ProcessCache(lambda key: "first", lambda: 60.0)
    assert kept.get("a") == "first"
    kept.expire("a")

    def lookup(key):
        # Another call (another greenlet) arrives while this one asks the database.
        assert kept.get(key) == "first"
        return "second"

    kept.lookup = lookup
    assert kept.get("a") == "second"
    assert kept.get("a") == "second"


def test_a_failed_lookup_leaves_the_last_answer_for_a_moment_and_is_retried():
    kept: ProcessCache[str] = ProcessCache(lambda key: "first", lambda: 60.0)
    kept.get("a")
    kept.expire("a")

    def failing(key):
        raise ConnectionError("the database is down")

    kept.lookup = failing
    try:
        kept.get("a")
    except ConnectionError:
        pass
    else:
        raise AssertionError("the failure should reach the caller that looked up")
    assert kept.get("a") == "first"  # within the grace moment
    kept.expire("a")
    kept.lookup = lambda key: "back"
    assert kept.get("a") == "back"
