"""Typed readers for settings that come from the environment (healthchecks style)."""

import os
from pathlib import Path


def env_str(name: str, default: str = "") -> str:
    # A secret may be mounted as a file (Docker/Kubernetes secrets): NAME_FILE wins over NAME.
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return int(raw)


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return float(raw)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def redis_db_url(base_url: str, db: int) -> str:
    """The same Redis server, another logical database number."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def redis_server_urls(name: str, raw: str) -> list[str]:
    """A comma-separated list of Redis URLs (the channel layer's shards), each checked at start-up.

    A typo here would otherwise surface as feeds that silently miss alerts on one shard, so a process with a
    bad list refuses to start and says which entry is wrong."""
    from urllib.parse import urlsplit

    urls = [item.strip() for item in raw.split(",") if item.strip()]
    seen: dict[tuple, str] = {}
    for position, url in enumerate(urls, start=1):
        parts = urlsplit(url)
        shown = f"{parts.scheme}://***@{url.split('@', 1)[1]}" if "@" in url else url  # never echo a password
        where = f"{name}: entry {position} ({shown!r})"
        if parts.scheme not in {"redis", "rediss", "unix"}:
            raise RuntimeError(f"{where} is not a redis://, rediss:// or unix:// URL")
        try:
            port = parts.port
        except ValueError:
            raise RuntimeError(f"{where} has a port that is not a number") from None
        if parts.scheme != "unix" and not parts.hostname:
            raise RuntimeError(f"{where} names no host")
        if parts.scheme == "unix" and not parts.path:
            raise RuntimeError(f"{where} names no socket path")
        db = parts.path.strip("/") if parts.scheme != "unix" else ""
        if db and not db.isdigit():
            raise RuntimeError(f"{where}: the database number {db!r} is not a number")
        server = (parts.scheme, parts.hostname, port or 6379, parts.path if parts.scheme == "unix" else db or "0")
        if server in seen:
            raise RuntimeError(f"{where} repeats entry {seen[server]}: each shard is its own server (or database)")
        seen[server] = str(position)
    return urls
