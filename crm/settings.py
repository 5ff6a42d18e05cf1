"""Project settings, read from the environment. Every variable is listed in the README."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from kombu import Exchange, Queue

from crm import queues
from crm.crypto import field_encryption_keys
from crm.env import env_bool, env_float, env_int, env_list, env_str, redis_db_url, redis_server_urls

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Web processes and message workers load the assistant's reader at start (assistant.learned.warm, ~2 s of CPU)
# instead of on their first shopper's message. `make test` turns it off: each test server would pay it.
ASSISTANT_WARM_AT_START = env_bool("ASSISTANT_WARM_AT_START", True)
SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me" if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
# Fernet keys for sensitive fields at rest (crm/crypto.py): the first encrypts, all decrypt. Like SECRET_KEY,
# a dev key (derived from SECRET_KEY) only with DEBUG on; otherwise a process without keys refuses to start.
FIELD_ENCRYPTION_KEYS = field_encryption_keys(env_str("FIELD_ENCRYPTION_KEYS", ""), debug=DEBUG, secret_key=SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = env_str("SITE_URL", "http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "anymail",
    "rooftops",
    "customers",
    "leads",
    "service",
    "alerts",
    "tracking",
    "kpis",
    "dms",
    "marketing",
    "assistant",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "crm.input_guard.InputGuardMiddleware",  # NUL and control characters in the path or query: 400 with a reason
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "rooftops.middleware.SlidingSessionMiddleware",
    "rooftops.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "crm.middleware.DatabaseUnavailableMiddleware",
    "crm.db_router.ReadYourWritesMiddleware",  # after a write, this browser's next reads stay on the primary
    "csp.middleware.CSPMiddleware",
    # Last: turns a locked-out login into the login page saying so (rooftops.access_views.login_locked_out).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
ASGI_APPLICATION = "crm.asgi.application"

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
                "rooftops.context_processors.staff_context",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
# Under ASGI each request runs its sync code in a fresh thread, so "persistent" per-thread connections pile
# up instead of being reused; a process-wide psycopg pool hands connections back at the end of each request.
if env_bool("DB_POOL", True):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DB_POOL_MIN", 1), "max_size": env_int("DB_POOL_MAX", 10),
        # How long a request waits for a pooled connection; with PostgreSQL down it is answered 503 after this.
        "timeout": env_float("DB_POOL_TIMEOUT_SECONDS", 5),
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A hung server (or a black-holed network) must not hold a request forever at connect.
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT_SECONDS", 3)
# A streaming replica (README "A read replica"): only dashboards, search, exports and API lists read it, inside
# an explicit scope (crm/db_router.py); writes, auth and tenancy always use the primary. Unset: nothing changes.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    from crm.db_router import replica_database  # noqa: E402

    DATABASES["replica"] = replica_database(DATABASES["default"], dj_database_url.parse(DATABASE_REPLICA_URL))
DATABASE_ROUTERS = ["crm.db_router.ReplicaRouter"]
# After the replica failed to answer, pages read the primary for this long before the replica is tried again.
REPLICA_BREAKER_SECONDS = env_float("REPLICA_BREAKER_SECONDS", 30)
# After a person's write (a POST, PUT, PATCH or DELETE that succeeded), their reads stay on the primary this long,
# so the page they land on shows what they just did even while the replica lags.
REPLICA_READ_YOUR_WRITES_SECONDS = env_int("REPLICA_READ_YOUR_WRITES_SECONDS", 15)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Tests run with an offset so a developer's running worker never takes a test's tasks.
REDIS_DB_OFFSET = env_int("REDIS_DB_OFFSET", 0)
CELERY_BROKER_URL = redis_db_url(REDIS_URL, REDIS_DB_OFFSET + 0)
CHANNEL_LAYER_URL = redis_db_url(REDIS_URL, REDIS_DB_OFFSET + 1)
CACHE_URL = redis_db_url(REDIS_URL, REDIS_DB_OFFSET + 2)

# Every hand-off to Redis has bounded timeouts: a hung Redis (accepts, never answers) must cost a bounded wait,
# never a hung request or worker (README "Resilience").
REDIS_SOCKET_TIMEOUT_SECONDS = env_float("REDIS_SOCKET_TIMEOUT_SECONDS", 3)
REDIS_CONNECT_TIMEOUT_SECONDS = env_float("REDIS_CONNECT_TIMEOUT_SECONDS", 2)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
        "OPTIONS": {"socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
                    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS},
    }
}
# The channel layer may be spread over several Redis servers (README "Channel layer across several Redis
# servers"): channels-redis hashes each group name, and each process's receive channel, to one of them. Every
# process (web, workers, beat) must list the same servers in the same order, or a push lands on a server its
# listeners never read. Each URL is used as given (its database number too); unset: one server, from REDIS_URL.
CHANNEL_REDIS_URLS = redis_server_urls("CHANNEL_REDIS_URLS", env_str("CHANNEL_REDIS_URLS", "")) or [CHANNEL_LAYER_URL]
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # channels-redis blocks up to 5 s per read (BZPOPMIN), so its socket timeout must be longer than that or
        # every quiet websocket would be cut; 8 s still notices a hung Redis. Sends are bounded by the callers.
        # Each host dict is redis-py's ConnectionPool.from_url(address, **rest), so the bounds apply per shard.
        # A Redis that comes back (restart, failover) leaves every pooled connection dead, and redis-py's asyncio
        # client does not retry by default: each one would fail one call (a refused feed, a lost push) before
        # reconnecting. So one immediate retry on a connection error; never on a timeout (a hung server must
        # cost one bounded wait, not two).
        "CONFIG": {
            "hosts": [{"address": url, "socket_timeout": 8, "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS,
                       "retry": AsyncRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))}
                      for url in CHANNEL_REDIS_URLS],
            "capacity": 1500, "expiry": 30,
        },
    }
}
# The live feed checks its channel-layer subscription this often and closes (1011) when it is gone.
ALERT_FEED_LIVENESS_SECONDS = env_float("ALERT_FEED_LIVENESS_SECONDS", 15)
# After a failed hand-off to Redis, publishing is skipped for this long (the beat sweeps recover the work).
HANDOFF_BREAKER_SECONDS = env_float("HANDOFF_BREAKER_SECONDS", 5)
# Scoring drainers that may run at once (alerts/coalescing.py): set it to the scoring worker's processes
# (make run: 2; docker-compose's worker-realtime: 4). Every web process must use the same number.
SCORING_DRAINERS = env_int("SCORING_DRAINERS", 2)

CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the task for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # an urgent scoring task must not wait behind tasks another process reserved
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS,
    # A task taken by a worker that died (acks_late) is delivered again after this long; longer than any task.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 300),
    # How often a worker looks for such tasks (kombu's default, 10 s x throttle 10, is 100 s).
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL_SECONDS", 10),
    "unacked_restore_throttle": 1,
}
# A publish gives up quickly; the callers' sweeps pick up what was not queued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Each kind of work on its own queue, so a long import or campaign never delays scoring: crm/queues.py decides.
CELERY_TASK_QUEUES = tuple(Queue(name, Exchange(name), routing_key=name) for name in queues.QUEUES)
CELERY_TASK_DEFAULT_QUEUE = queues.DEFAULT
CELERY_TASK_ROUTES = queues.TASK_ROUTES
CELERY_BEAT_SCHEDULE: dict = {}  # apps add their sweeps in their own beat.py, collected below

# --- Auth --------------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out username+address before any password is checked; logs in nobody itself.
    "rooftops.auth_backends.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed logins (django-axes): AXES_FAILURE_LIMIT wrong passwords for one username from one address lock that
# pair out for AXES_COOLOFF_MINUTES; a manager can unlock their staff from the Staff page sooner.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "rooftops.access_views.login_locked_out"
AXES_USERNAME_FORM_FIELD = "username"
# uvicorn --proxy-headers already puts the client's address in REMOTE_ADDR when a trusted proxy forwarded it.
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
AXES_VERBOSE = False

# Sessions: an idle session ends after SESSION_IDLE_HOURS (a whole shift of use keeps it alive, a night off
# does not); activity renews it at most every SESSION_RENEW_SECONDS (rooftops.middleware.SlidingSessionMiddleware)
# rather than a database write per request. A password change ends every other session of that user (Django's
# session auth hash).
SESSION_COOKIE_AGE = int(env_int("SESSION_IDLE_HOURS", 8) * 3600)
SESSION_RENEW_SECONDS = env_int("SESSION_RENEW_SECONDS", 300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Second factor (django-otp): TOTP apps plus one-time recovery codes. A dealer group can require it.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Dealership CRM")
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# --- HTTPS -------------------------------------------------------------------------------------
# SECURE_COOKIES says "this deployment is served over HTTPS": cookies only over TLS and HSTS (sent only on HTTPS
# responses). Behind a TLS-terminating proxy set BEHIND_PROXY so X-Forwarded-Proto tells Django the request was
# HTTPS; then plain HTTP is also redirected to HTTPS.
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
# Redirecting needs to know which requests came over TLS, so by default only behind the TLS proxy.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SESSION_COOKIE_SECURE and BEHIND_PROXY)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # container health probes speak plain HTTP on loopback
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SESSION_COOKIE_SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None

# --- Content-Security-Policy (django-csp) ---------------------------------------------------------
# No inline scripts or styles: behaviour lives in static files (static/crm/app.js wires confirm dialogs,
# auto-submitting selects and htmx after-request resets). connect-src names the websocket origin of SITE_URL
# as well as 'self' (older browsers do not match ws: to 'self'); CSP_CONNECT_SRC adds more.
_site = urlsplit(SITE_URL)
_ws_origin = f"{'wss' if _site.scheme == 'https' else 'ws'}://{_site.netloc}"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF, _ws_origin, *env_list("CSP_CONNECT_SRC", "")],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- I18N / time -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # storage is UTC; each rooftop renders in its own time zone
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Front-end libraries come from npm (package.json + lockfile); they are served from node_modules.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/htmx-ext-ws", BASE_DIR / "node_modules" / "htmx-ext-ws" / "dist"),
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
# Hashed, compressed names once `collectstatic` has run (the Docker image); plain finders otherwise.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", (STATIC_ROOT / "staticfiles.json").exists())
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collectstatic (make run, tests) whitenoise serves straight from the finders.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", not STATIC_MANIFEST)
WHITENOISE_AUTOREFRESH = DEBUG

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rooftops.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # One JSON reader with a nesting limit for every API (crm.json_input); form bodies as DRF reads them.
    "DEFAULT_PARSER_CLASSES": [
        "crm.json_input.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "crm.pagination.CheckedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "rooftops.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dealership CRM staff API",
    "DESCRIPTION": "Staff API. Authenticate with a session or `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "rooftops.schema.add_common_error_responses",
        "rooftops.schema.add_idempotency_key",
    ],
}

# --- Email / SMS -------------------------------------------------------------------------------
# The console backends print whole messages (development); with DEBUG off the defaults deliver nothing and log
# only that they did not, so a message body never reaches a production log.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG
                        else "customers.email_backends.LogOnlyEmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "crm@localhost")
# An email service's delivery webhooks (django-anymail, under /webhooks/email/<service>/tracking/) authenticate
# with HTTP basic auth "user:password" in the URL the service is given. Unset: those webhooks answer 403, since
# an open one would let anyone mark addresses bounced. Send through the service with its anymail EMAIL_BACKEND.
ANYMAIL = {"WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET", "")}
# Texts: customers.sms.ConsoleSmsBackend prints them; customers.sms.TwilioSmsBackend sends through Twilio's API
# (or a compatible server at TWILIO_API_BASE). TWILIO_AUTH_TOKEN also checks inbound webhook signatures.
SMS_BACKEND = env_str("SMS_BACKEND", "customers.sms.ConsoleSmsBackend" if DEBUG else "customers.sms.LogOnlySmsBackend")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER", "")
TWILIO_API_BASE = env_str("TWILIO_API_BASE", "https://api.twilio.com")
SMS_HTTP_TIMEOUT_SECONDS = env_int("SMS_HTTP_TIMEOUT_SECONDS", 15)
# A message claimed by a worker that then died is sent again (same idempotency key) after this long.
MESSAGING_SEND_LEASE_SECONDS = env_int("MESSAGING_SEND_LEASE_SECONDS", 120)
# Quiet hours (08:00-21:00 on the customer's clock) hold back these channels. The TCPA window is about texts
# and calls; an email answering the customer's own inquiry is read when they choose, so by default it goes at
# any hour (a 3 a.m. lead gets its first response at once). Set "sms,email" to hold email too.
MESSAGING_QUIET_HOURS_CHANNELS = env_list("MESSAGING_QUIET_HOURS_CHANNELS", "sms")

# --- Rate limits of the public doors (crm/ratelimit.py) ------------------------------------------
# "N/S": N requests per S seconds, per key (write key, intake token, the store's texting number) and per
# client address. Over a limit: 429 with Retry-After. Redis down or hung: requests pass (fail open).
# BEHIND_PROXY (HTTPS, above) also says the client address is the last X-Forwarded-For hop.
RATE_LIMIT_ENABLED = env_bool("RATE_LIMIT_ENABLED", True)
RATE_LIMIT_REDIS_TIMEOUT_SECONDS = env_float("RATE_LIMIT_REDIS_TIMEOUT_SECONDS", 0.1)
RATE_LIMITS = {
    "collector": {"per_key": env_str("RATE_LIMIT_COLLECTOR_PER_KEY", "6000/60"),
                  "per_address": env_str("RATE_LIMIT_COLLECTOR_PER_ADDRESS", "1200/60")},
    "adf": {"per_key": env_str("RATE_LIMIT_ADF_PER_KEY", "120/60"),
            "per_address": env_str("RATE_LIMIT_ADF_PER_ADDRESS", "300/60")},
    "sms": {"per_key": env_str("RATE_LIMIT_SMS_PER_KEY", "300/60"),
            "per_address": env_str("RATE_LIMIT_SMS_PER_ADDRESS", "600/60")},
    # The assistant API (assistant.api): a chat is a few messages a minute per shopper, many per store.
    "assistant": {"per_key": env_str("RATE_LIMIT_ASSISTANT_PER_KEY", "600/60"),
                  "per_address": env_str("RATE_LIMIT_ASSISTANT_PER_ADDRESS", "60/60")},
    # The website chat (assistant.consumers, assistant.chat_views): each connection, open and line counts once.
    # Per key is the whole store's traffic; per address is one shopper (or one office behind one NAT).
    "assistant_chat": {"per_key": env_str("RATE_LIMIT_ASSISTANT_CHAT_PER_KEY", "1200/60"),
                       "per_address": env_str("RATE_LIMIT_ASSISTANT_CHAT_PER_ADDRESS", "60/60")},
}

# --- Product settings --------------------------------------------------------------------------
TRACKING_EVENT_RETENTION_DAYS = env_int("TRACKING_EVENT_RETENTION_DAYS", 400)
# A customer with no activity (lead, RO, appointment, timeline entry, message, web event) for this long and no
# open lead is erased by the daily purge (customers.erasure.retention_purge); 0 turns the purge off.
CUSTOMER_RETENTION_DAYS = env_int("CUSTOMER_RETENTION_DAYS", 730)
# Inventory feeds (leads.inventory_feed): the largest file read, the longest a download may take, and whether a
# feed URL may point inside the deployment (loopback, private networks: off, so a URL cannot reach the database
# or cloud metadata). The schedule is INVENTORY_FEED_HOURS, read by leads/beat.py.
INVENTORY_FEED_MAX_BYTES = env_int("INVENTORY_FEED_MAX_BYTES", 20 * 1024 * 1024)
INVENTORY_FEED_TIMEOUT_SECONDS = env_float("INVENTORY_FEED_TIMEOUT_SECONDS", 60.0)
INVENTORY_FEED_ALLOW_PRIVATE_HOSTS = env_bool("INVENTORY_FEED_ALLOW_PRIVATE_HOSTS", False)
# Outbound webhooks (rooftops.webhooks): HTTPS to public hosts only; WEBHOOK_ALLOW_LOOPBACK lets an endpoint be
# plain http://127.0.0.1 (the test run and development turn it on). One POST waits at most
# WEBHOOK_TIMEOUT_SECONDS; a claimed delivery whose worker died is sent again after its lease (twice the timeout
# plus 30 s). Delivered rows older than WEBHOOK_LOG_RETENTION_DAYS are pruned daily.
WEBHOOK_ALLOW_LOOPBACK = env_bool("WEBHOOK_ALLOW_LOOPBACK", False)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_LOG_RETENTION_DAYS = env_int("WEBHOOK_LOG_RETENTION_DAYS", 30)

# --- Service to sales (service/) ----------------------------------------------------------------------
# A dotted path to a class with value(vehicle, on) -> Valuation for a commercial book (Black Book, KBB ...);
# empty: the built-in depreciation model (service/valuation.py).
VALUATION_PROVIDER = env_str("VALUATION_PROVIDER", "")

# --- DMS import (dms/) -------------------------------------------------------------------------------
# Uploaded DMS files wait here for the worker (web and workers share this folder: a volume in
# docker-compose.yml); each is deleted when its import ends.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))
DMS_IMPORT_MAX_BYTES = env_int("DMS_IMPORT_MAX_BYTES", 512 * 1024 * 1024)
DMS_IMPORT_CHUNK_ROWS = env_int("DMS_IMPORT_CHUNK_ROWS", 1000)  # rows committed together (and resumed after)

# Every log line passes crm.logging.RedactSecretsFilter (API tokens and keys in query strings, e.g. the
# websocket's ?token=, become [redacted]); crm.logging.configure also puts it on uvicorn's own handlers.
LOGGING_CONFIG = "crm.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "crm.logging.RedactSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

from crm.beat import collect_beat_schedule  # noqa: E402  (needs INSTALLED_APPS above)

CELERY_BEAT_SCHEDULE = collect_beat_schedule(INSTALLED_APPS)
