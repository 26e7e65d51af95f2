"""`make run`, `make test` and `make bench` share this set-up: pick Redis and the database, prepare
the secrets of a development machine, compile the catalogs, then start what was asked for.

Run through the Makefile, which creates `.venv` and installs the system packages first.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from webapp import local_env  # noqa: E402 (var/local.env and var/run.env: one home for both)
from webapp.env import env_bool  # noqa: E402

VAR = local_env.VAR
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def private_redis() -> tuple[str, list[str]]:
    """A redis-server on a free port with its files under var/redis (started by the caller)."""
    port = free_port()
    data = VAR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    cmd = [
        shutil.which("redis-server") or "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data),
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    return f"redis://127.0.0.1:{port}/0", cmd


def choose_redis(for_tests: bool) -> tuple[str, subprocess.Popen | None]:
    wanted = os.environ.get("TEST_REDIS_URL" if for_tests else "REDIS_URL") or DEFAULT_REDIS
    if for_tests and "TEST_REDIS_URL" not in os.environ:
        # Tests use their own database number so they never eat a running `make run`'s tasks.
        wanted = wanted.rsplit("/", 1)[0] + "/15"
    if redis_answers(wanted):
        say(f"Redis: {wanted.split('@')[-1]}")
        return wanted, None
    if shutil.which("redis-server"):
        url, cmd = private_redis()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for _ in range(50):
            if redis_answers(url):
                break
            time.sleep(0.1)
        else:
            sys.exit("A private redis-server was started but does not answer.")
        if for_tests:
            url = url.rsplit("/", 1)[0] + "/15"
        say(f"Redis: nothing answered at {wanted}; started a private redis-server at {url}")
        return url, proc
    sys.exit(
        f"Redis does not answer at {wanted} and redis-server is not installed.\n"
        "Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) "
        "or set REDIS_URL to a Redis you can reach, then run this again."
    )


def postgres_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgres://", "postgresql://"), connect_timeout=2):
            return True
    except Exception:
        return False


def choose_test_database() -> str:
    if os.environ.get("TEST_DATABASE_URL"):
        say(f"Database: {os.environ['TEST_DATABASE_URL']} (TEST_DATABASE_URL)")
        return os.environ["TEST_DATABASE_URL"]
    if postgres_answers():
        name = os.environ.get("TEST_DATABASE_NAME", "idash")
        say(f"Database: PostgreSQL at 127.0.0.1:5432 (tests run in test_{name})")
        return f"postgres://postgres@127.0.0.1:5432/{name}"
    say("Database: SQLite (no PostgreSQL answered at 127.0.0.1:5432)")
    return f"sqlite:///{VAR / 'db-test-base.sqlite3'}"


def manage(*args: str, env: dict[str, str]) -> None:
    """Run a manage.py command; stop here if it fails (its own message says why, no traceback)."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env)
    if done.returncode:
        sys.exit("==> stopped: see the message above")


def local_platform_port(env: dict[str, str]) -> str:
    """LOCALPLATFORM_PORT (default 8001), refused in words before anything starts on it."""
    raw = env.setdefault("LOCALPLATFORM_PORT", "8001").strip() or "8001"
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        sys.exit(f"==> LOCALPLATFORM_PORT must be a port number from 1 to 65535, not {raw!r}.")
    env["LOCALPLATFORM_PORT"] = raw
    return raw


def compile_catalogs(env: dict[str, str]) -> None:
    manage("compilemessages", "--ignore=.venv", "--ignore=var", "-v", "0", env=env)


def prepare_steps(env: dict[str, str]) -> list[tuple[str, ...]]:
    """The manage.py commands `make run` runs before starting the servers. With DEBUG off (read as
    the settings read it) the pages use the hashed names of collected static files, so every page
    would fail until collectstatic has run."""
    steps: list[tuple[str, ...]] = [("migrate", "--no-input", "-v", "0"), ("bootstrap",)]
    if not env_bool("DEBUG", True, environ=env):
        steps.insert(0, ("collectstatic", "--no-input", "-v", "0"))
    return steps


def run() -> None:
    env = dict(os.environ)
    # The Procfile says `python`: make it this virtualenv's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for key, value in local_env.ensure_local_env().items():
        env.setdefault(key, value)
    redis_url, redis_proc = choose_redis(for_tests=False)
    if redis_proc:
        redis_proc.terminate()  # honcho runs it below, so Ctrl-C stops it with the rest
        redis_proc.wait()
    env["REDIS_URL"] = redis_url
    port = local_platform_port(env)
    base = f"http://127.0.0.1:{port}"
    env.setdefault("AIPLATFORM_IAM_TOKEN_URL", f"{base}/accounts-api/v2/auth/token")
    env.setdefault("AIPLATFORM_MANAGEMENT_URL", base)
    env.setdefault("AIPLATFORM_INFERENCE_URL_TEMPLATE", f"{base}/v1/{{endpoint_id}}")
    compile_catalogs(env)
    for step in prepare_steps(env):
        manage(*step, env=env)
    # Only a configuration that passed the steps above is noted for later `manage.py` commands.
    local_env.write_run_env(env)

    procfile = (ROOT / "Procfile").read_text()
    if not (ROOT / "localplatform" / "__main__.py").exists():
        procfile = "\n".join(ln for ln in procfile.splitlines() if not ln.startswith("platform:"))
    if redis_proc:
        procfile += "\nredis: " + " ".join(private_redis_cmd(redis_url)) + "\n"
    run_procfile = VAR / "Procfile.run"
    run_procfile.write_text(respawning(procfile))
    bind = env.get("GUNICORN_BIND", "127.0.0.1:8000")
    if env.get("LOCALPLATFORM_SEED_UNLISTED_ENDPOINT"):
        say(
            "To try Inference > Add existing endpoint: the local platform also serves "
            f'{base}/v1/{env["LOCALPLATFORM_SEED_UNLISTED_ENDPOINT"]}, made "in the console" '
            "and not imported (call it with the API key 'Local platform API key')"
        )
    say(f"Starting web, worker, beat and the local platform on http://{bind} (Ctrl-C stops all)")
    os.execvpe(  # noqa: S606 (honcho replaces this process, so Ctrl-C reaches it directly)
        sys.executable,
        [sys.executable, "-m", "honcho", "-f", str(run_procfile), "-d", str(ROOT), "start"],
        env,
    )


