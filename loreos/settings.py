"""Settings for the LoreOS visual identity service.

Every value is read here, from the environment, through django-environ. The defaults
are the embedded ones (SQLite, local files and a server-less broker under ``var/``);
production sets the variables listed in README.md and docs/deployment.md.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("LOREOS_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core -------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-embedded-default-change-me")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base for asset URLs when a URL is built outside a request (worker, shell).
LOREOS_PUBLIC_BASE_URL = env.str(
    "LOREOS_PUBLIC_BASE_URL", default="http://127.0.0.1:8000"
)

INSTALLED_APPS = [
    # curate first: its registration/ templates (the sign-in and signed-out pages) win
    # over django.contrib.admin's of the same name. Every template and static file lives
    # in its app (<app>/templates, <app>/static), so a wheel carries them.
    "curate",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc files, served from here (no CDN)
    "django_filters",
    "characters",
    "hooks",
    "visuals",
]

MIDDLEWARE = [
    "loreos.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Kept answers of the polled reads, replayed before the rest (its docstring).
    "characters.read_cache.ReadCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "loreos.urls"
WSGI_APPLICATION = "loreos.wsgi.application"
ASGI_APPLICATION = "loreos.asgi.application"
# Threads per web process for every request but the event streams (loreos/asgi.py).
LOREOS_WEB_THREADS = env.int("GUNICORN_THREADS", default=4)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # loreos/templates: the project's own pages (the Redoc page without web fonts).
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL says otherwise ---------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions serialise writers up front, so a budget check and the
    # spend it guards can never interleave; WAL lets the web server and the worker
    # read while the other writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttle counters, idempotency): per process unless CACHE_URL is Redis ---
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same cache, its Redis client made once per pool (loreos/cache.py).
    CACHES["default"]["BACKEND"] = "loreos.cache.RedisCache"
# `shared`: what every process must see at once (API-key lookups, revoked on commit).
# The default cache when it is shared (Redis, Memcached, a database cache); otherwise
# a file cache under the var dir, which every process on this host reads.
if CACHES["default"]["BACKEND"].endswith(("LocMemCache", "DummyCache")):
    CACHES["shared"] = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache" / "shared"),
        "TIMEOUT": 300,
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    }
else:
    CACHES["shared"] = dict(CACHES["default"], KEY_PREFIX="shared")
# The lookups every API request makes of the shared cache (its key's row, a polled
# read's token) answered from each process's memory, kept true by Redis's client-side
# caching (loreos/cache.py): no round trip per request. Redis only; off: ask each time.
LOREOS_NEAR_CACHE = env.bool("LOREOS_NEAR_CACHE", default=True)
# How long a valid API key's row is reused without a query (revocation deletes it).
LOREOS_API_KEY_CACHE_SECONDS = env.int("LOREOS_API_KEY_CACHE_SECONDS", default=300)
# The polled reads' kept answers (characters/read_cache.py): how long one is replayed at
# most (a write replaces it at once; this bounds a missed invalidation, e.g. the shared
# cache down during a write), and how many bytes each process keeps. 0 s: off.
LOREOS_READ_CACHE_SECONDS = env.int("LOREOS_READ_CACHE_SECONDS", default=300)
LOREOS_READ_CACHE_BYTES = env.int("LOREOS_READ_CACHE_BYTES", default=32 * 1024 * 1024)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/curate/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files -------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Serve MEDIA_ROOT from the app itself (the embedded default). Off when S3 serves files.
LOREOS_SERVE_MEDIA = env.bool("LOREOS_SERVE_MEDIA", default=True)

LOREOS_STORAGE = env.str("LOREOS_STORAGE", default="local")
if LOREOS_STORAGE == "s3":
    _s3_options = {
        "bucket_name": env.str("LOREOS_S3_BUCKET"),
        "region_name": env.str("LOREOS_S3_REGION", default=None),
        "endpoint_url": env.str("LOREOS_S3_ENDPOINT_URL", default=None),
        "custom_domain": env.str("LOREOS_S3_CUSTOM_DOMAIN", default=None),
        "querystring_auth": env.bool("LOREOS_S3_SIGNED_URLS", default=True),
        "querystring_expire": env.int("LOREOS_S3_SIGNED_URL_SECONDS", default=3600),
        "access_key": env.str("LOREOS_S3_ACCESS_KEY_ID", default=None),
        "secret_key": env.str("LOREOS_S3_SECRET_ACCESS_KEY", default=None),
        "file_overwrite": False,
        "default_acl": None,
    }
    if _s3_options["querystring_auth"]:
        # A kept answer's signed URLs must stay valid long after it is replayed.
        LOREOS_READ_CACHE_SECONDS = min(
            LOREOS_READ_CACHE_SECONDS, _s3_options["querystring_expire"] // 4
        )
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {k: v for k, v in _s3_options.items() if v is not None},
    }
    LOREOS_SERVE_MEDIA = False
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": env.str(
            "LOREOS_STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedStaticFilesStorage",
        )
    },
}

# Uploads: never hold more than this in memory; larger bodies spool to a temp file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=None)

# --- Security (production turns these on by environment) -------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Load-balancer probes answer over plain HTTP too (they run inside the TLS proxy).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False
)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("LOREOS_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["characters.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["characters.auth.HasApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["loreos.api.renderers.OrjsonRenderer"],
    # JSON everywhere; the one upload view declares MultiPartParser itself.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "loreos.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
# Per-key rate of metered POSTs (probe, inventory generate, runtime image); "" disables.
LOREOS_METERED_THROTTLE = env.str("LOREOS_METERED_THROTTLE", default="120/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "LoreOS visual identity API",
    "DESCRIPTION": (
        "Identity assets, visual readiness, image probes and inventory generation. "
        'Every error body is {"detail": {"code", "message", "fix"}}.'
    ),
    "VERSION": "v0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"},
        }
    },
    "SECURITY": [{"bearerAuth": []}],
    # /v1/docs and /v1/redoc load their files from drf-spectacular-sidecar's static
    # files, so they work on a closed network; no online validator badge either.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "ConsistencyCheckKindEnum": "visuals.vocab.CheckKind",
    },
}

# --- Celery -----------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
# A broker that refuses a connection fails the send at once (one immediate retry), so a
# metered POST answers 503 broker_unavailable in a fraction of a second rather than
# after kombu's default 4-6 s of reconnecting per send (8 sends: near gunicorn's 60 s).
LOREOS_BROKER_SEND_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
        **LOREOS_BROKER_SEND_RETRY,
    }
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("LOREOS_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("LOREOS_TASK_TIME_LIMIT", default=300)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_PUBLISH_RETRY = False
# Webhook deliveries have their own queue, so a slow or dead receiver never holds up
# image generation. A worker started without -Q consumes every queue listed here.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name) for name in ("celery", "webhooks")
]
CELERY_TASK_ROUTES = {"hooks.tasks.*": {"queue": "webhooks"}}
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-image-requests": {
        "task": "visuals.tasks.sweep_stale_requests",
        "schedule": 60.0,
    },
    "webhook-deliveries-due": {
        "task": "hooks.tasks.deliveries_enqueue_due",
        "schedule": 30.0,
    },
}

# --- Image generation ----------------------------------------------------------------
LOREOS_IMAGE_BACKEND = env.str("LOREOS_IMAGE_BACKEND", default="compositor")
LOREOS_OPENAI_BASE_URL = env.str(
    "LOREOS_OPENAI_BASE_URL", default="https://api.openai.com/v1"
)
LOREOS_OPENAI_API_KEY = env.str("LOREOS_OPENAI_API_KEY", default="")
LOREOS_OPENAI_MODEL = env.str("LOREOS_OPENAI_MODEL", default="gpt-image-1")
LOREOS_OPENAI_TIMEOUT_SECONDS = env.float(
    "LOREOS_OPENAI_TIMEOUT_SECONDS", default=120.0
)
LOREOS_OPENAI_MAX_RETRIES = env.int("LOREOS_OPENAI_MAX_RETRIES", default=3)
# A request still generating after this long is ended as failed by the sweep.
LOREOS_STALE_GENERATION_SECONDS = env.int(
    "LOREOS_STALE_GENERATION_SECONDS", default=900
)
# A request still queued this long after it was sent lost its message: the sweep
# fails it.
LOREOS_STALE_QUEUED_SECONDS = env.int("LOREOS_STALE_QUEUED_SECONDS", default=3600)
# OpenAI backend: first retry delay; output size ("" = 1024x1536 selfies, 1024x1024
# the others).
LOREOS_OPENAI_BACKOFF_SECONDS = env.float("LOREOS_OPENAI_BACKOFF_SECONDS", default=1.0)
LOREOS_OPENAI_IMAGE_SIZE = env.str("LOREOS_OPENAI_IMAGE_SIZE", default="")
# input_fidelity sent with selfie kinds on gpt-image-1 and later (not -mini; "" never).
LOREOS_OPENAI_INPUT_FIDELITY = env.str("LOREOS_OPENAI_INPUT_FIDELITY", default="high")
# Named generators: JSON {"name": {"backend": "comfyui", <options>}, …}; a character
# or a probe may name one. Without it, every request uses LOREOS_IMAGE_BACKEND.
LOREOS_GENERATORS = env.json("LOREOS_GENERATORS", default={})
# Remote jobs (comfyui, fal, replicate): first look after submitting, growth of the
# wait between looks, its cap, and the deadline after which the job is canceled and
# the request failed. A provider unreachable this many looks in a row fails it too.
LOREOS_REMOTE_FIRST_CHECK_SECONDS = env.float(
    "LOREOS_REMOTE_FIRST_CHECK_SECONDS", default=2.0
)
LOREOS_REMOTE_CHECK_GROWTH = env.float("LOREOS_REMOTE_CHECK_GROWTH", default=1.5)
LOREOS_REMOTE_MAX_CHECK_SECONDS = env.float(
    "LOREOS_REMOTE_MAX_CHECK_SECONDS", default=20.0
)
LOREOS_REMOTE_DEADLINE_SECONDS = env.int("LOREOS_REMOTE_DEADLINE_SECONDS", default=900)
LOREOS_REMOTE_MAX_UNREACHABLE = env.int("LOREOS_REMOTE_MAX_UNREACHABLE", default=8)
# Every provider HTTP call (httpx): timeout, retries of a refused connection / 5xx
# within one call, and the first backoff delay (doubled each retry).
LOREOS_HTTP_TIMEOUT_SECONDS = env.float("LOREOS_HTTP_TIMEOUT_SECONDS", default=30.0)
LOREOS_HTTP_RETRIES = env.int("LOREOS_HTTP_RETRIES", default=3)
LOREOS_HTTP_BACKOFF_SECONDS = env.float("LOREOS_HTTP_BACKOFF_SECONDS", default=0.5)
# ComfyUI: the server and the API-format workflow template (default: the shipped
# SDXL + InstantID template; see docs/comfyui.md).
LOREOS_COMFYUI_URL = env.str("LOREOS_COMFYUI_URL", default="http://127.0.0.1:8188")
LOREOS_COMFYUI_WORKFLOW = env.str("LOREOS_COMFYUI_WORKFLOW", default="")
# fal and Replicate (docs/generators.md): key, model, base URL (overridable for tests),
# and whether to ask for a webhook at LOREOS_PUBLIC_BASE_URL (it must be reachable
# from the provider); Replicate's webhook signing secret (whsec_…).
LOREOS_FAL_KEY = env.str("LOREOS_FAL_KEY", default="")
LOREOS_FAL_MODEL = env.str("LOREOS_FAL_MODEL", default="fal-ai/flux-pulid")
LOREOS_FAL_QUEUE_URL = env.str("LOREOS_FAL_QUEUE_URL", default="https://queue.fal.run")
LOREOS_FAL_WEBHOOKS = env.bool("LOREOS_FAL_WEBHOOKS", default=False)
LOREOS_FAL_JWKS_URL = env.str(
    "LOREOS_FAL_JWKS_URL", default="https://rest.alpha.fal.ai/.well-known/jwks.json"
)
LOREOS_REPLICATE_API_TOKEN = env.str("LOREOS_REPLICATE_API_TOKEN", default="")
LOREOS_REPLICATE_MODEL = env.str(
    "LOREOS_REPLICATE_MODEL", default="black-forest-labs/flux-kontext-pro"
)
LOREOS_REPLICATE_BASE_URL = env.str(
    "LOREOS_REPLICATE_BASE_URL", default="https://api.replicate.com"
)
LOREOS_REPLICATE_WEBHOOKS = env.bool("LOREOS_REPLICATE_WEBHOOKS", default=False)
LOREOS_REPLICATE_WEBHOOK_SECRET = env.str("LOREOS_REPLICATE_WEBHOOK_SECRET", default="")
# Scene continuity bands (colour-histogram similarity, higher is more alike). Measured:
# a same-scene follow-up scores 0.67 against its parent; unrelated pictures 0.19–0.46.
LOREOS_SCENE_PASS_SIMILARITY = env.float("LOREOS_SCENE_PASS_SIMILARITY", default=0.60)
LOREOS_SCENE_FAIL_SIMILARITY = env.float("LOREOS_SCENE_FAIL_SIMILARITY", default=0.35)
# Consistency bands on dlib's 128-d face distance (lower is more alike).
LOREOS_FACE_PASS_DISTANCE = env.float("LOREOS_FACE_PASS_DISTANCE", default=0.5)
LOREOS_FACE_FAIL_DISTANCE = env.float("LOREOS_FACE_FAIL_DISTANCE", default=0.65)
# Per-character calibration (docs/judge.md): with two or more identity images the face
# bands widen to the character's own spread, never past these ceilings.
LOREOS_FACE_PASS_CEILING = env.float("LOREOS_FACE_PASS_CEILING", default=0.55)
LOREOS_FACE_FAIL_CEILING = env.float("LOREOS_FACE_FAIL_CEILING", default=0.70)
# full_body_identity: room below the face, in face heights (docs/judge.md).
LOREOS_FULL_BODY_PASS_ROOM = env.float("LOREOS_FULL_BODY_PASS_ROOM", default=7.0)
LOREOS_FULL_BODY_FAIL_ROOM = env.float("LOREOS_FULL_BODY_FAIL_ROOM", default=4.0)
# wardrobe_variation: clothing distance to the portrait's / parent's (0..1).
LOREOS_WARDROBE_PASS_DISTANCE = env.float("LOREOS_WARDROBE_PASS_DISTANCE", default=0.45)
LOREOS_WARDROBE_FAIL_DISTANCE = env.float("LOREOS_WARDROBE_FAIL_DISTANCE", default=0.3)
# The optional vision judge: an OpenAI-compatible chat-completions base URL (OpenAI,
# vLLM, Ollama's /v1); unset = no vision judge (those checks are reported unmade).
LOREOS_VISION_JUDGE_URL = env.str("LOREOS_VISION_JUDGE_URL", default="")
LOREOS_VISION_JUDGE_MODEL = env.str("LOREOS_VISION_JUDGE_MODEL", default="gpt-4o-mini")
LOREOS_VISION_JUDGE_API_KEY = env.str("LOREOS_VISION_JUDGE_API_KEY", default="")
LOREOS_VISION_JUDGE_TIMEOUT = env.float("LOREOS_VISION_JUDGE_TIMEOUT", default=60.0)
LOREOS_VISION_JUDGE_RETRIES = env.int("LOREOS_VISION_JUDGE_RETRIES", default=3)
LOREOS_VISION_JUDGE_BACKOFF = env.float("LOREOS_VISION_JUDGE_BACKOFF", default=1.0)
LOREOS_VISION_JUDGE_MAX_WAIT = env.float("LOREOS_VISION_JUDGE_MAX_WAIT", default=30.0)
# A vision answer counts (passed or failed) at or above this confidence; below, a
# curator decides (manual_required).
LOREOS_VISION_JUDGE_MIN_CONFIDENCE = env.float(
    "LOREOS_VISION_JUDGE_MIN_CONFIDENCE", default=0.7
)
# Whether a non-HTTPS asset URL counts as fetchable by the generator (on in production).
LOREOS_REQUIRE_HTTPS_ASSETS = env.bool("LOREOS_REQUIRE_HTTPS_ASSETS", default=False)

# --- Limits and metering ------------------------------------------------------------
LOREOS_MAX_UPLOAD_BYTES = env.int("LOREOS_MAX_UPLOAD_BYTES", default=8 * 1024 * 1024)
LOREOS_MAX_IMAGE_PIXELS = env.int("LOREOS_MAX_IMAGE_PIXELS", default=64_000_000)
LOREOS_UNITS_PER_IMAGE = env.int("LOREOS_UNITS_PER_IMAGE", default=1)
LOREOS_MAX_BATCH_IMAGES = 8
LOREOS_EVENTS_PAGE_LIMIT = env.int("LOREOS_EVENTS_PAGE_LIMIT", default=100)
# Live event stream (GET /v1/sessions/{id}/events/stream): a comment line this often
# keeps proxies from closing an idle stream; each process checks the sessions that have
# subscribers for new events this often, in one query (characters/streams.py).
LOREOS_STREAM_HEARTBEAT_SECONDS = env.float(
    "LOREOS_STREAM_HEARTBEAT_SECONDS", default=15.0
)
LOREOS_STREAM_POLL_SECONDS = env.float("LOREOS_STREAM_POLL_SECONDS", default=0.5)
LOREOS_DEFAULT_PAGE_SIZE = env.int("LOREOS_DEFAULT_PAGE_SIZE", default=50)
# visual-inventory lists this many newest assets per category (counts cover them all).
LOREOS_INVENTORY_ASSETS_PER_CATEGORY = env.int(
    "LOREOS_INVENTORY_ASSETS_PER_CATEGORY", default=20
)

# --- Webhooks (Standard Webhooks 1.0; docs/deployment.md) ---------------------------
# Delays in seconds before each delivery attempt (the first is immediate).
_retry_schedule = env.str(
    "LOREOS_WEBHOOK_RETRY_SCHEDULE",
    default="0,5,300,1800,7200,18000,36000,50400,72000,86400",
)
try:
    LOREOS_WEBHOOK_RETRY_SCHEDULE = [
        int(v) for v in _retry_schedule.replace(" ", "").split(",") if v
    ]
    assert LOREOS_WEBHOOK_RETRY_SCHEDULE
    assert all(v >= 0 for v in LOREOS_WEBHOOK_RETRY_SCHEDULE)
except (ValueError, AssertionError):
    raise ImproperlyConfigured(
        "LOREOS_WEBHOOK_RETRY_SCHEDULE must be a comma-separated list of whole "
        f"seconds >= 0 (e.g. 0,5,300), not {_retry_schedule!r}"
    ) from None
# A receiver must answer 2xx within this many seconds.
LOREOS_WEBHOOK_TIMEOUT_SECONDS = env.float(
    "LOREOS_WEBHOOK_TIMEOUT_SECONDS", default=15.0
)
# An endpoint failing without a success for this long is disabled (5 days).
LOREOS_WEBHOOK_DISABLE_AFTER_SECONDS = env.int(
    "LOREOS_WEBHOOK_DISABLE_AFTER_SECONDS", default=5 * 24 * 3600
)
# Self-hosted LANs and tests: allow http:// and private/loopback addresses.
LOREOS_WEBHOOK_ALLOW_PRIVATE = env.bool("LOREOS_WEBHOOK_ALLOW_PRIVATE", default=False)
# Key for the stored signing secrets; empty derives one from SECRET_KEY (HKDF).
LOREOS_WEBHOOK_ENCRYPTION_KEY = env.str("LOREOS_WEBHOOK_ENCRYPTION_KEY", default="")


# --- Curator pages ------------------------------------------------------------------
# The review queue's reason presets: key 1 rejects with the first, 2 the second, …
# (at most 9). Comma-separated in the environment.
LOREOS_CURATE_REASON_PRESETS = env.list(
    "LOREOS_CURATE_REASON_PRESETS",
    default=["face drift", "wrong outfit", "artifact", "forbidden trait"],
)

# --- Logging: one JSON object a line, with the request id ---------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "loreos.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "loreos.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request's full URL at INFO; a webhook URL may carry a token.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
