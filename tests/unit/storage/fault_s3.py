#!/usr/bin/env python3
"""A tiny S3-like HTTP/1.1 server with fault injection, for the S3 backend's connection-reuse and
retry tests (s3_resilience_test.c). Objects live in memory (PUT, GET with Range, HEAD, DELETE;
signatures are not checked). Keep-alive connections are counted.

    fault_s3.py PORTFILE     listens on a free loopback port and writes the port to PORTFILE

Control requests (not counted):
    GET /__stats                 {"connections": n, "requests": n}  (since the last reset)
    POST /__faults?mode=M&count=N  the next N requests fail: M=500 answers 500 InternalError,
                                 M=reset closes the connection without an answer; also resets
                                 the counters
"""

import json
import os
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

objects = {}
lock = threading.Lock()
state = {"connections": 0, "requests": 0, "mode": "", "count": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stalls
        with lock:
            state["connections"] += 1

    def reply(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def control(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/__stats":
            with lock:
                body = json.dumps({"connections": state["connections"], "requests": state["requests"]})
            self.reply(200, body.encode())
            return True
        if url.path == "/__faults":
            q = dict(urllib.parse.parse_qsl(url.query))
            with lock:
                state.update(mode=q.get("mode", ""), count=int(q.get("count", "0")), connections=0, requests=0)
            self.reply(204)
            self.close_connection = True
            return True
        return False

    def fault(self):
        with lock:
            state["requests"] += 1
            if state["count"] <= 0:
                return False
            state["count"] -= 1
            mode = state["mode"]
        if mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
            return True
        self.reply(500, b"<Error><Code>InternalError</Code><Message>injected</Message></Error>",
                   {"Content-Type": "application/xml"}, head=self.command == "HEAD")
        return True

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def key(self):
        return urllib.parse.urlsplit(self.path).path

    def do_GET(self, head=False):
        if self.control() or self.fault():
            return
        data = objects.get(self.key())
        if data is None:
            self.reply(404, b"<Error><Code>NoSuchKey</Code></Error>", head=head)
            return
        rng = self.headers.get("Range")
        hdrs = {"ETag": '"e%d"' % len(data), "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}
        if rng and not head:
            first, _, last = rng[len("bytes="):].partition("-")
            first = int(first)
            last = min(int(last) if last else len(data) - 1, len(data) - 1)
            if first >= len(data):
                self.reply(416, b"<Error><Code>InvalidRange</Code></Error>")
                return
            hdrs["Content-Range"] = "bytes %d-%d/%d" % (first, last, len(data))
            self.reply(206, data[first:last + 1], hdrs)
            return
        if head:
            self.send_response(200)
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return
        self.reply(200, data, hdrs)

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_PUT(self):
        data = self.body()
        if self.fault():
            return
        objects[self.key()] = data
        self.reply(200, b"", {"ETag": '"e%d"' % len(data)})

    def do_DELETE(self):
        if self.fault():
            return
        objects.pop(self.key(), None)
        self.reply(204)

    def do_POST(self):
        self.body()
        if self.control() or self.fault():
            return
        self.reply(501)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