def respawning(procfile: str) -> str:
    """Each process started again when it dies (scripts/respawn.py), not the whole stack
    stopped by honcho as soon as one exits."""
    lines = []
    for line in procfile.splitlines():
        name, colon, command = line.partition(":")
        if colon and name.strip() and command.strip() and not name.lstrip().startswith("#"):
            line = f"{name}: python scripts/respawn.py {name.strip()} -- {command.strip()}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def private_redis_cmd(url: str) -> list[str]:
    port = url.rsplit(":", 1)[1].split("/")[0]
    return [
        shutil.which("redis-server") or "redis-server",
        "--port",
        port,
        "--bind",
        "127.0.0.1",
        "--dir",
        str(VAR / "redis"),
        "--save",
        "''",
        "--appendonly",
        "no",
    ]


# The Redis databases of the suite's parallel workers when TEST_REDIS_URL does not name them:
# 15 first, then downwards, past 14 (`make bench`'s).
TEST_REDIS_DATABASES = (15, 13, 12, 11)


def test_workers() -> int:
    """How many pytest processes share the suite (pytest-xdist): one more than the cores, at most
    four. Most of a test's time is spent waiting on the real processes it started (gunicorn,
    Celery, Chromium, the local platform): on two cores three workers took the suite from 910 s
    to 780 s (the CPU still idle a third of the time). TEST_WORKERS=1 runs the suite in this one
    process."""
    if os.environ.get("TEST_REDIS_URL"):
        return 1  # one database was chosen: the suite uses no other
    wanted = os.environ.get("TEST_WORKERS", "")
    if wanted:
        return max(1, min(int(wanted), len(TEST_REDIS_DATABASES)))
    return max(1, min((os.cpu_count() or 1) + 1, len(TEST_REDIS_DATABASES)))


def test(pytest_args: list[str]) -> int:
    env = dict(os.environ)
    redis_url, redis_proc = choose_redis(for_tests=True)
    workers = test_workers()
    if workers > 1:
        server = redis_url.rsplit("/", 1)[0]
        urls = [f"{server}/{n}" for n in TEST_REDIS_DATABASES[:workers]]
        say(f"Tests: {workers} workers, Redis databases {', '.join(u[-2:] for u in urls)}")
    else:
        urls = [redis_url]
    env["REDIS_URL"] = redis_url
    env["DATABASE_URL"] = choose_test_database()
    env.setdefault("CACHE_KEY_PREFIX", "idash-test")
    # The suite clears these Redis databases between tests, each worker its own: it refuses to
    # run on any other (tests/conftest.py, tests/xdist_env.py), so a bare `pytest` can never
    # flush a running `make run`'s broker.
    env["IDASH_TEST_REDIS_URL"] = redis_url
    env["IDASH_TEST_REDIS_URLS"] = ",".join(urls)
    compile_catalogs(env)
    spread = ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else ["-p", "no:xdist"]
    try:
        return subprocess.run(
            # -v: the log names every test, so a reader sees the worker and browser tests pass.
            [sys.executable, "-m", "pytest", "-v", *spread, *pytest_args],
            cwd=ROOT,
            env=env,
        ).returncode
    finally:
        if redis_proc:
            redis_proc.terminate()


def bench(bench_args: list[str]) -> int:
    """`python -m bench` on its own Redis database (14) and a fresh database of its own."""
    env = dict(os.environ)
    redis_url, redis_proc = choose_redis(for_tests=False)
    bench_redis = env.get("BENCH_REDIS_URL") or redis_url.rsplit("/", 1)[0] + "/14"
    say(f"Bench Redis: {bench_redis.split('@')[-1]}")
    if postgres_answers():
        database = ["--database", "postgresql"]
        say("Bench database: PostgreSQL at 127.0.0.1:5432 (made fresh for the run)")
    else:
        database = ["--database", "sqlite"]
        say("Bench database: SQLite under var/bench (no PostgreSQL answered at 127.0.0.1:5432)")
    compile_catalogs(env)
    try:
        return subprocess.run(
            [sys.executable, "-m", "bench", "--redis-url", bench_redis, *database, *bench_args],
            cwd=ROOT,
            env=env,
        ).returncode
    finally:
        if redis_proc:
            redis_proc.terminate()


def main() -> None:
    command, *rest = sys.argv[1:] or ["run"]
    if command == "run":
        run()
    elif command == "test":
        sys.exit(test(rest))
    elif command == "bench":
        sys.exit(bench(rest))
    else:
        sys.exit(f"unknown command {command!r}: use run, test or bench")


if __name__ == "__main__":
    main()
