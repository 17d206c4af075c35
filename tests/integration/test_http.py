"""HTTP core: every bad-input case answers the right status with problem+json, request ids,
metrics, the OpenAPI document, and graceful shutdown that lets a slow request finish."""

import json
import signal
import socket
import time
import unittest

import loupe_harness as lh

lh.require_services()


def raw_request(port, data, read_timeout=10.0):
    """Sends raw bytes, returns (status, headers dict, body bytes) of the first response."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        return read_response(s)


def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(body) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


class HttpCoreTest(lh.LoupeTestCase):
    @classmethod
    def setUpClass(cls):
        pass

    def setUp(self):
        super().setUp()
        self.start_team(settings={"http_body_limit": "4k"})

    def test_unknown_route_and_wrong_method(self):
        p = self.assertProblem(self.c.get("/api/v1/no-such-thing"), 404)
        self.assertIn("/api/v1/no-such-thing", p["detail"])
        r = self.c.delete("/healthz")
        self.assertProblem(r, 405)
        self.assertIn("GET", r.header("Allow"))

    def test_malformed_json_names_the_position(self):
        r = self.c.request("POST", "/api/v1/api-keys", data=b'{"name": "k",\n "x": }',
                           headers={"Content-Type": "application/json"})
        p = self.assertProblem(r, 400, field="body")
        self.assertIn("line 2", p["detail"])
        self.assertIn("column", p["detail"])

    def test_duplicate_keys_and_non_object(self):
        r = self.c.request("POST", "/api/v1/api-keys", data=b'{"name": "a", "name": "b"}',
                           headers={"Content-Type": "application/json"})
        self.assertProblem(r, 400)
        r = self.c.request("POST", "/api/v1/api-keys", data=b'[1,2]', headers={"Content-Type": "application/json"})
        self.assertProblem(r, 422, field="body")
        r = self.c.request("POST", "/api/v1/api-keys", data=b'', headers={"Content-Type": "application/json"})
        self.assertProblem(r, 400)

    def test_wrong_content_type(self):
        r = self.c.request("POST", "/api/v1/api-keys", data=b'name=k',
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        p = self.assertProblem(r, 415)
        self.assertIn("Content-Type", p.get("hint", ""))

    def test_body_over_limit(self):
        big = json.dumps({"name": "x" * 10000}).encode()
        r = self.c.request("POST", "/api/v1/api-keys", data=big, headers={"Content-Type": "application/json"})
        self.assertProblem(r, 413)
        # chunked body (no Content-Length) over the limit is refused too
        port = self.d.port
        chunk = b"x" * 3000
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
        status, headers, data = raw_request(port, b"POST /api/v1/api-keys HTTP/1.1\r\nHost: x\r\n"
                                            b"Authorization: ApiKey " + self.boot["api_key"].encode() +
                                            b"\r\nContent-Type: application/json\r\n"
                                            b"Transfer-Encoding: chunked\r\n\r\n" + body)
        self.assertEqual(status, 413)
        self.assertEqual(headers.get("content-type"), "application/problem+json")

    def test_unauthenticated(self):
        r = self.d.client().get("/api/v1/me")
        self.assertProblem(r, 401)
        self.assertIn("ApiKey", r.header("WWW-Authenticate", ""))

    def test_request_id(self):
        r = self.c.get("/healthz", headers={"X-Request-Id": "abc-123"})
        self.assertEqual(r.header("X-Request-Id"), "abc-123")
        r = self.c.get("/healthz", headers={"X-Request-Id": "bad id\x7f"})
        rid = r.header("X-Request-Id")
        self.assertTrue(rid and rid != "bad id\x7f")
        r2 = self.c.get("/healthz")
        self.assertNotEqual(r2.header("X-Request-Id"), rid)
        # the access log carries the request id
        lh.wait_until(lambda: any(l.get("request_id") == "abc-123" and l.get("module") == "access"
                                  for l in self.d.log_lines_json()), message="access log line")

    def test_metrics_and_openapi(self):
        self.c.get("/healthz")
        self.c.get("/api/v1/me")
        # A request is counted when it completes, just after its answer went out.
        me_line = 'loupe_http_request_duration_seconds_bucket{route="GET /api/v1/me"'

        def scrape():
            r = self.d.client().get("/metrics", headers=lh.metrics_headers())
            self.assertEqual(r.status, 200)
            return r.text if me_line in r.text else None
        text = lh.wait_until(scrape, timeout=5, message="GET /api/v1/me in /metrics")
        self.assertIn('loupe_http_requests_total{route="GET /healthz",status="200"}', text)
        self.assertIn('loupe_http_request_duration_seconds_bucket{route="GET /api/v1/me"', text)
        self.assertIn('loupe_db_pool_connections{state="size"}', text)
        r = self.c.get("/api/v1/openapi.json")
        self.assertEqual(r.status, 200)
        doc = r.json()
        self.assertEqual(doc["openapi"], "3.1.0")

    def test_openapi_documents_every_route(self):
        doc = self.c.get("/api/v1/openapi.json").json()
        import os
        import re
        src = os.path.join(os.environ.get("LOUPE_SOURCE_DIR", "."), "src/api/routes.def")
        with open(src) as f:
            routes = re.findall(r'^LP_ROUTE\((\w+),\s*"([^"]+)"', f.read(), re.M)
        self.assertTrue(routes)
        missing = []
        for method, pattern in routes:
            path = pattern.replace("*}", "}")
            ops = doc["paths"].get(path, {})
            if method.lower() not in ops:
                missing.append("%s %s" % (method, pattern))
        self.assertEqual(missing, [], "routes missing from docs/openapi.yaml")

    def test_sigterm_lets_a_slow_request_finish(self):
        port = self.d.port
        body = json.dumps({"email": "nobody@example.com", "password": "wrong-password-1"}).encode()
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.5)
        self.d.signal(signal.SIGTERM)
        time.sleep(0.5)
        # the daemon no longer accepts new connections …
        lh.wait_until(lambda: not lh.port_open(port), timeout=5, message="listening socket closed")
        # … but the request that was under way completes
        s.sendall(body[10:])
        status, headers, data = read_response(s)
        s.close()
        self.assertEqual(status, 401)
        self.assertEqual(self.d.wait(timeout=15), 0)


if __name__ == "__main__":
    unittest.main()
