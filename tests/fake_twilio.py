"""A Twilio-compatible Messages API on loopback, for tests of the real HTTP SMS backend.

It checks basic auth, records every request, delivers a message once per Idempotency-Key (like a provider
that dedupes), and can be told to fail the next request or to accept it and drop the answer (the "worker
died after the provider took it" case seen from the client).
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class FakeTwilio:
    account_sid: str = "ACtest0000000000000000000000000000"
    auth_token: str = "test-auth-token"
    requests: list[dict] = field(default_factory=list)
    delivered: list[dict] = field(default_factory=list)
    by_key: dict[str, str] = field(default_factory=dict)
    fail_next: list[tuple[int, dict]] = field(default_factory=list)
    drop_answer_next: int = 0
    # When set, a message is taken but its answer waits until the gate opens (a sender killed mid-request).
    answer_gate: threading.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _answer(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                expected = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                key = self.headers.get("Idempotency-Key", "")
                with fake.lock:
                    fake.requests.append({"path": self.path, "form": form, "key": key})
                    if self.headers.get("Authorization") != expected:
                        return self._answer(401, {"code": 20003, "message": "Authenticate"})
                    if self.path != f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json":
                        return self._answer(404, {"code": 20404, "message": "Not found"})
                    if fake.fail_next:
                        status, payload = fake.fail_next.pop(0)
                        return self._answer(status, payload)
                    sid = fake.by_key.get(key) if key else None
                    if sid is None:
                        sid = f"SM{len(fake.delivered) + 1:032d}"
                        fake.delivered.append({"sid": sid, "to": form.get("To"), "from": form.get("From"),
                                               "body": form.get("Body"), "key": key})
                        if key:
                            fake.by_key[key] = sid
                    if fake.drop_answer_next:
                        fake.drop_answer_next -= 1
                        # Taken, but the client never hears back: it must resend with the same key.
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return None
                if fake.answer_gate is not None:
                    fake.answer_gate.wait(30)
                return self._answer(201, {"sid": sid, "status": "queued"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
