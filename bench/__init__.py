"""`make bench`: the relay, the pages, the poller and the token service, measured against their
baselines in one run on the production server configuration (docs/bench.md)."""
