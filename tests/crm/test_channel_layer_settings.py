"""CHANNEL_REDIS_URLS: the channel layer's Redis servers. Read by a real start-up (a child process importing the
settings), since a bad value must stop the process before it serves anything."""

import json
import subprocess
import sys

import pytest

from crm.env import redis_server_urls
from support import ROOT, subprocess_env

# Each host as JSON; its redis-py retry policy as (retries, errors retried).
PRINT_HOSTS = ("import django, json; django.setup(); from django.conf import settings; "
               "print(json.dumps([{**h, 'retry': [h['retry'].get_retries(), "
               "[e.__name__ for e in h['retry']._supported_errors]]} "
               "for h in settings.CHANNEL_LAYERS['default']['CONFIG']['hosts']]))")
RETRY = [1, ["ConnectionError"]]  # one immediate retry after a dropped connection, none after a timeout


def start(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRINT_HOSTS], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=subprocess_env() | {"DJANGO_SETTINGS_MODULE": "crm.settings"} | env)


def test_unset_the_layer_is_the_one_server_from_redis_url_with_its_timeouts():
    result = start(CHANNEL_REDIS_URLS="", REDIS_URL="redis://10.0.0.5:6380/0", REDIS_DB_OFFSET="4",
                   REDIS_CONNECT_TIMEOUT_SECONDS="1.5")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"address": "redis://10.0.0.5:6380/5", "socket_timeout": 8, "socket_connect_timeout": 1.5, "retry": RETRY}]


def test_set_each_server_in_the_given_order_gets_the_same_timeouts():
    result = start(CHANNEL_REDIS_URLS=" redis://ws-a.internal:6379/1, rediss://:pw@ws-b.internal:6380/1 ,",
                   REDIS_CONNECT_TIMEOUT_SECONDS="2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"address": "redis://ws-a.internal:6379/1", "socket_timeout": 8, "socket_connect_timeout": 2, "retry": RETRY},
        {"address": "rediss://:pw@ws-b.internal:6380/1", "socket_timeout": 8, "socket_connect_timeout": 2,
         "retry": RETRY},
    ]


def test_a_bad_list_stops_the_start_up_saying_which_entry_and_never_the_password():
    result = start(CHANNEL_REDIS_URLS="redis://ws-a:6379/1,redis://:hunter22@ws-b:63x9/1")
    assert result.returncode != 0
    assert "CHANNEL_REDIS_URLS: entry 2 ('redis://***@ws-b:63x9/1') has a port that is not a number" in result.stderr
    assert "hunter22" not in result.stderr


@pytest.mark.parametrize(("raw", "reason"), [
    ("http://ws-a:6379/1", "entry 1 ('http://ws-a:6379/1') is not a redis://, rediss:// or unix:// URL"),
    ("ws-a:6379", "is not a redis://, rediss:// or unix:// URL"),
    ("redis://ws-a/1,redis:///2", "entry 2 ('redis:///2') names no host"),
    ("redis://ws-a/one", "entry 1 ('redis://ws-a/one'): the database number 'one' is not a number"),
    ("redis://ws-a/1,redis://ws-b/1,redis://ws-a:6379/1", "entry 3 ('redis://ws-a:6379/1') repeats entry 1"),
    ("unix://", "entry 1 ('unix://') names no socket path"),
])
def test_bad_entries_are_refused_with_the_reason(raw, reason):
    with pytest.raises(RuntimeError) as refused:
        redis_server_urls("CHANNEL_REDIS_URLS", raw)
    assert reason in str(refused.value)


def test_good_lists_are_kept_as_given_and_empty_means_unset():
    assert redis_server_urls("X", "") == [] and redis_server_urls("X", " , ") == []
    assert redis_server_urls("X", "redis://a/1,redis://a/2,unix:///run/redis.sock?db=1") == [
        "redis://a/1", "redis://a/2", "unix:///run/redis.sock?db=1"]


def test_the_app_talks_to_the_layer_through_groups_only():
    """channels-redis 4.3 hashes a direct `send()` to a process's channel on the channel's full name, while the
    process reads from the server its name's non-local part hashes to: with several servers about half of such
    sends land where nobody reads (seen with two real servers). Group sends map each member correctly, so the
    app pushes through groups only (README "Channel layer across several Redis servers")."""
    import re

    direct_send = re.compile(r"\b(channel_layer|layer)\.send\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in ROOT.glob("*/**/*.py") if path.parts[len(ROOT.parts)] not in {".venv", "node_modules", "tests"}
        for n, line in enumerate(path.read_text().splitlines(), start=1) if direct_send.search(line)
    ]
    assert offenders == []
