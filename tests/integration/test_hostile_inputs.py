"""Hostile inputs as one table (hostile_lib.run_rows): every row is refused with its status and
writes nothing (row counts of every written table and the storage files, before and after).

- SSRF address forms on every route that takes a URL Loupe will fetch: webhook subscriptions
  (create and update) and the files an inbound integration pushes by URL — decimal, octal and hex
  IPv4, short forms, IPv6 loopback, IPv4-mapped and NAT64 IPv6, unspecified, link-local, cloud
  metadata, private, CGNAT, credentials, schemes other than http(s). (Host names are resolved at
  fetch time, each address checked and the connection pinned to it, redirects checked hop by hop:
  test_webhooks.py and test_integrations.py show a name resolving to loopback and a redirect to
  loopback refused at delivery.)
- JSON that is not JSON: NaN, Infinity, invalid and overlong UTF-8, UTF-8-encoded and escaped
  lone surrogates, NUL, nesting past the parser's depth, numbers past the integer range;
  strings past string_max_length; numbers out of each field's range.
- Header and path injection: control characters (CR, LF, NUL) and "/" or ".." in names, "../"
  and NUL in request paths, CR/LF in an X-Request-Id and an Idempotency-Key.
Archives (zip-slip, symlinks, bombs, nesting) and XML (billion laughs, XXE; VOC and CVAT) on the
import routes are rows of test_imports.py's RefusalsTest (the import job fails, nothing written);
truncated, mislabelled, bomb and polyglot media are rows of test_media_bad_input.py."""

import json
import unittest
import uuid

import hostile_lib as hl
import loupe_harness as lh
from hostile_lib import Row
from test_integrations import signed  # Standard Webhooks headers, signed with Python's hmac

lh.require_services()

SSRF_URLS = [
    ("decimal IPv4", "http://2130706433/x"),
    ("hex IPv4", "http://0x7f000001/x"),
    ("octal IPv4", "http://017700000001/x"),
    ("octal dotted IPv4", "http://0177.0.0.1/x"),
    ("short IPv4", "http://127.1/x"),
    ("IPv6 loopback", "http://[::1]:8080/x"),
    ("IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]/x"),
    ("IPv4-mapped IPv6, hex", "http://[::ffff:7f00:1]/x"),
    ("NAT64 of loopback", "http://[64:ff9b::7f00:1]/x"),
    ("unspecified", "http://0.0.0.0/x"),
    ("unspecified, short", "http://0/x"),
    ("IPv6 unspecified", "http://[::]/x"),
    ("cloud metadata", "http://169.254.169.254/latest/meta-data/"),
    ("link-local IPv6", "http://[fe80::1]/x"),
    ("private", "http://10.1.2.3/x"),
    ("CGNAT", "http://100.64.0.1/x"),
    ("credentials", "https://user:secret@example.com/x"),
    ("file scheme", "file:///etc/passwd"),
    ("gopher scheme", "gopher://example.com/x"),
    ("not a URL", "//example.com/x"),
]


class HostileInputsTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team({"webhook_allow_http": "true", "net_allow": ""})
        self.ds = self.c.post("/api/v1/datasets", json={"name": "Hostile"}).json()
        r = self.c.post("/api/v1/datasets/%s/items" % self.ds["id"],
                        json={"name": "a.jpg", "slots": [{"name": "0", "type": "image"}]})
        self.assertEqual(r.status, 201, r.text)
        self.item = r.json()
        r = self.c.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/loupe", "events": ["item.*"]})
        self.assertEqual(r.status, 201, r.text)
        self.hook = r.json()
        r = self.c.post("/api/v1/integrations", json={"name": "vendor"})
        self.assertEqual(r.status, 201, r.text)
        self.integ = r.json()

    def test_ssrf_forms_on_every_url_route(self):
        rows = []
        for label, url in SSRF_URLS:
            rows.append(Row("webhooks create, " + label, "POST", "/api/v1/webhooks",
                            json={"url": url, "events": ["item.*"]}, status=422, field="url"))
            rows.append(Row("webhooks update, " + label, "PATCH", "/api/v1/webhooks/" + self.hook["id"],
                            json={"url": url}, status=422, field="url"))
        n = hl.run_rows(self, self.c, rows)
        # the inbound integration's push: signed, so each row is sent with its own signature
        anon = self.d.client()
        for label, url in SSRF_URLS:
            body = json.dumps({"type": "items.register", "data": {"dataset_id": self.ds["id"], "items": [
                {"name": "pushed.png", "slots": [{"name": "0", "type": "image", "url": url}]}]}}).encode()
            n += hl.run_rows(self, anon, [Row("integration push, " + label, "POST", "/api/v1/hooks/" + self.integ["id"],
                                              data=body, headers=signed(self.integ["secret"], body), status=422,
                                              field="data.items[0].slots[0].url")])
        self.assertEqual(n, 3 * len(SSRF_URLS))
        # the subscription kept its URL
        self.assertEqual(self.c.get("/api/v1/webhooks/" + self.hook["id"]).json()["url"], self.hook["url"])

    def test_json_that_is_not_json(self):
        items = "/api/v1/datasets/%s/items" % self.ds["id"]
        rows = [
            Row("NaN", "POST", "/api/v1/datasets", data=b'{"name": NaN}'),
            Row("Infinity", "POST", "/api/v1/datasets", data=b'{"name": "n", "x": Infinity}'),
            Row("-Infinity priority", "POST", items, data=b'{"name": "b.jpg", "priority": -Infinity}'),
            Row("invalid UTF-8", "POST", "/api/v1/datasets", data=b'{"name": "caf\xe9"}'),
            Row("overlong UTF-8 slash", "POST", "/api/v1/datasets", data=b'{"name": "a\xc0\xafb"}'),
            Row("UTF-8-encoded surrogate", "POST", "/api/v1/datasets", data=b'{"name": "\xed\xa0\x80"}'),
            Row("five-byte UTF-8", "POST", "/api/v1/datasets", data=b'{"name": "\xf8\x88\x80\x80\x80"}'),
            Row("escaped lone surrogate", "POST", "/api/v1/datasets", data=b'{"name": "\\ud800"}'),
            Row("escaped NUL", "POST", "/api/v1/datasets", data=b'{"name": "a\\u0000b"}'),
            Row("raw NUL", "POST", "/api/v1/datasets", data=b'{"name": "a\x00b"}'),
            Row("nesting past the depth limit", "POST", "/api/v1/datasets", data=b"[" * 100000),
            Row("integer past 64 bits", "POST", items, data=b'{"name": "b.jpg", "priority": 92233720368547758070}'),
            Row("real past double", "POST", items, data=b'{"name": "b.jpg", "priority": 1e999}'),
            Row("trailing garbage", "POST", "/api/v1/datasets", data=b'{"name": "n"} {"name": "m"}'),
            Row("UTF-16 body", "POST", "/api/v1/datasets", data='{"name": "n"}'.encode("utf-16")),
            Row("string past string_max_length", "POST", "/api/v1/datasets", json={"name": "n" * 5000},
                status=422, field="name"),
            Row("priority below range", "POST", items, json={"name": "b.jpg", "priority": -2 ** 63},
                status=422, field="priority"),
            Row("width out of range", "POST", items,
                json={"name": "b.jpg", "slots": [{"name": "0", "type": "image", "width": -5}]},
                status=422, field="slots[0].width"),
            Row("frame count past any video", "POST", items,
                json={"name": "b.jpg", "slots": [{"name": "0", "type": "video", "frame_count": 2 ** 62}]},
                status=422, field="slots[0].frame_count"),
            Row("fps as a string", "POST", items,
                json={"name": "b.jpg", "slots": [{"name": "0", "type": "video", "fps": "NaN"}]},
                status=422, field="slots[0].fps"),
            Row("box of infinite size", "POST", "/api/v1/items/%s/annotations/batch" % self.item["id"],
                data=b'{"create": [{"class_id": "%s", "bounding_box": {"x": 0, "y": 0, "w": 1e999, "h": 1}}]}' %
                str(uuid.uuid4()).encode(), status=422, field="create[0].bounding_box.w"),
        ]
        hl.run_rows(self, self.c, rows)

    def test_header_and_path_injection(self):
        items = "/api/v1/datasets/%s/items" % self.ds["id"]
        auth = b"Authorization: ApiKey " + self.boot["api_key"].encode() + b"\r\n"
        rows = [
            Row("CR LF in a name", "POST", items, json={"name": "a.jpg\r\nSet-Cookie: s=1"}, status=422, field="name"),
            Row("NUL in a name", "POST", items, json={"name": "a\u0001.jpg"}, status=422, field="name"),
            Row("slash in a name", "POST", items, json={"name": "../../etc/passwd"}, status=422, field="name"),
            Row("dot-dot name", "POST", items, json={"name": ".."}, status=422, field="name"),
            Row("dot-dot in a path", "POST", items, json={"name": "b.jpg", "path": "/a/../../etc"}, status=422,
                field="path"),
            Row("CR LF in a dataset name", "POST", "/api/v1/datasets", json={"name": "x\r\nLocation: /evil"},
                status=422, field="name"),
            Row("dot-dot in the request path", "GET", "/api/v1/../../etc/passwd", status=404),
            Row("encoded dot-dot in a file key", "GET", "/files/..%2F..%2F..%2Fetc%2Fpasswd", status=403),
            Row("NUL in a path id", "GET", "/api/v1/items/%s%%00" % self.item["id"], status=404),
            # a bare CR inside a field value and a bare LF ending a line: whatever the HTTP library
            # makes of them, nothing is written and nothing comes back as a header of the answer
            Row("CR smuggled in a request id", "POST", "/api/v1/datasets",
                raw=b"POST /api/v1/datasets HTTP/1.1\r\nHost: x\r\n" + auth +
                    b"X-Request-Id: a\rSet-Cookie: s=1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
                status=422, field="name", absent=b"Set-Cookie"),
            Row("bare LF in an idempotency key", "POST", "/api/v1/datasets",
                raw=b"POST /api/v1/datasets HTTP/1.1\r\nHost: x\r\n" + auth +
                    b"Idempotency-Key: k\nX-Injected: 1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
                status=422, field="name", absent=b"X-Injected"),
        ]
        hl.run_rows(self, self.c, rows)
        # a request id with control characters is never echoed; one of safe characters is
        status, answer = hl.raw_status(self.d.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\x01b\r\n"
                                                    b"Connection: close\r\n\r\n")
        self.assertEqual(status, 200, answer[:300])
        self.assertNotIn(b"a\x01b", answer)


if __name__ == "__main__":
    unittest.main()
