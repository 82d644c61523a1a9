"""Settings for jirasync: wiring only, every value from the environment.

Each variable has a default that lets a fresh clone run, except secrets, which
have a development default only while DEBUG is on.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# JIRASYNC_ENV_FILE names another settings file, or none when empty (bin/test: the suite never reads a .env).
ENV_FILE = env.str("JIRASYNC_ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Development-only secrets; never used when DEBUG is off.
_DEV_SECRET_KEY = "django-insecure-jirasync-development-only-key"
_DEV_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQtb25seS1rZXktZGV2ZWxvcG1lbnQ="


def _secret(name: str, dev_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off (see .env.example).")


SECRET_KEY = _secret("SECRET_KEY", _DEV_SECRET_KEY)
JIRASYNC_ENCRYPTION_KEYS = [
    key.strip() for key in _secret("JIRASYNC_ENCRYPTION_KEYS", _DEV_ENCRYPTION_KEY).split(",") if key.strip()
]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "jirasync_site.apps.JirasyncAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_prometheus",
    "django_q",
    "axes",
    "import_export",
    "projects",
    "config",
    "issues",
    "agile",
    "activity",
    "syncing",
    "audit",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # answers a locked-out login; last but for the metrics' own
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# --- Login throttling (django-axes) --------------------------------------------
# A user name is locked from one client address after LOGIN_FAILURE_LIMIT failed logins, for
# LOGIN_LOCKOUT_MINUTES (failures meanwhile extend it). Locked attempts are answered 429 before any
# password is hashed, so guessing clients cannot tie up the web workers; the same name from another
# address still logs in, so one attacker cannot lock everyone out. Unlock: delete the user's access
# attempts in admin, or `manage.py axes_reset_username NAME`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# What a locked-out user reads: how long, and how an administrator lifts it sooner.
AXES_COOLOFF_MESSAGE = (
    f"Too many failed logins for this user from this address: locked for {AXES_COOLOFF_TIME.seconds // 60} minutes. "
    "An administrator can lift it sooner with `manage.py axes_reset_username USERNAME`."
)
AXES_CLIENT_IP_CALLABLE = "jirasync_site.client_ip.client_ip"
# Proxies whose X-Forwarded-For is believed (the production profile trusts nginx on 127.0.0.1).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

ROOT_URLCONF = "jirasync_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

WSGI_APPLICATION = "jirasync_site.wsgi.application"

# Content-Security-Policy (Django's own middleware): scripts and styles only from this site or with the
# page's nonce (admin's templates and ours carry it), no inline style attributes, no plugins, no
# framing, forms post only here. The dashboard's charts are inline SVG and need nothing more.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
# Every admin message is redacted: actions report what Jira said, and Jira may echo credentials.
MESSAGE_STORAGE = "jirasync_site.message_storage.RedactingStorage"

# --- Database -----------------------------------------------------------------
_PROMETHEUS_ENGINES = {
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
}
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'jirasync.sqlite3'}"),
}
_db = DATABASES["default"]
_db["ENGINE"] = _PROMETHEUS_ENGINES.get(_db["ENGINE"], _db["ENGINE"])
if _db["ENGINE"].endswith("sqlite3"):
    # WAL and a busy timeout let the web process and a worker share the file.
    _db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
            "transaction_mode": "IMMEDIATE",
        }
    )
    if _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db.setdefault("TEST", {})["NAME"] = str(BASE_DIR / "var" / "test_jirasync.sqlite3")
else:
    _db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    _db["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://jirasync")}
# django-prometheus' wrappers count cache hits and misses (its Redis one needs django-redis: left as is).
_PROMETHEUS_CACHES = {
    f"django.core.cache.backends.{name}": f"django_prometheus.cache.backends.{name}"
    for name in ("locmem.LocMemCache", "filebased.FileBasedCache", "memcached.PyMemcacheCache")
}
CACHES["default"]["BACKEND"] = _PROMETHEUS_CACHES.get(CACHES["default"]["BACKEND"], CACHES["default"]["BACKEND"])

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")

# --- jirasync -----------------------------------------------------------------
JIRASYNC_MAPPING_FILE = env.path("JIRASYNC_MAPPING_FILE", default=BASE_DIR / "config" / "field_mappings.json")
JIRASYNC_SYNC_OVERLAP_MINUTES = env.int("JIRASYNC_SYNC_OVERLAP_MINUTES", default=5)

# --- Admin exports (django-import-export) ------------------------------------------
# Exporting a list needs the model's view permission: it shows no more than paging through the list.
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# --- Background jobs (django-q2) ----------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    # Deployments sharing one Redis keep apart by name (the broker's keys are named after it).
    "name": env.str("Q_CLUSTER_NAME", default="jirasync"),
    "workers": env.int("Q_WORKERS", default=2),
    # A full sync of a large project can run for a long time; the timeout bounds a hung task.
    "timeout": env.int("Q_TIMEOUT", default=3600),
    # retry must exceed timeout, or a still-running task is handed to a second worker.
    "retry": env.int("Q_RETRY", default=3900),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=2),
    # A missed schedule runs once when the cluster returns, not once per missed slot.
    "catch_up": False,
    "save_limit": env.int("Q_SAVE_LIMIT", default=1000),
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Logging -------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text")  # text | json
LOG_FILE = env.str("LOG_FILE", default="")
_handlers: dict[str, dict] = {
    "console": {
        "class": "logging.StreamHandler",
        "level": LOG_LEVEL,
        "formatter": LOG_FORMAT,
        "filters": ["redact_secrets"],
    },
}
if LOG_FILE:
    _handlers["file"] = {
        "class": "logging.handlers.RotatingFileHandler",
        "filename": LOG_FILE,
        "maxBytes": env.int("LOG_FILE_MAX_BYTES", default=20 * 1024 * 1024),
        "backupCount": env.int("LOG_FILE_BACKUPS", default=5),
        "level": LOG_LEVEL,
        "formatter": LOG_FORMAT,
        "filters": ["redact_secrets"],
    }
# Each sync run keeps its own log (admin shows it on the run's page) down to DEBUG — every request to Jira
# with its status and duration — while the handlers above keep LOG_LEVEL.
_handlers["run_log"] = {"class": "syncing.runs.run_log.RunLogHandler", "level": "DEBUG", "filters": ["redact_secrets"]}
JIRASYNC_RUN_LOG_MAX_LINES = env.int("JIRASYNC_RUN_LOG_MAX_LINES", default=5000)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "lib.log_redaction.RedactSecretsFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "lib.log_redaction.JsonLinesFormatter"},
    },
    "handlers": _handlers,
    "root": {"handlers": list(_handlers), "level": LOG_LEVEL},
    "loggers": {
        "syncing": {"level": "DEBUG"},  # for the run logs: the other handlers drop below LOG_LEVEL
        # Django's own defaults give these two handlers of their own, without the redaction filter (runserver's
        # request lines carry query strings): they write through ours instead.
        "django": {"handlers": list(_handlers), "level": "INFO", "propagate": False},
        "django.server": {"handlers": list(_handlers), "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
JIRASYNC_PAGE_SIZE = env.int("JIRASYNC_PAGE_SIZE", default=100)
JIRASYNC_BACKOFF_BASE = env.float("JIRASYNC_BACKOFF_BASE", default=2.0)
JIRASYNC_MAX_RETRIES = env.int("JIRASYNC_MAX_RETRIES", default=5)
# One request's whole answer must arrive within this (a Jira that trickles its body is cut off and retried),
# and may be at most this large (a larger one is not read: an oversized issue costs its own row).
JIRASYNC_REQUEST_DEADLINE_SECONDS = env.float("JIRASYNC_REQUEST_DEADLINE_SECONDS", default=180.0)
JIRASYNC_MAX_RESPONSE_MB = env.float("JIRASYNC_MAX_RESPONSE_MB", default=32.0)
# A project's claim is a lease its holder renews every quarter of it; another worker may take the project
# only after it expired, and a run whose lease ran out is ended as abandoned.
JIRASYNC_CLAIM_LEASE_SECONDS = env.int("JIRASYNC_CLAIM_LEASE_SECONDS", default=120)
# A census that would soft-delete more than this share of a project (and more than GUARD_MIN issues)
# stops instead: a lost permission looks exactly like mass deletion.
JIRASYNC_CENSUS_MAX_DELETE_SHARE = env.float("JIRASYNC_CENSUS_MAX_DELETE_SHARE", default=0.2)
JIRASYNC_CENSUS_GUARD_MIN = env.int("JIRASYNC_CENSUS_GUARD_MIN", default=5)
# glibc malloc arenas per process (as MALLOC_ARENA_MAX); 0 leaves glibc's default (8 × cores).
JIRASYNC_MALLOC_ARENAS = env.int("JIRASYNC_MALLOC_ARENAS", default=2)

# Webhooks: the largest body accepted (one limit: Django's own upload limit does not apply to them),
# and how many issue refreshes may wait per instance before more deliveries are answered 429.
JIRASYNC_WEBHOOK_MAX_BYTES = env.int("JIRASYNC_WEBHOOK_MAX_BYTES", default=5 * 1024 * 1024)
JIRASYNC_WEBHOOK_MAX_PENDING = env.int("JIRASYNC_WEBHOOK_MAX_PENDING", default=1000)

# --- Operations ---------------------------------------------------------------
# /metrics answers a bearer token or an allowed address (IPs or networks); with neither set it is closed.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# /readyz wants a qcluster heartbeat (a task every minute) at most this old.
READYZ_WORKER_MAX_AGE = env.int("READYZ_WORKER_MAX_AGE", default=180)
# `manage.py prune` (also daily on the queue): what is older than this goes. Configuration audit
# entries are kept at least 365 days whatever RETENTION_AUDIT_DAYS says.
RETENTION_SYNC_RUN_DAYS = env.int("RETENTION_SYNC_RUN_DAYS", default=90)
RETENTION_AUDIT_DAYS = env.int("RETENTION_AUDIT_DAYS", default=365)
RETENTION_TASK_RESULT_DAYS = env.int("RETENTION_TASK_RESULT_DAYS", default=14)
