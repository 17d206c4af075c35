"""Two louped nodes are one service: a browser session made on one node works on the other, a
presigned URL asked of both in the same signing window is byte-identical, and HAProxy spreads
requests over both."""
import struct
import unittest
import zlib

import cluster_lib as cl
from cluster_lib import lh

cl.require_cluster()


def tiny_png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x80\x40\x20" * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class SessionsAndUrlsTest(cl.ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.password = "a long enough password 1"
        self.boot = self.bootstrap(password=self.password)
        # A long credential cache: a sign-out must reach the other node by notification.
        self.start_cluster(bootstrap=False, settings={"auth_cache_ttl": "60s"})
        self.a, self.b = self.nodes

    def test_session_made_on_one_node_works_on_the_other(self):
        login = self.a.client()
        r = login.post("/api/v1/auth/login", json={"email": self.boot["email"], "password": self.password})
        self.assertEqual(r.status, 200, r.text)
        csrf = r.json()["csrf_token"]
        cookie = "loupe_session=" + login.cookie("loupe_session")
        on_b = self.b.client(headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        r = on_b.get("/api/v1/me")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["user"]["email"], self.boot["email"])
        r = on_b.post("/api/v1/datasets", json={"name": "made on b", "slug": "made-on-b"})
        self.assertEqual(r.status, 201, r.text)
        on_a = self.a.client(headers={"Cookie": cookie})
        self.assertEqual(on_a.get("/api/v1/me").status, 200)  # now in A's credential cache
        # Signed out on B: A refuses the cookie too, long before its cache entry would expire.
        self.assertIn(on_b.post("/api/v1/auth/logout").status, (200, 204))
        lh.wait_until(lambda: on_a.get("/api/v1/me").status == 401, timeout=20, interval=0.1,
                      message="node A to refuse the session signed out on node B")

    def test_presigned_url_is_the_same_on_both_nodes(self):
        ca = self.a.client(api_key=self.boot["api_key"])
        cb = self.b.client(api_key=self.boot["api_key"])
        ds = ca.post("/api/v1/datasets", json={"name": "urls", "slug": "urls"}).json()["id"]
        r = ca.post("/api/v1/datasets/%s/items" % ds, json={"name": "one.png", "slots": [{"name": "0", "type": "image"}]})
        self.assertEqual(r.status, 201, r.text)
        item = r.json()["id"]
        data = tiny_png()
        r = ca.put("/api/v1/items/%s/slots/0/file" % item, data=data, headers={"Content-Type": "image/png"})
        self.assertEqual(r.status, 202, r.text)
        path = "/api/v1/items/%s/slots/0/original" % item
        for _ in range(3):  # a signing window may end between the two requests: ask again
            first, on_b, again = (c.get(path) for c in (ca, cb, ca))
            for r in (first, on_b, again):
                self.assertEqual(r.status, 302, r.text)
            if first.header("Location") == again.header("Location"):
                break
        self.assertEqual(on_b.header("Location"), first.header("Location"))
        self.assertTrue(first.header("Location").startswith(self.s3.endpoint + "/loupe/"), first.header("Location"))
        got = lh.HttpClient(self.s3.endpoint, openapi_check=False).get(first.header("Location"))
        self.assertEqual(got.status, 200)
        self.assertEqual(got.body, data)

    def test_haproxy_spreads_requests_over_both_nodes(self):
        c = self.lb.client(api_key=self.boot["api_key"])
        for _ in range(20):
            self.assertEqual(c.get("/api/v1/me").status, 200)
        for d in self.nodes:
            served = d.log().count('"path":"/api/v1/me"')
            self.assertGreaterEqual(served, 5, "node on port %d answered %d of 20" % (d.port, served))


if __name__ == "__main__":
    unittest.main()
