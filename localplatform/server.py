"""Start-up: configuration, the demo model, gevent's WSGI server, clean exit on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import socket
import sys

import gevent
from gevent.pywsgi import WSGIHandler, WSGIServer

from localplatform.app import App, StreamCut
from localplatform.config import load_config
from localplatform.demo_model import DemoModel
from localplatform.state import Platform


class Handler(WSGIHandler):
    def handle(self):
        # Nagle off, as nginx and the model servers behind the real platform answer: with it on,
        # a reply written in two pieces on a kept-alive connection waits for the client's
        # delayed ACK (40 ms on Linux) before its second piece leaves.
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().handle()

    def handle_error(self, t, v, tb):
        if isinstance(v, StreamCut):
            # The fault asked for a dropped connection: no chunk terminator, no traceback.
            self.close_connection = True
            return
        super().handle_error(t, v, tb)


def _say(stream, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()


def build_server(argv: list[str] | None = None) -> tuple[WSGIServer, Platform]:
    config = load_config(argv)
    platform = Platform(config)
    app = App(platform, DemoModel.from_corpus())
    server = WSGIServer(
        (config.host, config.port),
        app,
        handler_class=Handler,
        log=sys.stderr if config.access_log else None,
        error_log=sys.stderr,
        backlog=1024,
    )
    return server, platform


def main(argv: list[str] | None = None) -> int:
    server, platform = build_server(argv)
    server.start()
    config = platform.config
    if config.port == 0 or not config.public_url:
        config.port = server.server_port
        platform.reset()  # endpoint URLs carry the real port
    accounts = ", ".join(
        a.client_id + (" (read-only)" if a.read_only else "") for a in config.service_accounts
    )
    # The first stdout line is a contract: the test fixture and `make run` wait for it.
    _say(sys.stdout, f"localplatform listening on http://{config.host}:{server.server_port}")
    _say(
        sys.stderr,
        f"localplatform: service accounts: {accounts or 'none (pass --service-account ID:SECRET)'}"
        f"; API keys: {len(config.api_keys)}; seed endpoint: {config.seed_endpoint or 'none'}"
        + (f"; upstream: {config.upstream_url}" if config.upstream_url else "")
        + (f"; route profile: {config.route_profile}" if config.route_profile != "default" else ""),
    )

    def stop(signum, frame):
        gevent.spawn(server.stop, timeout=1)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop(timeout=1)
    _say(sys.stderr, "localplatform stopped")
    return 0
