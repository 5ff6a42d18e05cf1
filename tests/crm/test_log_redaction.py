"""API tokens passed as ?token= on the websocket never reach a log line."""

import logging
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from websockets.sync.client import connect

from crm.logging import RedactSecretsFilter, redact
from rooftops.services import api_token_create
from support import ROOT, free_port, stop_process, subprocess_env


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('127.0.0.1:5 - "WebSocket /ws/alerts/?token=abc.DEF-123_x" [accepted]',
         '127.0.0.1:5 - "WebSocket /ws/alerts/?token=[redacted]" [accepted]'),
        ("GET /api/x/?page=2&api_key=s3cr3t&q=pat", "GET /api/x/?page=2&api_key=[redacted]&q=pat"),
        ("/ws/alerts/%3Ftoken%3Dabc", "/ws/alerts/%3Ftoken%3Dabc"),  # not a query string: left alone
        ("/ws/alerts/?TOKEN=abc#frag", "/ws/alerts/?TOKEN=[redacted]#frag"),
        ("/customers/?q=token", "/customers/?q=token"),
        ('"POST /intake/adf/5pIAsc2ZKFbZU_5PW/ HTTP/1.1" 400', '"POST /intake/adf/[redacted]/ HTTP/1.1" 400'),
        ("Bad Request: /intake/adf/abc", "Bad Request: /intake/adf/[redacted]"),
    ],
)
def test_credentials_in_query_strings_are_redacted(line, expected):
    assert redact(line) == expected


def test_a_log_line_through_the_configured_handlers_carries_no_token(caplog):
    # The project's LOGGING puts the filter on the console handler; here it sits on caplog's handler the same way.
    caplog.handler.addFilter(RedactSecretsFilter())
    logging.getLogger("uvicorn.error").warning('%s - "WebSocket %s" [accepted]', "127.0.0.1:1", "/ws/alerts/?token=sekrit")
    assert "sekrit" not in caplog.text and "?token=[redacted]" in caplog.text
    root_handlers = logging.getLogger().handlers
    assert any(isinstance(f, RedactSecretsFilter) for h in root_handlers for f in h.filters)


@pytest.mark.django_db(transaction=True)
def test_the_servers_access_and_websocket_log_lines_carry_no_token(world, tmp_path):
    _, key = api_token_create(user=world.bdc, name="script")
    port = free_port()
    log = (tmp_path / "uvicorn.log").open("w+")
    # uvicorn with its access log on, as deployed (Dockerfile): every request line is written.
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "crm.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--ws", "websockets-sansio", "--log-level", "info"],
        cwd=ROOT, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(100):
            try:
                with connect(f"ws://127.0.0.1:{port}/ws/alerts/?token={key}", open_timeout=5) as ws:
                    ws.send('{"type": "ping"}')
                    assert "pong" in ws.recv(timeout=10)
                break
            except OSError:
                time.sleep(0.1)
        import urllib.request

        urllib.request.urlopen(f"http://127.0.0.1:{port}/login/?token={key}", timeout=5).read()
        time.sleep(0.5)
    finally:
        stop_process(server)
    log.seek(0)
    text = log.read()
    assert "/ws/alerts/?token=[redacted]" in text, text
    assert "/login/?token=[redacted]" in text, text
    assert key not in text
    assert urlsplit(f"http://x/?token={key}").query  # the key itself was a real value
