"""Settings for Inference Dashboard, read from the environment only (README, "Configuration")."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from webapp.env import env_bool, env_float, env_int, env_list, env_secret, env_str
from webapp.platform_routes import RoutesFileError, load_routes

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)

# Development values: only used while DEBUG is on (env_secret refuses them otherwise).
SECRET_KEY = env_secret(
    "SECRET_KEY", debug=DEBUG, dev_default="dev-only-insecure-secret-key-change-me-0123456789abcdef"
)
FIELD_ENCRYPTION_KEYS = env_list(
    "FIELD_ENCRYPTION_KEYS",
    # A fixed development key (urlsafe base64 of 32 bytes); `make run` writes a random one.
    ["ZGV2LW9ubHktZmllbGQta2V5LW5vdC1mb3ItcHJvZCE="] if DEBUG else [],
)
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS is not set. It is required when DEBUG is off: a comma-separated "
        "list of Fernet keys, the first one encrypts (python -c 'from cryptography.fernet "
        "import Fernet; print(Fernet.generate_key().decode())')."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is not set. It is required when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "webapp.admin_site.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "webapp",
    "endpoints",
    "playground",
    "gateway",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "webapp.middleware.DependencyDownMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages are sent compressed; streamed replies are not (webapp/middleware.py). Below whitenoise:
    # static files never reach it (whitenoise answers them itself, compressed ahead of time).
    # Django pads each gzip answer with random bytes against BREACH (pages carry CSRF tokens);
    # nothing below reads or rewrites a response body.
    "webapp.middleware.PageGZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that what it renders passes through the CSP, session and message middleware.
    "webapp.error_pages.ErrorPagesMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
ASGI_APPLICATION = "webapp.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "webapp.context_processors.console",
            ],
        },
    }
]

try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
except ValueError as exc:  # an unknown scheme, a malformed URL (never echoed: it holds a password)
    raise ImproperlyConfigured(
        "DATABASE_URL cannot be used: it must look like postgres://user:password@host:5432/name "
        f"or sqlite:////path/to/db.sqlite3 ({type(exc).__name__})."
    ) from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web, the worker and beat share one SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, so that a worker process started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
elif env_bool("DATABASE_POOL", False):
    # The web process (gunicorn.conf.py turns this on): under gevent every request is a new
    # greenlet, so Django's per-thread persistent connections never get reused; a process-wide
    # psycopg pool hands each request a ready connection instead of a new one (~3 ms).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 2),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 20, minimum=1),
        # A database that refuses connections: a request waits this long, then gets a page
        # saying so (webapp/middleware.py), instead of hanging.
        "timeout": env_float("DATABASE_POOL_TIMEOUT", 3.0),
        # The pool gives up retrying in the background after this long (its back-off doubles
        # each time), so that the first request after the database is back connects at once.
        "reconnect_timeout": env_float("DATABASE_POOL_RECONNECT_TIMEOUT", 5.0),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3, minimum=1)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "idash")
CACHES = {
    "default": {
        "BACKEND": "webapp.cache.SharedPoolRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "TIMEOUT": 300,
    }
}
# Sessions live in the database only: with cached_db every signed-in page wrote to Redis, so a
# Redis outage took the whole console down. One indexed read per request is the price.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "webapp.auth_backends.AdminRoleBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("vi", _("Tiếng Việt"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["webapp.formats"]
LANGUAGE_COOKIE_NAME = "idash_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = env_str("TIME_ZONE", "Asia/Ho_Chi_Minh")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            # whitenoise's compressed manifest storage; a missing manifest is said in words.
            else "webapp.static_storage.ManifestStaticFilesStorage"
        )
    },
}

# Security headers. The CSP allows our own static files only: no inline script, no CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# HTTPS behind the TLS proxy comes from wsgi.url_scheme, which gunicorn sets from X-Forwarded-Proto
# only for FORWARDED_ALLOW_IPS (gunicorn.conf.py): Django must not read the header itself, since
# any client can send it.
SECURE_PROXY_SSL_HEADER = None
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]

# Login throttling (django-ratelimit counts in the Redis cache, so it holds across processes).
RATELIMIT_USE_CACHE = "default"
LOGIN_RATE_PER_USERNAME = env_str("LOGIN_RATE_PER_USERNAME", "5/5m")
LOGIN_RATE_PER_IP = env_str("LOGIN_RATE_PER_IP", "30/5m")
# People page: how long a one-time set-password link works once an Admin made it (hours).
SET_PASSWORD_LINK_HOURS = env_int("SET_PASSWORD_LINK_HOURS", 72, minimum=1)

# Celery: Redis broker, JSON only, time limits, beat schedule in webapp/celery.py.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90, minimum=1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A page that enqueues a task while the broker is down learns it within a second (and says so)
# rather than hanging; work that was written first (a deploy, a refresh) is woken by beat later.
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT", 2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The background checks' heartbeat (webapp/heartbeat.py): beat sends one every interval; a stamp
# older than STALE_AFTER (three missed beats by default) means the checks have stopped.
HEARTBEAT_INTERVAL = env_float("HEARTBEAT_INTERVAL_SECONDS", 15.0)
HEARTBEAT_STALE_AFTER = env_float("HEARTBEAT_STALE_AFTER_SECONDS", 3 * HEARTBEAT_INTERVAL)
CELERY_TIMEZONE = TIME_ZONE

# The AI Platform. Defaults point at the local platform (`python -m localplatform`, port 8001).
# For VNG Cloud: AIPLATFORM_IAM_TOKEN_URL=https://iamapis.vngcloud.vn/accounts-api/v2/auth/token,
# AIPLATFORM_MANAGEMENT_URL=https://aiplatform-hcm.api.vngcloud.vn,
# AIPLATFORM_INFERENCE_URL_TEMPLATE=https://inference-aiplatform-{region}.api.vngcloud.vn/v1/{endpoint_id}
AIPLATFORM_IAM_TOKEN_URL = env_str(
    "AIPLATFORM_IAM_TOKEN_URL", "http://127.0.0.1:8001/accounts-api/v2/auth/token"
)
AIPLATFORM_MANAGEMENT_URL = env_str("AIPLATFORM_MANAGEMENT_URL", "http://127.0.0.1:8001")
AIPLATFORM_INFERENCE_URL_TEMPLATE = env_str(
    "AIPLATFORM_INFERENCE_URL_TEMPLATE", "http://127.0.0.1:8001/v1/{endpoint_id}"
)
AIPLATFORM_REGIONS = env_list("AIPLATFORM_REGIONS", ["HCM"])
# Hosts besides the platform's inference hosts (AIPLATFORM_INFERENCE_URL_TEMPLATE) that an endpoint
# may be connected at, https only: the dashboard sends the account's credentials there
# (endpoints/url_policy.py). Comma-separated, host or host:port.
CONNECT_EXTRA_HOSTS = env_list("CONNECT_EXTRA_HOSTS")
# MaaS, where a stored API key is checked (GET /v1/models with the key): empty derives it from
# AIPLATFORM_INFERENCE_URL_TEMPLATE (production: https://maas-llm-aiplatform-{region}.api.vngcloud.vn/v1).
AIPLATFORM_MAAS_URL_TEMPLATE = env_str("AIPLATFORM_MAAS_URL_TEMPLATE", "")
AIPLATFORM_HTTP_TIMEOUT = env_float("AIPLATFORM_HTTP_TIMEOUT", 10.0)
AIPLATFORM_STREAM_READ_TIMEOUT = env_float("AIPLATFORM_STREAM_READ_TIMEOUT", 120.0)


AIPLATFORM_ROUTES_FILE = env_str("AIPLATFORM_ROUTES_FILE")


def _load_routes() -> dict:
    """The management route table: defaults, overridden key by key from a JSON file. A file the
    client could not use (an unknown operation, a path without its slot) stops start-up, naming
    the line at fault."""
    try:
        return load_routes(AIPLATFORM_ROUTES_FILE or None)
    except RoutesFileError as exc:
        raise ImproperlyConfigured(f"AIPLATFORM_ROUTES_FILE: {exc}") from None


AIPLATFORM_ROUTES = _load_routes()
# A console HAR larger than this is refused before it is read (import_console_har, the upload).
CONSOLE_HAR_MAX_BYTES = env_int("CONSOLE_HAR_MAX_BYTES", 50 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Every line (django.request's "Bad Gateway: /share/<token>/send/", CSRF warnings…) names a
    # share or set-password link by its log id, never its token, and a gateway key by its prefix
    # (webapp/logfilters.py).
    "filters": {"secrets": {"()": "webapp.logfilters.RedactSecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own default config adds a second console handler in DEBUG: one is enough.
        # (dictConfig drops a configured logger's handlers: it logs through the root once.)
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # 4xx are answers, not errors: a Viewer's refused POST needs no traceback in the log.
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "INFO"},
    },
}

# whitenoise serves static files from the app server; in development it reads them in place.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- Credentials and tokens (issue 4) ---
# get_token() mints when the stored token has less than this many seconds left.
CREDENTIAL_TOKEN_MIN_VALIDITY = env_int("CREDENTIAL_TOKEN_MIN_VALIDITY", 60)
# The per-credential Redis lock that makes one mint at a time: it expires on its own after
# LOCK_TIMEOUT (a holder that died), and a waiter gives up after LOCK_WAIT seconds.
CREDENTIAL_LOCK_TIMEOUT = env_float("CREDENTIAL_LOCK_TIMEOUT", 3 * AIPLATFORM_HTTP_TIMEOUT)
CREDENTIAL_LOCK_WAIT = env_float("CREDENTIAL_LOCK_WAIT", 3 * AIPLATFORM_HTTP_TIMEOUT + 5)
# Beat looks for tokens past half their life this often (seconds).
CREDENTIAL_REFRESH_INTERVAL = env_float("CREDENTIAL_REFRESH_INTERVAL", 30.0)
# Transient IAM failures: exponential back-off from BASE, capped at CAP, with jitter.
CREDENTIAL_RETRY_BASE = env_float("CREDENTIAL_RETRY_BASE", 5.0)
CREDENTIAL_RETRY_CAP = env_float("CREDENTIAL_RETRY_CAP", 120.0)
# The same ceiling once the last token has expired (nothing works until IAM answers again).
CREDENTIAL_RETRY_CAP_NO_TOKEN = env_float("CREDENTIAL_RETRY_CAP_NO_TOKEN", 30.0)
CREDENTIAL_RETRY_MAX = env_int("CREDENTIAL_RETRY_MAX", 10)
# TOO_MANY_FAILED_LOGINS: wait at least this long (or longer if IAM says so).
CREDENTIAL_LOCKOUT_BACKOFF = env_float("CREDENTIAL_LOCKOUT_BACKOFF", 900.0)
# A platform API key created from the Credentials page is waited for (until ACTIVE) this long.
CREDENTIAL_API_KEY_READY_WAIT = env_float("CREDENTIAL_API_KEY_READY_WAIT", 20.0)

# --- Endpoints, wizard and poller (issue 5) ---
# A deploy still CREATING after this long is marked ERROR (real deploys take 14-48 minutes).
DEPLOY_TIMEOUT_MINUTES = env_int("DEPLOY_TIMEOUT_MINUTES", 60, minimum=1)
# Beat runs the poller this often; each endpoint has its own next_poll_at on top of it.
ENDPOINT_POLL_TICK_SECONDS = env_float("ENDPOINT_POLL_TICK_SECONDS", 5.0)
# The per-endpoint interval starts here while something moves and backs off to the maximum.
ENDPOINT_POLL_MIN_SECONDS = env_float("ENDPOINT_POLL_MIN_SECONDS", 5.0)
ENDPOINT_POLL_MAX_SECONDS = env_float("ENDPOINT_POLL_MAX_SECONDS", 60.0)
# A claimed deploy or poll that has not finished after this long (a killed worker) is claimed again.
# Losing a lease to a slow call is safe (a deploy that lost it never deletes what it made), so it
# is kept short: about the three platform calls of a deploy.
ENDPOINT_CLAIM_SECONDS = env_float("ENDPOINT_CLAIM_SECONDS", 3 * AIPLATFORM_HTTP_TIMEOUT)
# Endpoints at rest (ACTIVE, INACTIVE, ERROR, MISSING, unknown statuses) are compared with the
# platform at least this often, so a change made in the real console shows within one re-check.
ENDPOINT_RECHECK_SECONDS = env_float("ENDPOINT_RECHECK_SECONDS", 60.0)
# An action (stop, start, scale) whose task never reported back (a worker lost it) is given up.
ENDPOINT_ACTION_TIMEOUT_SECONDS = env_float("ENDPOINT_ACTION_TIMEOUT_SECONDS", 600.0)
# A poller pass claims up to this many due endpoints at once (oldest next_poll_at first), in one
# statement; it is large enough that 5,000 moving endpoints are checked in a single round.
ENDPOINT_POLL_BATCH = env_int("ENDPOINT_POLL_BATCH", 10000, minimum=1)
# A pass with a larger backlog claims round after round, but starts no new round after this long
# (it must stay well inside ENDPOINT_CLAIM_SECONDS, the lease of each round).
ENDPOINT_POLL_PASS_SECONDS = env_float("ENDPOINT_POLL_PASS_SECONDS", 10.0)
# How often each credential and region is listed to import endpoints created in the console.
ENDPOINT_DISCOVERY_SECONDS = env_float("ENDPOINT_DISCOVERY_SECONDS", 30.0)
# Model Registry and instance types, cached briefly in the shared cache.
PLATFORM_CATALOG_CACHE_SECONDS = env_int("PLATFORM_CATALOG_CACHE_SECONDS", 120)
# Open pages (overview, list, endpoint) ask whether anything changed this often (webapp/live.py).
LIVE_POLL_SECONDS = env_int("LIVE_POLL_SECONDS", 5, minimum=1)
# How often an open page asks whether Redis answers and the background checks run (the banner).
CONSOLE_BANNER_POLL_SECONDS = env_int("CONSOLE_BANNER_POLL_SECONDS", 30, minimum=1)
# A person may ask the platform for a fresh catalog (Refresh) at most this often.
CATALOG_REFRESH_SECONDS = env_int("CATALOG_REFRESH_SECONDS", 10, minimum=1)

# --- Playground and share links (issue 6) ---
# Longest message and system prompt accepted (characters), in the playground and on share pages.
PLAYGROUND_MESSAGE_MAX_CHARS = env_int("PLAYGROUND_MESSAGE_MAX_CHARS", 8000, minimum=1)
PLAYGROUND_SYSTEM_PROMPT_MAX_CHARS = env_int("PLAYGROUND_SYSTEM_PROMPT_MAX_CHARS", 4000, minimum=1)
# Live share links: messages per window for the whole link and for one visitor (the defaults of
# the share form; each link stores its own); a window opens at a first message and lasts this long.
PLAYGROUND_SHARE_RATE_PER_LINK = env_int("PLAYGROUND_SHARE_RATE_PER_LINK", 30)
PLAYGROUND_SHARE_RATE_PER_VISITOR = env_int("PLAYGROUND_SHARE_RATE_PER_VISITOR", 6)
PLAYGROUND_SHARE_RATE_WINDOW_SECONDS = env_int(
    "PLAYGROUND_SHARE_RATE_WINDOW_SECONDS", 60, minimum=1
)
# How many reverse proxies in front of the web server append to X-Forwarded-For (client_ip.py):
# the client address for the sign-in throttle and the share-link limits is the right-most address
# none of them wrote. 0 (the default): X-Forwarded-For is ignored, the connecting address counts.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Team gateway ---
# /v1/ (docs/gateway.md): personal keys over the team's endpoints, OpenAI-compatible.
# The base URL the snippets show (e.g. https://dashboard.example.com/v1); empty: the own host.
GATEWAY_PUBLIC_URL = env_str("GATEWAY_PUBLIC_URL", "")
# Each web process keeps the endpoint a model name leads to this long (status, credential).
GATEWAY_ROUTE_CACHE_SECONDS = env_float("GATEWAY_ROUTE_CACHE_SECONDS", 2.0)
# A key is re-read from the database at least this often (revocation does not wait for it: every
# request checks the key's version in Redis).
GATEWAY_KEY_CACHE_SECONDS = env_float("GATEWAY_KEY_CACHE_SECONDS", 60.0)
# ...and at most this long after Redis last confirmed its version: the bound on a revoke (or a
# change) made while Redis was unreachable, which could bump no version (gateway.authn).
GATEWAY_KEY_RECHECK_SECONDS = env_float("GATEWAY_KEY_RECHECK_SECONDS", 5.0)
GATEWAY_MAX_BODY_BYTES = env_int("GATEWAY_MAX_BODY_BYTES", 1_000_000, minimum=1)
# Idle connections kept per platform host by each web process (a gevent worker holds ~1000 streams).
GATEWAY_UPSTREAM_POOL_SIZE = env_int("GATEWAY_UPSTREAM_POOL_SIZE", 1000, minimum=1)
# The token budget reserved for a request that names no max_tokens (settled from real usage).
GATEWAY_DEFAULT_MAX_TOKENS = env_int("GATEWAY_DEFAULT_MAX_TOKENS", 800, minimum=1)
# Usage records wait in a Redis list; beat drains them into the database this often, in batches.
GATEWAY_DRAIN_SECONDS = env_float("GATEWAY_DRAIN_SECONDS", 5.0)
GATEWAY_DRAIN_BATCH = env_int("GATEWAY_DRAIN_BATCH", 2000, minimum=1)
# A web process says it is alive this often (a third of it) and for this long: a call still open
# in one that stopped saying so is recorded as failed by the next drain (gateway.open_calls).
GATEWAY_ALIVE_SECONDS = env_float("GATEWAY_ALIVE_SECONDS", 30.0)
GATEWAY_REDIS_PREFIX = env_str("GATEWAY_REDIS_PREFIX", CACHE_KEY_PREFIX + ":gw:")
# The limits the key form starts from (0: none).
GATEWAY_DEFAULT_REQUESTS_PER_MINUTE = env_int("GATEWAY_DEFAULT_REQUESTS_PER_MINUTE", 60)
GATEWAY_DEFAULT_TOKENS_PER_MINUTE = env_int("GATEWAY_DEFAULT_TOKENS_PER_MINUTE", 100_000)
GATEWAY_DEFAULT_TOKENS_PER_DAY = env_int("GATEWAY_DEFAULT_TOKENS_PER_DAY", 0)

# --- Monitoring ---
# docs/monitoring.md: request records and replica samples rolled up per minute and per hour.
# Records of the playground, live demos and load tests, and the reconciler's replica samples, wait
# in Redis; beat drains them this often, in batches. Gateway calls: the gateway's drain rolls up.
MONITORING_DRAIN_SECONDS = env_float("MONITORING_DRAIN_SECONDS", 5.0)
MONITORING_DRAIN_BATCH = env_int("MONITORING_DRAIN_BATCH", 2000, minimum=1)
# A drain's hold on its queue, renewed per batch: a worker that dies mid-drain holds it this long.
MONITORING_DRAIN_LOCK_SECONDS = env_float("MONITORING_DRAIN_LOCK_SECONDS", 30.0)
# How often an open chart asks again, in seconds; 0: by range (1 h 20, 24 h 60, 7 d 300, 30 d 600).
MONITORING_REFRESH_SECONDS = env_float("MONITORING_REFRESH_SECONDS", 0.0)
MONITORING_REDIS_PREFIX = env_str("MONITORING_REDIS_PREFIX", CACHE_KEY_PREFIX + ":mon:")
# Retention in days: raw records and replica samples, minute rollups, hour rollups (13 months).
MONITORING_RAW_DAYS = env_int("MONITORING_RAW_DAYS", 7)
MONITORING_MINUTE_DAYS = env_int("MONITORING_MINUTE_DAYS", 30)
MONITORING_HOUR_DAYS = env_int("MONITORING_HOUR_DAYS", 396)
MONITORING_CLEAN_SECONDS = env_float("MONITORING_CLEAN_SECONDS", 3600.0)
# A replica count holds until the next sample, for at most this long (spend counts no more).
MONITORING_REPLICA_GAP_SECONDS = env_int("MONITORING_REPLICA_GAP_SECONDS", 300)
# Load tests: caps on streams, seconds and tokens per reply; tests running at once (site-wide);
# a Celery queue of their own (empty: the default queue).
MONITORING_LOADTEST_MAX_CONCURRENCY = env_int("MONITORING_LOADTEST_MAX_CONCURRENCY", 32, minimum=1)
MONITORING_LOADTEST_MAX_SECONDS = env_int("MONITORING_LOADTEST_MAX_SECONDS", 120, minimum=1)
MONITORING_LOADTEST_MAX_TOKENS = env_int("MONITORING_LOADTEST_MAX_TOKENS", 256, minimum=1)
MONITORING_LOADTEST_MAX_RUNNING = env_int("MONITORING_LOADTEST_MAX_RUNNING", 1)
MONITORING_LOADTEST_QUEUE = env_str("MONITORING_LOADTEST_QUEUE", "")
