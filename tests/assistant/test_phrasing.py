"""The optional language model only rephrases; slow, failing or empty answers fall back. Loopback stubs only."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant import phrasing

ENGINE = "Sales hours today: 9:00 AM–8:00 PM."


def stub(behaviour):
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            status, answer = behaviour()
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def configured(monkeypatch):
    servers = []

    def configure(behaviour, timeout="2"):
        server, seen = stub(behaviour)
        servers.append(server)
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
        monkeypatch.setenv("ASSISTANT_LLM_API_KEY", "test-key")
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "tiny")
        monkeypatch.setenv("ASSISTANT_LLM_TIMEOUT_SECONDS", timeout)
        return seen

    yield configure
    for server in servers:
        server.shutdown()


def answer(text):
    return 200, {"choices": [{"message": {"role": "assistant", "content": text}}]}


def test_without_configuration_the_engine_speaks(monkeypatch):
    monkeypatch.delenv("ASSISTANT_LLM_BASE_URL", raising=False)
    assert phrasing.rephrase(ENGINE, shopper_message="hours?") == ENGINE


def test_the_model_rephrases_given_only_the_reply_and_the_message(configured):
    seen = configured(lambda: answer("We're open 9:00 AM to 8:00 PM today!"))
    assert phrasing.rephrase(ENGINE, shopper_message="hours?") == "We're open 9:00 AM to 8:00 PM today!"
    (call,) = seen
    assert call["path"] == "/v1/chat/completions" and call["auth"] == "Bearer test-key"
    assert call["body"]["model"] == "tiny"
    system, user = call["body"]["messages"]  # nothing else is sent: no records, no history
    assert system["role"] == "system" and user == {"role": "user",
                                                   "content": f"Shopper wrote: hours?\n\nReply to rephrase: {ENGINE}"}


def test_a_slow_model_falls_back_in_time(configured):
    def slow():
        time.sleep(1.5)
        return answer("too late")

    configured(slow, timeout="0.3")
    started = time.monotonic()
    assert phrasing.rephrase(ENGINE, shopper_message="hours?") == ENGINE
    assert time.monotonic() - started < 1.2


@pytest.mark.parametrize("behaviour", [
    lambda: (500, {"error": "boom"}),
    lambda: answer(""),
    lambda: (200, {"unexpected": True}),
    lambda: answer("x" * 5000),
])
def test_errors_and_odd_answers_fall_back(configured, behaviour):
    configured(behaviour)
    assert phrasing.rephrase(ENGINE, shopper_message="hours?") == ENGINE
