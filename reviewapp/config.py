"""Default settings; every one can be overridden with a REVIEWAPP_* environment variable."""

DEFAULT_SECRET_KEY = "dev-only-insecure-key"


class Defaults:
    SECRET_KEY = DEFAULT_SECRET_KEY
    # Filled in by create_app with a SQLite file in the instance folder.
    DATABASE_URL: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Label Studio exports of 100,000 tasks are a few hundred MB.
    MAX_CONTENT_LENGTH = 512 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # Failed log-ins allowed per account and address, and per address, in the window (seconds).
    LOGIN_MAX_FAILURES = 10
    LOGIN_MAX_FAILURES_PER_ADDRESS = 100
    LOGIN_FAILURE_WINDOW = 900
    # How many reverse proxies in front of the app to trust for X-Forwarded-For/-Proto (0: none).
    PROXY_FIX = 0
    REDIS_URL: str | None = None
    # Background jobs (services/jobs): Huey's SQLite file (default instance/jobs.db; Redis
    # when REDIS_URL is set), how long a form or API call waits for a job before answering
    # with its progress, when a silent worker counts as dead, export files' lifetime.
    JOBS_PATH: str | None = None
    JOBS_IMMEDIATE = False
    JOBS_WAIT = 10
    # A bulk action big enough to be a job answers at once with its progress page (< 1 s).
    JOBS_BULK_WAIT = 0.5
    JOBS_STALE_SECONDS = 120
    JOBS_HEARTBEAT_SECONDS = 10
    JOBS_EXPORT_RETENTION_HOURS = 24
    JOBS_BULK_THRESHOLD = 5000
    # Webhooks call public http(s) hosts only; REVIEWAPP_WEBHOOK_ALLOW_PRIVATE=1 lets them
    # call loopback, link-local and private addresses too (a receiver on the same network).
    WEBHOOK_ALLOW_PRIVATE = False
    MEDIA_FOLDER: str | None = None  # demo images; defaults to instance/media
    # Session and remember-me cookies: never readable by scripts, not sent on cross-site posts;
    # also Secure when HTTPS is on (REVIEWAPP_HTTPS=1; security.register sets those flags).
    HTTPS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
