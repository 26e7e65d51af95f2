"""Command line and environment: every option `--foo-bar` is also `LOCALPLATFORM_FOO_BAR`.

Options given several times (`--service-account`, `--api-key`) take a comma-separated list from
the environment. The command line wins over the environment.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field

FAULT_KEYS = {
    "iam_unavailable": bool,
    "error_ratio": float,
    "latency_ms": int,
    "deploy_fail": bool,
    "deploy_hang": bool,
    "token_ttl": int,
    "stream_cut_after": int,
    "stream_error_after": int,
    "stream_truncate_after": int,
    "rate_limit_retry_after": int,
    "token_per_second": float,
    # Benchmarks only: each content chunk's text is the wall-clock time it was written out;
    # replies always run to max_tokens (a stream of known length).
    "stamp_chunks": bool,
    "ignore_eos": bool,
    # A model server without `GET /v1/models` (only /v1/chat/completions): that route answers
    # this status (404 or 405) on every endpoint.
    "models_route_off": int,
}


@dataclass(frozen=True)
class ServiceAccount:
    client_id: str
    client_secret: str = field(repr=False)
    read_only: bool = False


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8001
    public_url: str = ""
    service_accounts: list[ServiceAccount] = field(default_factory=list)
    api_keys: list[str] = field(default_factory=list)
    seed_endpoint: str = ""
    seed_endpoint_name: str = "demo-endpoint"
    # Served on the data plane only, absent from the management API's answers: an endpoint "made
    # in the console" that the dashboard cannot import, only connect by its URL.
    seed_unlisted_endpoint: str = ""
    deploy_seconds: float = 20.0
    update_seconds: float = 5.0
    delete_seconds: float = 3.0
    api_key_seconds: float = 2.0
    token_ttl: int = 1800
    token_per_second: float = 30.0
    target_inflight_per_replica: int = 4
    scale_down_seconds: float = 30.0
    lockout_after: int = 5
    lockout_seconds: float = 300.0
    api_key_quota: int = 2
    upstream_url: str = ""
    upstream_api_key: str = field(default="", repr=False)
    upstream_model: str = ""
    faults: dict = field(default_factory=dict)
    access_log: bool = False
    # Endpoint objects without `url`, as the real platform's may be: the dashboard then builds
    # the data-plane URL from AIPLATFORM_INFERENCE_URL_TEMPLATE.
    omit_url: bool = False
    # Which paths, envelope and field names the management API uses (localplatform/profiles.py).
    route_profile: str = "default"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


def parse_service_account(raw: str) -> ServiceAccount:
    parts = raw.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError(f"expected ID:SECRET or ID:SECRET:readonly, not {raw!r}")
    read_only = len(parts) == 3 and parts[2].lower() in {"readonly", "read-only", "ro"}
    return ServiceAccount(client_id=parts[0], client_secret=parts[1], read_only=read_only)


def parse_faults(raw: str) -> dict:
    data = json.loads(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError("faults must be a JSON object")
    unknown = set(data) - set(FAULT_KEYS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown fault(s): {', '.join(sorted(unknown))}")
    return {key: FAULT_KEYS[key](value) for key, value in data.items()}


def _env(name: str) -> str | None:
    return os.environ.get("LOCALPLATFORM_" + name)


def _env_list(name: str) -> list[str]:
    raw = _env(name) or ""
    return [item.strip() for item in raw.split(",") if item.strip()]


def _env_bool(name: str) -> bool:
    return (_env(name) or "").strip().lower() in {"1", "true", "yes", "on"}


def build_parser() -> argparse.ArgumentParser:
    defaults = Config()
    p = argparse.ArgumentParser(
        prog="python -m localplatform",
        description="The local AI Platform: IAM tokens, endpoint management and an "
        "OpenAI-compatible data plane, in memory, on loopback.",
    )

    def opt(flag: str, env: str, default, kind=str, help_text: str = ""):
        raw = _env(env)
        value = kind(raw) if raw not in (None, "") else default
        p.add_argument(
            flag, type=kind, default=value, help=f"{help_text} [env LOCALPLATFORM_{env}]"
        )

    opt("--host", "HOST", defaults.host, str, "interface to listen on")
    opt("--port", "PORT", defaults.port, int, "port (0 picks a free one)")
    opt("--public-url", "PUBLIC_URL", "", str, "base URL written into endpoint URLs")
    p.add_argument(
        "--service-account",
        dest="service_accounts",
        metavar="ID:SECRET",
        action="append",
        type=parse_service_account,
        default=None,
        help="ID:SECRET[:readonly], repeatable "
        "[env LOCALPLATFORM_SERVICE_ACCOUNTS, comma-separated]",
    )
    opt(
        "--accounts-file",
        "ACCOUNTS_FILE",
        "",
        str,
        'JSON file {"service_accounts": [{"client_id", "client_secret", "read_only"}], '
        '"api_keys": ["..."]}',
    )
    p.add_argument(
        "--api-key",
        dest="api_keys",
        metavar="KEY",
        action="append",
        default=None,
        help="an API key of the account, repeatable [env LOCALPLATFORM_API_KEYS, comma-separated]",
    )
    opt("--seed-endpoint", "SEED_ENDPOINT", "", str, "create this ACTIVE demo endpoint at start")
    opt(
        "--seed-endpoint-name",
        "SEED_ENDPOINT_NAME",
        defaults.seed_endpoint_name,
        str,
        "name of the seed endpoint",
    )
    opt(
        "--seed-unlisted-endpoint",
        "SEED_UNLISTED_ENDPOINT",
        "",
        str,
        "create this ACTIVE endpoint (console-endpoint) on the data plane only: the management "
        "API does not list it, so the dashboard can only connect it by its URL",
    )
    opt(
        "--deploy-seconds",
        "DEPLOY_SECONDS",
        defaults.deploy_seconds,
        float,
        "CREATING -> ACTIVE time",
    )
    opt(
        "--update-seconds",
        "UPDATE_SECONDS",
        defaults.update_seconds,
        float,
        "UPDATING -> ACTIVE time",
    )
    opt(
        "--delete-seconds",
        "DELETE_SECONDS",
        defaults.delete_seconds,
        float,
        "DELETING -> gone time",
    )
    opt(
        "--api-key-seconds",
        "API_KEY_SECONDS",
        defaults.api_key_seconds,
        float,
        "API key PENDING -> ACTIVE and DELETING -> gone time",
    )
    opt("--token-ttl", "TOKEN_TTL", defaults.token_ttl, int, "IAM token expires_in, seconds")
    opt(
        "--token-per-second",
        "TOKEN_PER_SECOND",
        defaults.token_per_second,
        float,
        "demo model pace (0 = instant)",
    )
    opt(
        "--target-inflight-per-replica",
        "TARGET_INFLIGHT_PER_REPLICA",
        defaults.target_inflight_per_replica,
        int,
        "autoscaling target",
    )
    opt(
        "--scale-down-seconds",
        "SCALE_DOWN_SECONDS",
        defaults.scale_down_seconds,
        float,
        "how long load must stay low before replicas are removed",
    )
    opt(
        "--lockout-after",
        "LOCKOUT_AFTER",
        defaults.lockout_after,
        int,
        "failed logins before TOO_MANY_FAILED_LOGINS",
    )
    opt(
        "--lockout-seconds",
        "LOCKOUT_SECONDS",
        defaults.lockout_seconds,
        float,
        "how long a locked client id stays locked",
    )
    opt("--api-key-quota", "API_KEY_QUOTA", defaults.api_key_quota, int, "API keys per account")
    opt(
        "--upstream-url",
        "UPSTREAM_URL",
        "",
        str,
        "forward inference to this OpenAI-compatible base URL (ending in /v1)",
    )
    opt("--upstream-api-key", "UPSTREAM_API_KEY", "", str, "Bearer token for the upstream")
    opt("--upstream-model", "UPSTREAM_MODEL", "", str, "model name to send upstream")
    opt("--faults", "FAULTS", {}, parse_faults, "faults at start, as JSON")
    p.add_argument(
        "--access-log",
        action="store_true",
        default=_env_bool("ACCESS_LOG"),
        help="log every request to stderr [env LOCALPLATFORM_ACCESS_LOG]",
    )
    p.add_argument(
        "--omit-url",
        action="store_true",
        default=_env_bool("OMIT_URL"),
        help="leave `url` out of endpoint objects, so that clients build it from their template "
        "[env LOCALPLATFORM_OMIT_URL]",
    )
    opt(
        "--route-profile",
        "ROUTE_PROFILE",
        defaults.route_profile,
        _profile_name,
        "management paths, envelope and field names: default, or alt (stands in for the real "
        "console's routes)",
    )
    return p


def _profile_name(raw: str) -> str:
    from localplatform.profiles import PROFILES

    if raw not in PROFILES:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(PROFILES)}, not {raw!r}")
    return raw


def load_config(argv: list[str] | None = None) -> Config:
    args = build_parser().parse_args(argv)
    accounts = args.service_accounts
    if accounts is None:
        accounts = [parse_service_account(raw) for raw in _env_list("SERVICE_ACCOUNTS")]
    api_keys = args.api_keys if args.api_keys is not None else _env_list("API_KEYS")
    if args.accounts_file:
        with open(args.accounts_file, encoding="utf-8") as fh:
            data = json.load(fh)
        for item in data.get("service_accounts", []):
            accounts.append(
                ServiceAccount(
                    client_id=item["client_id"],
                    client_secret=item["client_secret"],
                    read_only=bool(item.get("read_only", False)),
                )
            )
        api_keys = [*api_keys, *data.get("api_keys", [])]
    values = {
        key: value
        for key, value in vars(args).items()
        if key not in {"service_accounts", "api_keys", "accounts_file"}
    }
    return Config(service_accounts=accounts, api_keys=api_keys, **values)
