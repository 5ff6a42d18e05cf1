"""The load test's own HTTP/1.1 client (bench/bench_load.py): what it measures is only as good as how it reads
answers. Pure: a tiny asyncio server on loopback, no Django."""

import asyncio

from bench.bench_load import Http, Recorder, Senders


heads: list[bytes] = []  # each request's head, as the server read it


def serve(answers):
    """A server that answers each request on a connection with the next of `answers` (bytes, or None to close
    the connection without answering); returns (server, requests seen, connections opened)."""
    seen, connections = [], []
    heads.clear()

    async def handle(reader, writer):
        connections.append(writer)
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length")), 0)
            body = await reader.readexactly(length)
            seen.append((head.split(b"\r\n")[0].decode(), body))
            heads.append(head)
            answer = answers.pop(0)
            if answer is None:
                writer.close()
                return
            writer.write(answer)
            await writer.drain()

    return handle, seen, connections


def run(answers, requests):
    async def main():
        handle, seen, connections = serve(answers)
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        http = Http(port, [("Cookie", "sessionid=abc")])
        results = [await http.request(*r) if isinstance(r, tuple) else await r(http) for r in requests]
        http.close()
        server.close()
        return results, seen, connections

    return asyncio.run(main())


def test_it_reads_a_sized_body_then_a_chunked_one_on_the_same_connection():
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
               b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"]
    results, seen, connections = run(answers, [("GET", "/a"), ("GET", "/b")])
    assert results == [(200, b"hello"), (404, b"abcde")]
    assert [line for line, _ in seen] == ["GET /a HTTP/1.1", "GET /b HTTP/1.1"]
    assert len(connections) == 1


def test_a_kept_alive_connection_the_server_closed_is_reopened_and_the_request_sent_once_more():
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", None,
               b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"]
    results, seen, connections = run(answers, [("GET", "/a"), ("POST", "/v1/batch", )])
    assert results == [(200, b"ok"), (201, b"")]
    assert len(connections) == 2


def test_a_server_that_keeps_closing_is_an_error_status_0_not_a_retry_loop():
    answers = [None, None, None]
    results, seen, connections = run(answers, [("GET", "/a")])
    assert results == [(0, b"")]
    assert len(seen) == 1  # a fresh connection closed: not sent again


def test_a_request_body_and_the_session_cookie_are_sent():
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]

    async def post(http):
        return await http.request("POST", "/v1/batch", body=b'{"batch": []}', headers=[("X-Test", "1")])

    results, seen, _ = run(answers, [post])
    assert results == [(200, b"")] and seen == [("POST /v1/batch HTTP/1.1", b'{"batch": []}')]
    assert b"\r\nCookie: sessionid=abc\r\n" in heads[0] and b"\r\nX-Test: 1\r\n" in heads[0]
    assert b"\r\nContent-Length: 13" in heads[0]


def test_the_senders_count_a_batch_due_while_every_connection_is_busy_instead_of_queueing_it():
    senders = Senders(port=1, limit=0)
    assert asyncio.run(senders.post("wk", [{"type": "track"}])) is None
    assert senders.not_sent == 1


def test_the_recorder_keeps_only_requests_that_started_inside_the_window():
    recorder = Recorder()
    recorder.window = (10.0, 20.0)
    recorder.add("page", 9.99, 200)
    recorder.add("page", 10.0, 200)
    recorder.add("page", 19.9, 503)
    recorder.add("page", 20.0, 200)
    assert len(recorder.latencies["page"]) == 2 and recorder.statuses["page"] == {200: 1, 503: 1}
