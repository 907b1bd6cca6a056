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
    LOGIN_RATE_LIMIT = "10 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    MEDIA_FOLDER: str | None = None  # demo images; defaults to instance/media
