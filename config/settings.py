"""Settings for Violet Connect, read from the environment (and an optional `.env`).

With no configuration at all the portal runs for development: DEBUG on, SQLite
under `var/`, an in-process Celery transport, email printed to the console.

With `DJANGO_ENV=production` it refuses to start until every secret and
deployment setting is given explicitly (see `REQUIRED_IN_PRODUCTION`), and
turns on every protection that `manage.py check --deploy` looks for.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config import production as _production

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}.")
PRODUCTION = DJANGO_ENV == "production"

# --- Production: refuse what cannot work across machines (issue 15) -------
# The secrets and the database, and a real broker, a shared cache, a mail
# server and an https public address: config/production.py names each problem.
REQUIRED_IN_PRODUCTION = _production.REQUIRED + _production.SHARED_SERVICES
# Nor with values that work but are insecure (DEBUG, a wildcard ALLOWED_HOSTS,
# SQLite, SMTP without TLS, http:// BigCommerce, local webhook endpoints, a
# short METRICS_TOKEN): config/production.py's `insecure` names each one.
if PRODUCTION:
    _problems, _unsafe = _production.problems(os.environ), _production.insecure(os.environ)
    if _problems or _unsafe:
        raise ImproperlyConfigured(_production.refusal(_problems, _unsafe))
# --- end of the production block ---------------------------------------------

# Development-only defaults. They are public, so they protect nothing: production
# never falls back to them (checked above).
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"
_DEV_FERNET_KEY = "dev-only-fernet-key-never-use-in-production"

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
# Encryption keys for credentials, newest first: the first one encrypts, all of
# them decrypt. Rotate by prepending a new key, running
# `manage.py rotate_credentials`, then removing the old key.
FERNET_KEYS = env.list("FERNET_KEYS", default=[_DEV_FERNET_KEY])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
if PRODUCTION and (SECRET_KEY == _DEV_SECRET_KEY or _DEV_FERNET_KEY in FERNET_KEYS):
    raise ImproperlyConfigured("SECRET_KEY and FERNET_KEYS must not be the development defaults.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The address merchants and webhooks reach this portal at, e.g.
# https://connect.violet.io (no trailing slash). Used in emails and links.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "axes",
    "merchants",
    "stores",
    "connect",
    "notifications",
    "ops",
    "api",
    "storehooks",
    "console",
    "django.forms",  # the built-in widget templates, for FORM_RENDERER below
]
# Widgets render through TEMPLATES, so templates/admin/widgets/ can give the
# admin's date/time halves their labels (accessibility).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
# Uploaded .txt files are tiny; anything big is refused before it is read:
# form fields by DATA_UPLOAD_MAX_MEMORY_SIZE, a multipart request with files
# by UPLOAD_MAX_REQUEST_BYTES (config/uploads.py, before any view runs).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
UPLOAD_MAX_REQUEST_BYTES = env.int("UPLOAD_MAX_REQUEST_BYTES", default=1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "config.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Times in the signed-in person's zone (their account page sets it).
    "merchants.timezones.UserTimeZoneMiddleware",
    "merchants.tenancy.TenantMiddleware",
    "config.security.SecurityHeadersMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its response.
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for
# one email from one address, that pair is locked out for AXES_COOLOFF_TIME.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The login form's field is "username" even though people log in by email.
AXES_USERNAME_FORM_FIELD = "username"
# Count failures per canonical address (case-folded, NFKC, trimmed): login
# matches addresses that way, so the throttle must too (`merchants.identity`).
AXES_USERNAME_CALLABLE = "merchants.identity.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# Wider limits beside axes' (issue 28, item 7; merchants/login_limits.py):
# wrong passwords for one account from any address, and from one address for
# any accounts, each in its own sliding window. A browser that logged in to
# the account before (a signed cookie) is held by neither.
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=10)
LOGIN_FAILURES_PER_ACCOUNT_WINDOW_SECONDS = env.int("LOGIN_FAILURES_PER_ACCOUNT_WINDOW_SECONDS", default=15 * 60)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=30)
LOGIN_FAILURES_PER_ADDRESS_WINDOW_SECONDS = env.int("LOGIN_FAILURES_PER_ADDRESS_WINDOW_SECONDS", default=60 * 60)
LOGIN_KNOWN_BROWSER_DAYS = env.int("LOGIN_KNOWN_BROWSER_DAYS", default=90)
LOGIN_KNOWN_BROWSER_COOKIE_NAME = "__Host-known_browser" if PRODUCTION else "known_browser"

# --- Second factor (django-otp) ---------------------------------------------
# Staff must, merchants may, sign in with a second factor: a TOTP app plus
# one-time recovery codes (merchants/two_factor/). Every /admin/ URL, the
# admin's own login included, wants a session verified by one of them. There
# is deliberately no setting that turns this off, in any environment.
# The admin app is swapped for one whose site also checks the second factor.
INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = "console.admin_app.VerifiedAdminConfig"
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
_after_auth = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
MIDDLEWARE[_after_auth:_after_auth] = [
    "django_otp.middleware.OTPMiddleware",
    "merchants.two_factor.middleware.SecondFactorMiddleware",
]
OTP_TOTP_ISSUER = "Violet Connect"
# Exponential back-off after wrong codes (1 s, 2 s, 4 s...), per device. On by
# default in django-otp; stated here so nobody sets it to 0.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# After a colleague resets a staff member's second factor, only the one-time
# link they hand over lets that person enrol again; it lasts this long.
SECOND_FACTOR_ENROLMENT_LINK_MINUTES = env.int("SECOND_FACTOR_ENROLMENT_LINK_MINUTES", default=60)
# Wrong codes count as failed logins for django-axes; never store the code.
AXES_SENSITIVE_PARAMETERS = ["code"]

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "merchants.tenancy.tenant_context",
            ],
        },
    },
]

VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat share the file without
    # "database is locked" errors in development.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "merchants.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "connect:home"
LOGOUT_REDIRECT_URL = "login"

# Self-service sign-up: anyone can create a merchant account. Turn off to make
# the portal invitation-only.
SIGNUP_ENABLED = env.bool("SIGNUP_ENABLED", default=True)
INVITATION_MAX_AGE = timedelta(days=env.int("INVITATION_MAX_AGE_DAYS", default=7))
# Invitations are Violet-branded mail to any address: at most so many per
# merchant and per inviter in a sliding window.
INVITATION_THROTTLE_WINDOW_SECONDS = env.int("INVITATION_THROTTLE_WINDOW_SECONDS", default=60 * 60)
INVITATION_THROTTLE_PER_MERCHANT = env.int("INVITATION_THROTTLE_PER_MERCHANT", default=20)
INVITATION_THROTTLE_PER_USER = env.int("INVITATION_THROTTLE_PER_USER", default=10)
# Sign-up and password reset mail any address Violet-branded mail, and sign-up
# creates accounts: each is limited per e-mail address (mails to it) and per
# client address (requests from it) in a sliding window. Over a limit, the
# visitor sees the usual "check your e-mail" page and nothing is sent.
ACCOUNT_MAIL_THROTTLE_WINDOW_SECONDS = env.int("ACCOUNT_MAIL_THROTTLE_WINDOW_SECONDS", default=60 * 60)
ACCOUNT_MAIL_THROTTLE_PER_EMAIL = env.int("ACCOUNT_MAIL_THROTTLE_PER_EMAIL", default=5)
ACCOUNT_MAIL_THROTTLE_PER_ADDRESS = env.int("ACCOUNT_MAIL_THROTTLE_PER_ADDRESS", default=20)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
FORMAT_MODULE_PATH = ["config.formats"]  # one date format everywhere, with its zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Email ---------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# A mail server that hangs must not hold a worker forever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=15)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Violet Connect <connect@violet.io>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Violet staff who hear about every store that breaks.
STAFF_NOTIFICATION_EMAILS = env.list("STAFF_NOTIFICATION_EMAILS", default=[])

# --- Celery --------------------------------------------------------------
# With no configuration Celery uses kombu's filesystem transport: no server to
# install, yet the web process, the worker and beat really share a queue
# (folders under var/celery). CELERY_BROKER_URL=redis://... for real use.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
# A message a dead worker had taken goes back on the queue after this long
# (Redis). Longer than any task; short enough that a lost check is soon redone.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=300),
    # How often live workers sweep for messages a dead worker held (Redis).
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_SECONDS", default=10),
    "unacked_restore_throttle": 1,
    # A worker killed while sweeping leaves the sweep's lock behind; it expires after this.
    "unacked_mutex_expire": env.int("CELERY_UNACKED_MUTEX_EXPIRE_SECONDS", default=300),
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    _control_dir = VAR_DIR / "celery" / "control"
    _control_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        data_folder_in=str(_queue_dir),
        data_folder_out=str(_queue_dir),
        control_folder=str(_control_dir),
    )
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "config.beat:ResilientDatabaseScheduler"

# --- BigCommerce ---------------------------------------------------------
BIGCOMMERCE_API_URL = env.str("BIGCOMMERCE_API_URL", default="https://api.bigcommerce.com").rstrip("/")

# One check's overall budget, retries included, and each request's timeouts.
BIGCOMMERCE_CHECK_DEADLINE_SECONDS = env.float("BIGCOMMERCE_CHECK_DEADLINE_SECONDS", default=20)
BIGCOMMERCE_CONNECT_TIMEOUT_SECONDS = env.float("BIGCOMMERCE_CONNECT_TIMEOUT_SECONDS", default=5)
BIGCOMMERCE_READ_TIMEOUT_SECONDS = env.float("BIGCOMMERCE_READ_TIMEOUT_SECONDS", default=10)
# Per batch: checks in flight at once; per worker process: pooled connections
# (a process running several batches shares them). What `make bench` measures
# (docs/scaling.md): a check waits ~100-300 ms on the network, so 1,000 in
# flight keep a core busy (500 left it idle a fifth of the time on a fast
# day); each is one open connection, never more than the limit.
FLEET_CHECKS_IN_FLIGHT = env.int("FLEET_CHECKS_IN_FLIGHT", default=1000)
FLEET_CONNECTIONS = env.int("FLEET_CONNECTIONS", default=1000)
# A batch is read and recorded this many stores at a time, only as many chunks as
# keep FLEET_CHECKS_IN_FLIGHT on the wire (stores.fleet.check_stores).
FLEET_RECORD_CHUNK = env.int("FLEET_RECORD_CHUNK", default=250)
# The dispatcher queues due stores in batches of this size (one task each), at
# most DISPATCH_MAX_PER_RUN per run (every minute). A million stores every 15
# minutes fall due 66,667 a minute: the cap leaves 1.5 x that, so a backlog
# clears, and 100,000 claims are checked well within CHECK_LEASE_SECONDS.
DISPATCH_BATCH_SIZE = env.int("DISPATCH_BATCH_SIZE", default=1000)
DISPATCH_MAX_PER_RUN = env.int("DISPATCH_MAX_PER_RUN", default=100_000)

# A claimed store's check must finish within this; past it, the store is
# claimed again (a worker or a queue message was lost).
CHECK_LEASE_SECONDS = env.int("CHECK_LEASE_SECONDS", default=10 * 60)

# How often each connected store is revalidated (with ±10% jitter): a light
# check (GET /v2/store alone) every STORE_CHECK_INTERVAL_MINUTES, a full one
# (every scope probe) at least every SCOPE_CHECK_INTERVAL_MINUTES; and the
# rules that keep a passing outage from raising a false alarm.
STORE_CHECK_INTERVAL_MINUTES = env.float("STORE_CHECK_INTERVAL_MINUTES", default=15)
SCOPE_CHECK_INTERVAL_MINUTES = env.int("SCOPE_CHECK_INTERVAL_MINUTES", default=24 * 60)
STORE_CONFIRM_AFTER_SECONDS = env.int("STORE_CONFIRM_AFTER_SECONDS", default=60)
STORE_UNREACHABLE_AFTER_FAILURES = env.int("STORE_UNREACHABLE_AFTER_FAILURES", default=3)
STORE_UNREACHABLE_AFTER_MINUTES = env.int("STORE_UNREACHABLE_AFTER_MINUTES", default=30)
CHECK_RETENTION_DAYS = env.int("CHECK_RETENTION_DAYS", default=90)
# The store event feed (docs/events.md) keeps this many days; a reader whose
# cursor is older than what was pruned is told to start again (HTTP 410).
STORE_EVENT_RETENTION_DAYS = env.int("STORE_EVENT_RETENTION_DAYS", default=30)

# --- Fleet-wide incidents (stores/incident_rule.py, docs/incidents.md) ----
# When one kind of failure (503, 401, unreachable…) rises far above normal
# across many stores at once, an incident opens: that kind flips no store and
# tells no merchant until it closes; staff hear once.
INCIDENT_DETECTION = env.bool("INCIDENT_DETECTION", default=True)
INCIDENT_WINDOW_MINUTES = env.int("INCIDENT_WINDOW_MINUTES", default=10)
INCIDENT_MIN_STORES = env.int("INCIDENT_MIN_STORES", default=5)
INCIDENT_MIN_MERCHANTS = env.int("INCIDENT_MIN_MERCHANTS", default=3)
INCIDENT_MIN_SHARE = env.float("INCIDENT_MIN_SHARE", default=0.05)
INCIDENT_RATE_FACTOR = env.float("INCIDENT_RATE_FACTOR", default=10.0)
INCIDENT_BASELINE_DAYS = env.int("INCIDENT_BASELINE_DAYS", default=7)
INCIDENT_CLOSE_WINDOW_MINUTES = env.int("INCIDENT_CLOSE_WINDOW_MINUTES", default=5)
INCIDENT_CLOSE_MIN_CHECKS = env.int("INCIDENT_CLOSE_MIN_CHECKS", default=3)
INCIDENT_CLOSE_SHARE = env.float("INCIDENT_CLOSE_SHARE", default=0.025)
# A held failure is checked again somewhere between these (spread).
INCIDENT_RECHECK_MIN_MINUTES = env.int("INCIDENT_RECHECK_MIN_MINUTES", default=10)
INCIDENT_RECHECK_MAX_MINUTES = env.int("INCIDENT_RECHECK_MAX_MINUTES", default=60)
# Reference stores (canaries) are checked this often.
REFERENCE_CHECK_INTERVAL_SECONDS = env.int("REFERENCE_CHECK_INTERVAL_SECONDS", default=60)

# --- BigCommerce webhooks (storehooks) ----------------------------------
# Connecting a store registers store/information/updated and
# store/app/uninstalled through its own API account, delivered to
# PUBLIC_BASE_URL/bigcommerce/webhooks/<store_hash>/ and signed with its
# Client secret. BigCommerce only delivers to https (port 443): on by default
# when PUBLIC_BASE_URL is https.
BIGCOMMERCE_WEBHOOKS_ENABLED = env.bool("BIGCOMMERCE_WEBHOOKS_ENABLED", default=PUBLIC_BASE_URL.startswith("https://"))
# Budget of one registration or profile refresh, retries included.
BIGCOMMERCE_WEBHOOKS_CALL_TIMEOUT_SECONDS = env.float("BIGCOMMERCE_WEBHOOKS_CALL_TIMEOUT_SECONDS", default=20)
# Disconnecting waits at most this long for the store's hooks to be deleted.
BIGCOMMERCE_WEBHOOKS_CLEANUP_TIMEOUT_SECONDS = env.float("BIGCOMMERCE_WEBHOOKS_CLEANUP_TIMEOUT_SECONDS", default=3)
# A delivery body larger than this is refused unread (BigCommerce's are < 1 KB).
BIGCOMMERCE_WEBHOOK_MAX_BODY_BYTES = env.int("BIGCOMMERCE_WEBHOOK_MAX_BODY_BYTES", default=64 * 1024)
# This many deliveries in a row signed with another key, and none verified
# since the credentials were saved, make the store page say the Client secret
# looks wrong.
BIGCOMMERCE_WEBHOOK_FAILURES_BEFORE_WARNING = env.int("BIGCOMMERCE_WEBHOOK_FAILURES_BEFORE_WARNING", default=3)
BIGCOMMERCE_WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("BIGCOMMERCE_WEBHOOK_DELIVERY_RETENTION_DAYS", default=90)
# The keep-alive sweep (storehooks.services.keepalive): each connected store's
# hooks are listed, re-activated, re-created and de-duplicated this often, and
# after the store recovers to connected; so many stores at once, at most so
# many per run (the periodic task runs every 15 minutes).
BIGCOMMERCE_WEBHOOKS_SWEEP_INTERVAL_DAYS = env.float("BIGCOMMERCE_WEBHOOKS_SWEEP_INTERVAL_DAYS", default=7)
BIGCOMMERCE_WEBHOOKS_SWEEP_CONCURRENCY = env.int("BIGCOMMERCE_WEBHOOKS_SWEEP_CONCURRENCY", default=8)
BIGCOMMERCE_WEBHOOKS_SWEEP_MAX_PER_RUN = env.int("BIGCOMMERCE_WEBHOOKS_SWEEP_MAX_PER_RUN", default=2000)

# Outgoing webhook endpoints: outside production, http:// and loopback are
# allowed too (the demo, tests' local receivers). Private and link-local
# addresses never are (notifications/destinations.py).
WEBHOOK_ENDPOINTS_ALLOW_LOCAL = env.bool("WEBHOOK_ENDPOINTS_ALLOW_LOCAL", default=not PRODUCTION)

# /health/ reports beat as stale when the dispatcher has not run for this long.
HEALTH_BEAT_STALE_MINUTES = env.int("HEALTH_BEAT_STALE_MINUTES", default=5)
# A staff API token stops working this many days after it was issued.
API_TOKEN_LIFETIME_DAYS = env.int("API_TOKEN_LIFETIME_DAYS", default=365)
# Credential release (issue 25; docs/service-clients.md). Every release with a
# secret is recorded and kept this long:
CREDENTIAL_RELEASE_RETENTION_DAYS = env.int("CREDENTIAL_RELEASE_RETENTION_DAYS", default=400)
# At most this many releases with a secret per client in any window (429 and Retry-After beyond).
CREDENTIAL_RELEASE_RATE_LIMIT = env.int("CREDENTIAL_RELEASE_RATE_LIMIT", default=1200)
CREDENTIAL_RELEASE_RATE_WINDOW_SECONDS = env.int("CREDENTIAL_RELEASE_RATE_WINDOW_SECONDS", default=60)
# Staff are mailed (once a day per client) when a client reads more distinct
# stores in the last hour than FACTOR times its average of distinct stores a
# day over the BASELINE_DAYS before, and at least MIN_STORES.
CREDENTIAL_RELEASE_ALERT_FACTOR = env.float("CREDENTIAL_RELEASE_ALERT_FACTOR", default=3.0)
CREDENTIAL_RELEASE_ALERT_MIN_STORES = env.int("CREDENTIAL_RELEASE_ALERT_MIN_STORES", default=50)
CREDENTIAL_RELEASE_ALERT_BASELINE_DAYS = env.int("CREDENTIAL_RELEASE_ALERT_BASELINE_DAYS", default=7)

# The BigCommerce proxy (api/proxy.py, docs/service-clients.md): bodies up to
# these sizes pass; a decrypted token is kept in a process's memory this long
# (and dropped at once when the store's credentials change); a quota BigCommerce
# says is spent blocks the store's proxied calls for at most this long.
PROXY_MAX_REQUEST_BYTES = env.int("PROXY_MAX_REQUEST_BYTES", default=2 * 1024 * 1024)
PROXY_MAX_RESPONSE_BYTES = env.int("PROXY_MAX_RESPONSE_BYTES", default=32 * 1024 * 1024)
PROXY_TOKEN_CACHE_SECONDS = env.int("PROXY_TOKEN_CACHE_SECONDS", default=300)
PROXY_QUOTA_MAX_WAIT_SECONDS = env.int("PROXY_QUOTA_MAX_WAIT_SECONDS", default=60)
PROXY_CONNECTIONS = env.int("PROXY_CONNECTIONS", default=500)
PROXY_CONNECT_TIMEOUT_SECONDS = env.float("PROXY_CONNECT_TIMEOUT_SECONDS", default=5.0)
PROXY_READ_TIMEOUT_SECONDS = env.float("PROXY_READ_TIMEOUT_SECONDS", default=60.0)
# A request body that stalls this long between two pieces is abandoned (408):
# while it streams up it holds one of the PROXY_CONNECTIONS.
PROXY_BODY_IDLE_TIMEOUT_SECONDS = env.float("PROXY_BODY_IDLE_TIMEOUT_SECONDS", default=15.0)
# Detection from real traffic (docs/traffic-signals.md): a definitive answer to
# Violet's own traffic queues the store's confirming check at once, at most
# once per store per this many seconds; signals are kept this long; a client
# may report this many per window (429 and Retry-After beyond).
TRAFFIC_SIGNAL_CHECK_INTERVAL_SECONDS = env.int("TRAFFIC_SIGNAL_CHECK_INTERVAL_SECONDS", default=60)
TRAFFIC_SIGNAL_RETENTION_DAYS = env.int("TRAFFIC_SIGNAL_RETENTION_DAYS", default=30)
TRAFFIC_SIGNAL_RATE_LIMIT = env.int("TRAFFIC_SIGNAL_RATE_LIMIT", default=600)
TRAFFIC_SIGNAL_RATE_WINDOW_SECONDS = env.int("TRAFFIC_SIGNAL_RATE_WINDOW_SECONDS", default=60)
# /health/ready remembers its answer this long in each process (a probe storm costs one round trip).
HEALTH_READY_CACHE_SECONDS = env.float("HEALTH_READY_CACHE_SECONDS", default=5.0)
# When set, /metrics wants "Authorization: Bearer <token>".
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Production never serves /metrics to anyone who asks: it refuses to start
# without a token of at least 32 characters (config/production.py).

# Live credential checks from the merchant forms, per window: so the form
# cannot be used to test stolen tokens.
CONNECT_THROTTLE_WINDOW_SECONDS = env.int("CONNECT_THROTTLE_WINDOW_SECONDS", default=15 * 60)
CONNECT_THROTTLE_PER_MERCHANT = env.int("CONNECT_THROTTLE_PER_MERCHANT", default=10)
CONNECT_THROTTLE_PER_ADDRESS = env.int("CONNECT_THROTTLE_PER_ADDRESS", default=20)
# "Check now" on a store page: at most once per this many seconds per store.
CHECK_NOW_MIN_INTERVAL_SECONDS = env.int("CHECK_NOW_MIN_INTERVAL_SECONDS", default=60)

# Counters (throttles) must be shared by every web process in production:
# CACHE_URL=redis://... there. The default is per process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Logging -------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# LOGGING: see the deployment block at the end.

# --- Security ------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_AGE = 60 * 60 * 12
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Deployment: client address, logs, metrics, errors (issue 15) ----------
# How many proxies in front of the portal append to X-Forwarded-For (a load
# balancer: 1). 0 ignores the header: a client cannot pick its own address.
# config/client_address.py is the one place that reads it; the throttles,
# django-axes and the request log all ask it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_ip"
# One line a request (route pattern, status, time, client address).
MIDDLEWARE.insert(0, "config.logging.RequestLogMiddleware")

# JSON lines in production (python-json-logger), plain text otherwise; every
# line carries the fields bound by config.logging (store hash, check id, task,
# client address).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
from config.logging import logging_config  # noqa: E402

LOGGING = logging_config(json_lines=LOG_FORMAT == "json", level=LOG_LEVEL)
# Error reports hide what sensitive_variables / sensitive_post_parameters mark, DEBUG or not.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.reporting.AlwaysSafeExceptionReporterFilter"

# Celery workers serve their own /metrics here (their pool children's figures
# added up through PROMETHEUS_MULTIPROC_DIR); unset: none.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)

# Error reports to Sentry when SENTRY_DSN is set, scrubbed of every secret
# by config.sentry.before_send.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from config.sentry import init as _init_sentry  # noqa: E402

    _init_sentry(SENTRY_DSN, environment=DJANGO_ENV, traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", 0.0))
# /health/ lists the Celery workers that answer a ping within this long.
HEALTH_WORKER_PING_SECONDS = env.float("HEALTH_WORKER_PING_SECONDS", default=1.0)
# --- end of the deployment block ---------------------------------------------
