"""What a benchmark run stands on: the local platform, a fresh database, the dashboard under its
production server configuration (gunicorn + gevent, DEBUG off, manifest static files) and a real
Celery worker. Every process is started here and stopped here, by its own process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Six service accounts: five for the poller (one per credential), one of them also for the relay,
# and one alone for token-flight so that its IAM calls are counted apart.
POLL_ACCOUNTS = 5
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Deploys hang in CREATING unless a benchmark lets them finish (`Stack.deploys_finish()`): then
# an endpoint is ACTIVE DEPLOY_SECONDS after it was made.
BASE_FAULTS = {"ignore_eos": True, "deploy_hang": True}
DEPLOY_SECONDS = 1


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Account:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass
class Options:
    """How to run: where the database and Redis are, where files go, how big the run is."""

    redis_url: str
    var_dir: Path
    database: str = "postgresql"  # or "sqlite"
    database_name: str = "idash_bench"
    pg_admin_url: str = PG_ADMIN_URL
    # A cap on the bench role's PostgreSQL connections: the server is shared with other work,
    # and a run that used every connection would break it.
    pg_connection_limit: int = 60
    # Drop the database and its role when the run ends (the test suite's smoke run leaves none).
    drop_database: bool = False
    web_workers: int = 2
    # Extra environment for every process (`--set`), applied last.
    overrides: dict[str, str] = field(default_factory=dict)


class Stack:
    """Start with `with Stack(options) as stack:`; everything it started is stopped on exit."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.run_id = uuid.uuid4().hex[:8]
        self.var_dir = options.var_dir
        self.log_dir = self.var_dir / "logs"
        self.procs: dict[str, subprocess.Popen] = {}
        self.accounts = [
            Account(f"bench-sa-{i}-{uuid.uuid4().hex[:6]}", secrets.token_urlsafe(24))
            for i in range(POLL_ACCOUNTS + 1)
        ]
        self.api_key = f"aip-{secrets.token_urlsafe(24)}"
        self.seed_endpoint = f"me-{uuid.uuid4()}"
        self.platform_url = ""
        self.web_url = ""
        self.web_port = 0
        self.database_url = ""
        self.env: dict[str, str] = {}

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        self._start_platform()
        self.database_url = self._fresh_database()
        self.env = self._environment()
        self._manage("migrate", "--no-input", "-v", "0")
        self._manage("collectstatic", "--no-input", "-v", "0")
        self._start_web()
        self._start_worker()
        say(f"stack ready in {time.perf_counter() - started:.1f} s (run {self.run_id})")

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop_process(name)
        self._forget_redis_keys()
        if self.options.drop_database and self.options.database == "postgresql":
            self._drop_database()

    def _drop_database(self) -> None:
        import psycopg

        name = self.options.database_name
        with psycopg.connect(self.options.pg_admin_url, autocommit=True, connect_timeout=5) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'DROP ROLE IF EXISTS "{name}"')
        say(f"database {name} and its role dropped")

    def stop_process(self, name: str) -> None:
        """Stop one process this stack started (its whole process group), if it still runs."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    # ------------------------------------------------------------------ pieces
    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (kept by the child)
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def _start_platform(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "localplatform",
            "--port",
            "0",
            "--token-per-second",
            "0",  # zero artificial delay: the model answers as fast as it can
            # Endpoints made for the poller stay CREATING (the deploy_hang fault), except those
            # made inside `deploys_finish()`, ACTIVE a second later.
            "--deploy-seconds",
            str(DEPLOY_SECONDS),
            "--api-key",
            self.api_key,
            "--seed-endpoint",
            self.seed_endpoint,
            "--lockout-after",
            "1000",
            # Every reply runs to its max_tokens: streams of a known length.
            "--faults",
            json.dumps(BASE_FAULTS),
        ]
        for account in self.accounts:
            cmd += ["--service-account", f"{account.client_id}:{account.client_secret}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALPLATFORM_")}
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=open(self.log_dir / "platform.log", "wb"),  # noqa: SIM115
            start_new_session=True,
        )
        self.procs["platform"] = proc
        first = proc.stdout.readline().decode().strip()
        if "listening on" not in first:
            raise RuntimeError(f"the local platform did not start: {first!r}")
        self.platform_url = first.rsplit(" ", 1)[1]
        say(f"local platform at {self.platform_url}")

    def _fresh_database(self) -> str:
        opts = self.options
        if opts.database == "sqlite":
            path = self.var_dir / "bench.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            say(f"database: SQLite at {path}")
            return f"sqlite:///{path}"
        import psycopg

        name = opts.database_name
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name {name!r}: letters, digits and _ only")
        with psycopg.connect(opts.pg_admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE ROLE "{name}" LOGIN')
            conn.execute(f'ALTER ROLE "{name}" CONNECTION LIMIT {int(opts.pg_connection_limit)}')
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
        host = opts.pg_admin_url.split("@", 1)[1].split("/", 1)[0]
        say(
            f"database: PostgreSQL {name} at {host}, fresh "
            f"(role {name}, at most {opts.pg_connection_limit} connections)"
        )
        return f"postgres://{name}@{host}/{name}"

    def _environment(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
        base = self.platform_url
        self.web_port = free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        env.update(
            {
                # Production configuration (README "Production"), with plain HTTP on loopback.
                "DEBUG": "false",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "ALLOWED_HOSTS": "127.0.0.1",
                "SECURE_SSL_REDIRECT": "false",
                "SESSION_COOKIE_SECURE": "false",
                "CSRF_COOKIE_SECURE": "false",
                "SECURE_HSTS_SECONDS": "0",
                "VAR_DIR": str(self.var_dir),
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.options.redis_url,
                # Own cache keys and queue: a run never eats another's tasks or counters.
                "CACHE_KEY_PREFIX": f"idash-bench-{self.run_id}",
                "CELERY_TASK_DEFAULT_QUEUE": f"bench-{self.run_id}",
                "AIPLATFORM_IAM_TOKEN_URL": f"{base}/accounts-api/v2/auth/token",
                "AIPLATFORM_MANAGEMENT_URL": base,
                "AIPLATFORM_INFERENCE_URL_TEMPLATE": f"{base}/v1/{{endpoint_id}}",
                "GUNICORN_BIND": f"127.0.0.1:{self.web_port}",
                "WEB_CONCURRENCY": str(self.options.web_workers),
                "DJANGO_SETTINGS_MODULE": "webapp.settings",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.options.overrides)
        return env

    def _manage(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")

    def _start_web(self) -> None:
        cmd = [sys.executable, "-m", "gunicorn", "webapp.wsgi", "-c", "gunicorn.conf.py"]
        self._spawn("web", cmd, self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self._check_alive("web")
            try:
                health = f"{self.web_url}/healthz/?scope=web"  # the web process only
                with urllib.request.urlopen(health, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not answer; see {self.log_dir / 'web.log'}")
        # Both workers up (gunicorn forks them after the master binds).
        deadline = time.monotonic() + 15
        while len(self.web_worker_pids()) < self.options.web_workers:
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn workers did not start")
            time.sleep(0.1)
        say(f"dashboard (gunicorn, gevent, DEBUG off) at {self.web_url}")

    def _start_worker(self, name: str = "worker", env: dict[str, str] | None = None) -> None:
        env = env or self.env
        queue = env["CELERY_TASK_DEFAULT_QUEUE"]
        self._spawn(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "webapp",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--without-gossip",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
            ],
            env,
        )
        log = self.log_dir / f"{name}.log"
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            self._check_alive(name)
            if log.exists() and b" ready." in log.read_bytes():
                say(f"Celery worker ready ({name}, queue {queue})")
                return
            time.sleep(0.2)
        raise RuntimeError(f"the Celery worker did not start; see {log}")

    # ------------------------------------------------------------------ the reconciler as deployed
    def start_reconciler(self, settings: dict[str, str]) -> dict[str, str]:
        """Celery beat and a worker of their own, as production runs the reconciler: beat sends
        the poll task every ENDPOINT_POLL_TICK_SECONDS (webapp/celery.py) to a queue that only
        this worker reads. `settings` is extra environment for both (e.g. a shorter
        ENDPOINT_RECHECK_SECONDS). The stack's own worker is left alone (it reads its own queue).
        Returns the environment they run with; `stop_reconciler()` stops both."""
        env = {
            **self.env,
            **settings,
            "CELERY_TASK_DEFAULT_QUEUE": f"bench-{self.run_id}-beat",
        }
        self._start_worker("reconciler", env)
        schedule = self.var_dir / f"celerybeat-schedule-{self.run_id}"
        self._spawn(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "webapp",
                "beat",
                "--loglevel=INFO",
                f"--schedule={schedule}",
            ],
            env,
        )
        log = self.log_dir / "beat.log"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self._check_alive("beat")
            if log.exists() and b"beat: Starting" in log.read_bytes():
                say("Celery beat started")
                return env
            time.sleep(0.2)
        raise RuntimeError(f"Celery beat did not start; see {log}")

    def stop_reconciler(self) -> None:
        self.stop_process("beat")
        self.stop_process("reconciler")
        for path in self.var_dir.glob(f"celerybeat-schedule-{self.run_id}*"):
            path.unlink(missing_ok=True)

    def _check_alive(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}); see {self.log_dir}/{name}.log")

    def _forget_redis_keys(self) -> None:
        if not self.env:
            return
        import redis

        # Best effort: the cache keys expire anyway.
        with contextlib.suppress(redis.RedisError):
            client = redis.Redis.from_url(self.options.redis_url, socket_timeout=5)
            keys = list(client.scan_iter(f"*idash-bench-{self.run_id}*", count=1000))
            queue = self.env["CELERY_TASK_DEFAULT_QUEUE"]
            keys += [queue, f"{queue}-beat"]
            client.delete(*keys)

    # ------------------------------------------------------------------ facts
    def web_worker_pids(self) -> list[int]:
        master = self.procs["web"].pid
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children]

    def rss_kb(self, pids: list[int]) -> int:
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total

    def platform(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.platform_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")

    def set_faults(self, **faults: object) -> None:
        self.platform("POST", "/_local/faults", faults)

    def clear_faults(self) -> None:
        """Back to the run's own faults (BASE_FAULTS)."""
        current = self.platform("GET", "/_local/faults")["faults"]
        extra = [key for key in current if key not in BASE_FAULTS]
        if extra:
            self.set_faults(**dict.fromkeys(extra))

    @contextlib.contextmanager
    def deploys_finish(self):
        """Endpoints made inside deploy as a create would: ACTIVE after DEPLOY_SECONDS (outside,
        the run's deploy_hang fault keeps them CREATING)."""
        self.set_faults(deploy_hang=None)
        try:
            yield
        finally:
            self.set_faults(deploy_hang=True)

    def platform_token(self, account: Account | None = None) -> str:
        """An IAM token of a service account (the first by default), straight from IAM."""
        import base64

        account = account or self.accounts[0]
        basic = base64.b64encode(f"{account.client_id}:{account.client_secret}".encode()).decode()
        req = urllib.request.Request(
            f"{self.platform_url}/accounts-api/v2/auth/token",
            data=json.dumps({"grant_type": "client_credentials"}).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Basic {basic}"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())["access_token"]

    def stats(self) -> dict:
        return self.platform("GET", "/_local/stats")

    def pg_connections(self) -> int | None:
        if self.options.database != "postgresql":
            return None
        import psycopg

        with psycopg.connect(self.options.pg_admin_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                [self.options.database_name],
            ).fetchone()
        return int(row[0])
