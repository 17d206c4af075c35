"""HTTP framing and request rules under hostile clients (raw sockets): request smuggling with
Content-Length and Transfer-Encoding together, invalid Content-Length, over-long URLs and header
sections, JSON look-alike media types, NUL bytes in path ids, and the /metrics token."""

import json
import re
import socket
import unittest

import loupe_harness as lh

lh.require_services()

METRICS_TOKEN = lh.METRICS_TOKEN


def read_all(s, timeout=5.0):
    """Everything the server sends until it closes the connection (or timeout). Returns
    (bytes, closed)."""
    s.settimeout(timeout)
    buf = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return buf, True
            buf += chunk
    except socket.timeout:
        return buf, False
    except ConnectionResetError:
        return buf, True


def statuses(data):
    """The status codes of every HTTP/1.x status line in data, also one that follows a body
    without a line break."""
    return [int(m.group(1)) for m in re.finditer(rb"HTTP/1\.[01] (\d{3}) ", data)]


class HostileHttpTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team()

    def raw(self, data, timeout=5.0):
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=timeout) as s:
            s.sendall(data)
            return read_all(s, timeout)

    def auth(self):
        return b"Authorization: ApiKey " + self.boot["api_key"].encode() + b"\r\n"

    def test_content_length_with_chunked_is_refused_and_closed(self):
        body = b'{"name":"k"}'
        smuggled = b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n" + self.auth() + b"\r\n"
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        data, closed = self.raw(b"POST /api/v1/api-keys HTTP/1.1\r\nHost: x\r\n" + self.auth() +
                                b"Content-Type: application/json\r\nContent-Length: %d\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\n" % len(chunked) + chunked + smuggled)
        self.assertEqual(statuses(data), [400], data[:400])
        self.assertTrue(closed, "the connection stays open after a request with both framings")
        self.assertIn(b"Transfer-Encoding", data)
        # no key was made
        self.assertEqual(len(self.c.get("/api/v1/api-keys").json()["items"]), 1)

    def post_with_header_lines(self, lines):
        """A POST whose Content-Length field(s) are given as raw header lines, followed by a
        second request that must never run. Returns (data, closed)."""
        smuggled = b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n" + self.auth() + b"\r\n"
        return self.raw(b"POST /api/v1/api-keys HTTP/1.1\r\nHost: x\r\n" + self.auth() +
                        b"Content-Type: application/json\r\n" + lines + b"\r\n" + smuggled)

    def test_ambiguous_content_length_is_refused_once_and_closed(self):
        # what the HTTP library lets through: Content-Length fields that disagree (it reads the
        # first), whitespace before the colon and a folded line (it keeps the field under a name
        # no one reads, so the bytes after the head would run as the next request)
        for lines in (b"Content-Length: 5\r\nContent-Length: 7\r\n",
                      b"Content-Length: 7\r\ncontent-length: 0\r\n",
                      b"Content-Length :5\r\n",
                      b"Content-Length\t: 5\r\n",
                      b"Content-Length: 5\r\n Content-Length: 7\r\n"):
            data, closed = self.post_with_header_lines(lines)
            self.assertEqual(statuses(data), [400], "%r: %r" % (lines, data[:600]))
            self.assertTrue(closed, lines)
            self.assertIn(b"application/problem+json", data, lines)
        # no key was made
        self.assertEqual(len(self.c.get("/api/v1/api-keys").json()["items"]), 1)

    # libmicrohttpd 0.9.75 answers a Content-Length that is not a decimal number itself, before
    # any callback of ours runs, and writes its status line and headers twice (docs/SECURITY.md,
    # "Known limits"): this test measures that limit and fails the day it is gone.
    @unittest.expectedFailure
    def test_invalid_content_length_is_answered_once(self):
        for cl in (b"abc", b"-1", b"1, 2", b"1 2", b"5 ", b"", b"99999999999999999999999"):
            data, closed = self.post_with_header_lines(b"Content-Length: " + cl + b"\r\n")
            self.assertEqual(len(statuses(data)), 1, "Content-Length %r: %r" % (cl, data[:600]))

    def test_invalid_content_length_is_refused_and_closed(self):
        for cl in (b"abc", b"-1", b"1, 2", b"1 2", b"5 ", b"", b"99999999999999999999999"):
            data, closed = self.post_with_header_lines(b"Content-Length: " + cl + b"\r\n")
            st = statuses(data)
            # 413 only for a number past 64 bits
            self.assertEqual(set(st), {413 if cl.isdigit() else 400}, "Content-Length %r: %r" % (cl, data[:600]))
            self.assertTrue(closed, cl)
        self.assertEqual(len(self.c.get("/api/v1/api-keys").json()["items"]), 1)

    def test_long_url_and_headers_answer_414_and_431(self):
        data, closed = self.raw(b"GET /api/v1/items?x=" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(statuses(data), [414], data[:300])
        self.assertTrue(closed)
        data, closed = self.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n")
        self.assertEqual(statuses(data), [431], data[:300])
        many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(200))
        data, closed = self.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        self.assertEqual(statuses(data), [431], data[:300])
        # far beyond the limits (past the connection's memory): still an answer, never a silent close
        data, closed = self.raw(b"GET /api/v1/items?x=" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual((statuses(data), closed), ([414], True), data[:300])
        data, closed = self.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100000 + b"\r\n\r\n")
        self.assertEqual((statuses(data), closed), ([431], True), data[:300])
        # ordinary requests still work
        self.assertEqual(self.c.get("/healthz").status, 200)

    def test_json_lookalike_media_types_are_415_everywhere(self):
        ds = self.c.post("/api/v1/datasets", json={"name": "d", "slug": "d"}).json()
        item = self.c.post("/api/v1/datasets/%s/items" % ds["id"],
                           json={"name": "a.jpg", "slots": [{"name": "0", "type": "image"}]}).json()
        body = json.dumps({"create": []}).encode()
        for ct in ("application/jsonx", "application/json5", "application/json-seq", "application/jsonp",
                   "text/plain"):
            for path in ("/api/v1/items/%s/annotations/batch" % item["id"], "/api/v1/api-keys",
                         "/api/v1/datasets"):
                r = self.c.request("POST", path, data=body, headers={"Content-Type": ct})
                self.assertProblem(r, 415)
        r = self.c.request("POST", "/api/v1/items/%s/annotations/batch" % item["id"], data=body,
                           headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertProblem(r, 422)  # read as JSON: an empty batch

    def test_nul_in_path_id_is_refused(self):
        ds = self.c.post("/api/v1/datasets", json={"name": "d2", "slug": "d2"}).json()
        r = self.c.get("/api/v1/datasets/%s" % ds["id"])
        self.assertEqual(r.status, 200)
        for suffix in ("%00", "%00x", "%00/"):
            data, _ = self.raw(b"GET /api/v1/datasets/" + ds["id"].encode() + suffix.encode() +
                               b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + self.auth() + b"\r\n")
            st = statuses(data)
            self.assertEqual(len(st), 1, data[:300])
            self.assertIn(st[0], (400, 404), suffix)

    def test_metrics_need_the_token(self):
        anon = self.d.client()
        self.assertProblem(anon.get("/metrics"), 401)
        self.assertProblem(anon.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401)
        # an API key of the team is not the metrics token
        self.assertProblem(self.c.get("/metrics"), 401)
        r = anon.get("/metrics", headers={"Authorization": "Bearer " + METRICS_TOKEN})
        self.assertEqual(r.status, 200)
        self.assertIn("loupe_http_requests_total", r.text)


class MetricsOffTest(lh.LoupeTestCase):
    def test_metrics_without_a_token_are_not_served(self):
        self.start_team(settings={"metrics_token": None})
        self.assertProblem(self.d.client().get("/metrics"), 404)


if __name__ == "__main__":
    unittest.main()
