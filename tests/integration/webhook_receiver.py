"""A webhook receiver for the tests: a real HTTP server on a loopback address that records every
request and answers as the test scripts it, and the independent check of each delivery's
signature by the npm package standardwebhooks (tests/integration/webhooks/verify.cjs)."""
import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import loupe_harness as lh


class Receiver:
    """Listens on host (127.0.0.2 by default: the tests' net_allow). plan(status, …) queues the
    answers of the next requests (default 200); an entry may be ("sleep", seconds, status) or
    ("redirect", url, status). on_answered(request), when set, is called with each recorded
    request after it was answered (a receiver acting on what it got)."""

    def __init__(self, host="127.0.0.2"):
        self.requests = []
        self.on_answered = None
        self.started = []       # webhook-ids whose request arrived (before any answer)
        self._plan = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8")
                with receiver._lock:
                    receiver.started.append(self.headers.get("webhook-id"))
                    step = receiver._plan.pop(0) if receiver._plan else 200
                status, location = step, None
                if isinstance(step, tuple) and step[0] == "sleep":
                    time.sleep(step[1])
                    status = step[2]
                elif isinstance(step, tuple) and step[0] == "redirect":
                    location, status = step[1], step[2]
                request = {"headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": body, "path": self.path, "answered": status, "at": time.time()}
                with receiver._lock:
                    receiver.requests.append(request)
                answer = b'{"ok": true}' if status < 300 else b"receiver says no"
                try:
                    self.send_response(status)
                    if location:
                        self.send_header("Location", location)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    self.wfile.flush()
                except OSError:
                    pass
                if receiver.on_answered:
                    receiver.on_answered(request)

            do_GET = do_POST

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://%s:%d/hook" % (host, self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def plan(self, *steps):
        with self._lock:
            self._plan.extend(steps)

    def events(self):
        with self._lock:
            return [json.loads(r["body"]) for r in self.requests]

    def wait_for(self, n, timeout=30.0):
        return lh.wait_until(lambda: len(self.requests) >= n and list(self.requests), timeout=timeout,
                             message="%d webhook requests (got %d)" % (n, len(self.requests)))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Listener:
    """A bare TCP listener on an address the guard refuses: counts the connections it accepts."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            c.close()

    def close(self):
        self._stop = True
        self.thread.join()
        self.sock.close()


def verifier():
    """Path of verify.cjs with standardwebhooks installed beside it (the ctest fixture
    integration/webhook_verifier_setup), or a skip."""
    path = os.environ.get("LOUPE_WEBHOOK_VERIFIER", "")
    if not path or not os.path.exists(path):
        lh.skip("the standardwebhooks verifier is not installed (ctest fixture integration/webhook_verifier_setup)")
    return path


def verify(tc, secret, requests):
    """Asserts that standardwebhooks accepts every request (signature, timestamp) under secret."""
    doc = {"secret": secret, "deliveries": [{"headers": r["headers"], "body": r["body"]} for r in requests]}
    proc = subprocess.run(["node", verifier()], input=json.dumps(doc), capture_output=True, text=True, timeout=60)
    tc.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
    tc.assertEqual(json.loads(proc.stdout)["verified"], len(requests))
    return True


def verify_fails(tc, secret, requests):
    doc = {"secret": secret, "deliveries": [{"headers": r["headers"], "body": r["body"]} for r in requests]}
    proc = subprocess.run(["node", verifier()], input=json.dumps(doc), capture_output=True, text=True, timeout=60)
    tc.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
