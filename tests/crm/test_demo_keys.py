"""`make demo-keys` on a fresh clone: no SECRET_KEY, no DEBUG, an empty database. Production stays strict."""

import json
import os
import subprocess
import sys
from urllib.parse import quote

import psycopg
import pytest
import redis
from django.conf import settings

from support import ROOT

# Redis numbers no test, worker or `make run` reads: the seeder may queue tasks there, flushed afterwards.
SPARE_REDIS_DB_OFFSET = 28


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that says "this is a dev box" or gives a key."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DEBUG",
                                                          "DJANGO_SETTINGS_MODULE")}
    return env | extra


@pytest.fixture
def empty_database():
    """A database of its own on the test server, as a fresh clone's would be: not even migrated."""
    db = settings.DATABASES["default"]
    name = f"demo_keys_{os.getpid()}"
    params = {"host": db["HOST"] or None, "port": db.get("PORT") or None, "user": db["USER"], "dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    host = db["HOST"] or ""
    netloc = f"{db['USER']}@{quote(host, safe='') if host.startswith('/') else host}"
    if db.get("PORT"):
        netloc += f":{db['PORT']}"
    yield f"postgres://{netloc}/{name}"
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for n in range(3):
        redis.Redis.from_url(settings.REDIS_URL, db=SPARE_REDIS_DB_OFFSET + n).flushdb()


def test_demo_keys_prints_every_login_token_and_key_with_no_environment_set(empty_database):
    env = _clean_env(DATABASE_URL=empty_database, REDIS_DB_OFFSET=str(SPARE_REDIS_DB_OFFSET))
    # The command the Makefile target runs.
    done = subprocess.run([sys.executable, "scripts/dev.py", "demo-keys"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    keys = json.loads(done.stdout)
    assert len(keys["logins"]) >= 10
    assert all(login["username"] and login["api_token"] for login in keys["logins"])
    assert {"lakeside-toyota", "summit-honda"} <= set(keys["rooftops"])
    for rooftop in keys["rooftops"].values():
        assert rooftop["tracking_write_key"] and rooftop["lead_intake_token"]


def test_a_deployed_process_without_a_secret_key_still_refuses_to_start():
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=_clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in done.stderr


def test_a_deployed_process_without_field_encryption_keys_refuses_to_start():
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=_clean_env(SECRET_KEY="s" * 50),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off" in done.stderr
