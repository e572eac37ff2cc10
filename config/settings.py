"""Settings, read from the environment (django-environ).

Without configuration the system runs on SQLite and an embedded Celery broker (kombu's filesystem
transport) under ``var/``. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and Redis.
With ``DEBUG`` off (production) the settings refuse to load without ``SECRET_KEY`` and
``ALLOWED_HOSTS``.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = BASE_DIR / env.str("VAR_DIR", default="var")  # a relative VAR_DIR is taken from the project folder
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
# Django's technical error pages (tracebacks, URL lists) only on request, never in the demo that
# `make run` starts with DEBUG on: config.error_pages shows the branded pages otherwise.
DEBUG_PAGES = DEBUG and env.bool("DEBUG_PAGES", default=False)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
else:
    # Production refuses to start without its secrets: no silent default.
    SECRET_KEY = env.str("SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if len(SECRET_KEY) < 32 or SECRET_KEY.startswith("dev-only"):
        raise ImproperlyConfigured("SECRET_KEY must be set (at least 32 characters) when DEBUG is off.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")

# Base address used in links sent by e-mail (e-mails carry a reference and a link, never a name).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
# Right-hand side of the stable Message-ID of every notification e-mail, <notification-ID@DOMAIN>: a
# re-sent copy carries the same one, so a duplicate is recognisable (notifications.services).
MESSAGE_ID_DOMAIN = env.str("MESSAGE_ID_DOMAIN", default="") or (urlsplit(SITE_URL).hostname or "localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_prometheus",
    "core",
    "agencies",
    "referrals",
    "notifications",
    "meetings",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # request rates and latencies (/metrics)
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RequestIdMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",  # database unreachable: 503 and one log line
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.error_pages.BrandedErrorPagesMiddleware",  # branded 404/500 also with DEBUG, 405 leads back
    "config.middleware.SessionTimeoutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "config.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.NoStoreMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "config.urls"
CSRF_FAILURE_VIEW = "config.error_pages.csrf_failure"

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
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server and worker share the file: wait for locks instead of failing, and take the write
    # lock at the start of each transaction so read-then-write never deadlocks.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # A file, not memory, so that worker and web processes started by integration tests share it.
    # One file per test process, so that two test runs at the same time do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A connection is kept for DB_CONN_MAX_AGE seconds instead of being opened for every request,
    # and checked before it is reused after a request, so one the server dropped is replaced.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if not env.bool("DB_JIT", default=False):
        # JIT compilation pays off for long analytical queries only; for short indexed queries whose
        # estimated cost crosses the threshold it is compile time added to every answer.
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before the password is checked
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user object
GUARDIAN_RAISE_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    # Older hashes still verify and are upgraded to Argon2 at the next login.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# Lockout (django-axes): five failed logins for one username from one address lock that pair for
# 15 minutes; a wrong guess during the lockout starts the 15 minutes again.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "agencies.views.lockout"  # a German page naming the limit and the minutes
AXES_RESET_ON_SUCCESS = True

# Sessions end after SESSION_IDLE_TIMEOUT seconds without a request and SESSION_ABSOLUTE_TIMEOUT
# seconds after login, whichever comes first (config.middleware.SessionTimeoutMiddleware).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT  # no session row or cookie outlives the absolute timeout

# Second factor (agencies.mfa): TOTP with an authenticator app, backup codes, recovery codes issued
# by a lead or an administrator. Required for every login; DEMO_MODE (set by `make run`) lets people
# without one in and says so on the login page — never for real data (`check --deploy` warns).
DEMO_MODE = env.bool("DEMO_MODE", default=False)
OTP_TOTP_ISSUER = "Kinderschutz-Kooperation"
MFA_RECOVERY_HOURS = env.int("MFA_RECOVERY_HOURS", default=72)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "referrals:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # collectstatic fills it when DEBUG is off; whitenoise wants it to exist
STATICFILES_DIRS = [BASE_DIR / "static"]

# Attachments live outside the web root and are served only through a scoped view.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
# Files (attachments) go through the storage "private" (core.storage): the folder PRIVATE_MEDIA_ROOT by
# default, an S3-compatible object store with STORAGE_URL=s3://BUCKET[/PREFIX]?endpoint_url=...
# (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Never publicly readable: objects are
# written with the ACL "private", and every download is streamed through the scoped views.
STORAGE_URL = env.str("STORAGE_URL", default="")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": {},  # filled in below
}
if STORAGE_URL and not STORAGE_URL.startswith("file:"):
    from core.storage_options import s3_storage_options  # noqa: E402 (needs nothing of Django's)

    STORAGES["private"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_storage_options(STORAGE_URL)}
else:
    STORAGES["private"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    }
# A file whose deletion failed (retention) is tried again this often, in seconds (core.storage).
FILE_DELETION_RETRY_SECONDS = env.int("FILE_DELETION_RETRY_SECONDS", default=300)
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Key of the repeat-referral fingerprints (HMAC); defaults to one derived from SECRET_KEY.
FINGERPRINT_KEY = env.str("FINGERPRINT_KEY", default="")
# Earlier referrals of a child named in a repeat-referral event: the most recent ones, with the total.
REPEAT_MATCHES_SHOWN = 10
# Incident dates further back than this are refused as implausible (typing errors such as year 1).
INCIDENT_MAX_AGE_DAYS = env.int("INCIDENT_MAX_AGE_DAYS", default=3650)

# Request bodies: 1 MiB is far above any real referral and keeps oversized posts out.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# --- HTTP security (checked by `manage.py check --deploy` in tests/test_security_headers.py) ----
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Production speaks HTTPS only. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER to the
# header the proxy sets, e.g. "HTTP_X_FORWARDED_PROTO,https" (only if the proxy overwrites it).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured(
            'SECURE_PROXY_SSL_HEADER must be "HEADER,value", e.g. "HTTP_X_FORWARDED_PROTO,https"'
        )
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Content-Security-Policy (django-csp): only this origin, no inline script or style, no framing.
# Static files are served by the app itself (whitenoise), so 'self' covers everything the pages load.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
# Browser features no page of this system uses (config.middleware.PermissionsPolicyMiddleware).
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=()"
)

# Health probes and metrics (core.health, core.metrics). /metrics answers only these addresses or
# networks (the Prometheus server; scrape each node directly, not through the reverse proxy).
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# A load balancer probes over plain HTTP: no redirect to HTTPS for the probes and the metrics.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]

# E-mail: in development written to files under var/mail that can be opened with any mail client.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
    if EMAIL_URL.startswith("filemail:///"):  # django-environ drops the leading slash of a path
        EMAIL_FILE_PATH = "/" + EMAIL_FILE_PATH.lstrip("/")  # noqa: F821 (set by the update above)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Kinderschutz-Kooperation <noreply@kinderschutz.invalid>")

REST_FRAMEWORK = {
    # Token first: a missing or revoked token is answered 401 with "WWW-Authenticate: Token". Tokens
    # are agencies.ApiToken (only a digest of the key is stored), not rest_framework.authtoken.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agencies.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],  # size and nesting limits
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",  # one handler for every API module
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kinderschutz-Kooperation API",
    "DESCRIPTION": "Police referrals to youth offices (Mitteilungen an das Jugendamt).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.overlapping_shapes_as_any_of",
        "core.api.standard_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ReferralStatusEnum": "referrals.models.Status",
        "MeetingStatusEnum": "meetings.models.MeetingStatus",
        "OutcomeEnum": "referrals.models.Outcome",
        "RetentionOutcomeEnum": "referrals.models.RetentionOutcome",
        "TaskKindEnum": "referrals.task_models.TaskKind",
        "SignOffRequestStateEnum": "referrals.task_models.SignOffRequest.State",
    },
}

# Celery. Without REDIS_URL: kombu's filesystem transport, which needs no server.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        # Publishing tries to connect once instead of retrying for the whole connection timeout: a
        # refused connection fails at once and the request is not held up (workers reconnect on
        # their own, with broker_connection_max_retries).
        "max_retries": 0,
    }
else:
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # How long a new message can wait in the folder before an idle worker sees it (kombu's
        # default is 1 s); each poll is one directory listing per queue.
        "polling_interval": 0.1,
    }
# Caches shared by every node: Redis when REDIS_URL is set, else the database (never a per-process
# memory cache). Sessions, login lockouts (django-axes) and second-factor throttling (django-otp)
# live in database rows anyway; the cache is for what may be shared (the readiness probe uses it).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": "kinderschutz",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "kinderschutz_cache"}}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "notifications.tasks.*": {"queue": "notifications"},
    "meetings.tasks.*": {"queue": "scheduling"},
    "referrals.tasks.*": {"queue": "scheduling"},
}
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if not REDIS_URL:
    # The filesystem transport has no asynchronous I/O, so the worker runs Celery's blocking loop: it
    # acknowledges finished tasks (acks_late) only between waits of up to 2 s for new messages, and
    # with a full prefetch it waits those 2 s out. A prefetch of one per process thus delivered two
    # notifications every 2 s (benchmarks/broker.py). A larger prefetch keeps the processes busy;
    # messages held by a worker that is killed are not lost for good: the outbox sweep re-sends
    # notifications, beat re-runs the periodic jobs.
    CELERY_WORKER_PREFETCH_MULTIPLIER = 50
# A stopped broker must not hold up a request: publishing gives up fast, the outbox sweep re-sends.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat sends only while it holds the beat lock (config.beat): a second beat started by mistake waits
# and takes over within BEAT_LOCK_SECONDS once the first one is gone.
CELERY_BEAT_SCHEDULER = "config.beat:LeaderScheduler"
BEAT_LOCK_SECONDS = env.float("BEAT_LOCK_SECONDS", default=60.0)
# How often beat looks for undelivered notifications (the outbox sweep), in seconds.
NOTIFICATION_SWEEP_SECONDS = env.float("NOTIFICATION_SWEEP_SECONDS", default=60.0)
# How often beat looks for missed response clocks (escalations), in seconds.
ESCALATION_CHECK_SECONDS = env.float("ESCALATION_CHECK_SECONDS", default=60.0)
# Tasks on a case (referrals.followthrough): a reminder this many hours before the due time, one at
# the due time, and an open task this many hours past its due time escalates to the office lead.
TASK_REMINDER_LEAD_HOURS = env.float("TASK_REMINDER_LEAD_HOURS", default=24.0)
TASK_ESCALATION_AFTER_HOURS = env.float("TASK_ESCALATION_AFTER_HOURS", default=24.0)
CELERY_BEAT_SCHEDULE = {
    "notifications-resend-undelivered": {
        "task": "notifications.tasks.resend_undelivered",
        "schedule": NOTIFICATION_SWEEP_SECONDS,
        # A sweep that waited in the queue longer than one interval is superseded by the next one.
        "options": {"expires": NOTIFICATION_SWEEP_SECONDS},
    },
    # Missed response clocks: deadlines live in the database, this run finds what is overdue now.
    "referrals-escalate-overdue": {
        "task": "referrals.tasks.escalate_overdue",
        "schedule": ESCALATION_CHECK_SECONDS,
        "options": {"expires": ESCALATION_CHECK_SECONDS},
    },
    # Reminders and escalation of tasks on cases, each once (referrals.followthrough.task_reminders_send).
    "referrals-task-reminders": {
        "task": "referrals.tasks.task_reminders",
        "schedule": ESCALATION_CHECK_SECONDS,
        "options": {"expires": ESCALATION_CHECK_SECONDS},
    },
    # Cooperation module: keep the next meetings of every series materialised (idempotent), and send
    # the reminders that are due (each once, recorded in the database).
    "meetings-materialise": {
        "task": "meetings.tasks.materialise_meetings",
        "schedule": 3600.0,
        "options": {"expires": 600},
    },
    "meetings-send-reminders": {
        "task": "meetings.tasks.send_reminders",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # Idempotency keys (core.idempotency) whose time is up: their stored answers can hold case contents.
    "core-purge-idempotency-keys": {
        "task": "core.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
        "options": {"expires": 1800},
    },
    # Files whose deletion failed (object store or disk unreachable): tried again until they are gone.
    "core-retry-file-deletions": {
        "task": "core.tasks.retry_file_deletions",
        "schedule": float(FILE_DELETION_RETRY_SECONDS),
        "options": {"expires": FILE_DELETION_RETRY_SECONDS},
    },
    # Individual grants on one case whose expiry has passed: the person's access ends (referrals.grants).
    "referrals-grants-expire": {
        "task": "referrals.tasks.grants_expire",
        "schedule": 3600.0,
        "options": {"expires": 1800},
    },
    # Retention (§ 9b SGB VIII): delete closed referrals whose rule has run out, once a night.
    "referrals-retention-delete": {
        "task": "referrals.tasks.retention_delete",
        "schedule": crontab(hour=3, minute=15),
        "options": {"expires": 6 * 3600},
    },
}
# Police drafts never submitted are deleted this many days after their last change (nightly job).
DRAFT_RETENTION_DAYS = env.int("DRAFT_RETENTION_DAYS", default=30)
# Hospitations: visitors a host agency takes per day at most, unless the agency sets its own number.
HOSPITATION_MAX_PER_DAY = env.int("HOSPITATION_MAX_PER_DAY", default=2)
# Reminders of meetings, events and action items before they start or fall due: "<n>d", "<n>h" or "<n>m".
MEETING_REMINDER_OFFSETS = env.list("MEETING_REMINDER_OFFSETS", default=["7d", "1d"])
# The referral figures of the annual cooperation report (issue 15 § 2): meetings may not import
# referrals, so the wiring names the function that computes them (meetings.selectors.referral_figures).
COOPERATION_REPORT_REFERRAL_FIGURES = "referrals.dashboard.cooperation_referral_figures"

# Notifications still undelivered after this many seconds are sent again by the beat sweep.
NOTIFICATION_RESEND_AFTER_SECONDS = env.int("NOTIFICATION_RESEND_AFTER_SECONDS", default=60)
# After this many failed attempts the sweep leaves a notification alone (it stays visible in the admin).
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=20)
# Idempotency-Key of the API and the token of the referral form: how long an answer is kept (at least
# 24 hours), and how long a retry waits for the first request with its key before answering 409.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=10.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"client_errors_without_traceback": {"()": "config.log_filters.ClientErrorsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # A filter of the logger, not of the handler: it applies to every handler the record reaches.
    "loggers": {"django.request": {"filters": ["client_errors_without_traceback"]}},
}
