"""louped serves the web app for its own paths: `/`, `/assets/{file}`, and every other GET path
that no route has (history-mode deep links such as /datasets/{id}), while API, file and health
paths keep their JSON 404 and 405 answers."""

import os
import unittest

import loupe_harness as lh

lh.require_services()

INDEX = "<!doctype html><title>Loupe test page</title><div id=app></div>"


class WebAppPathsTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        with open(os.path.join(self.sandbox.web_dir, "index.html"), "w") as f:
            f.write(INDEX)
        os.makedirs(os.path.join(self.sandbox.web_dir, "assets"))
        with open(os.path.join(self.sandbox.web_dir, "assets", "app-1a2b.js"), "w") as f:
            f.write("console.log(1)")
        self.start_team()
        self.anon = self.d.client()

    def assertIndex(self, r, path):
        self.assertEqual(r.status, 200, path)
        self.assertTrue(r.content_type.startswith("text/html"), path)
        self.assertEqual(r.text, INDEX, path)
        self.assertEqual(r.header("Cache-Control"), "no-cache", path)
        self.assertIn("default-src 'self'", r.header("Content-Security-Policy"), path)
        # watching a video plays Media Source Extensions' blob: URLs
        self.assertIn("media-src 'self' blob:", r.header("Content-Security-Policy"), path)

    def test_deep_links_answer_the_app(self):
        for path in ["/", "/datasets", "/datasets/6f1c7a7e-0000-4000-8000-000000000001", "/items/x/y/z",
                     "/settings/api-keys", "/no-such-page", "/apix", "/healthzz"]:
            self.assertIndex(self.anon.get(path), path)
        r = self.anon.get("/datasets", query={"status": "error", "page": "2"})
        self.assertIndex(r, "/datasets?status=error")
        r = self.anon.head("/datasets/abc")
        self.assertEqual(r.status, 200)

    def test_server_paths_stay_json(self):
        for path in ["/api/v1/no-such-route", "/api/nothing", "/api", "/assets/missing-1.js", "/assets/a/b",
                     "/healthz/x", "/metrics/x", "/files"]:
            r = self.anon.get(path)
            self.assertEqual(r.status, 404, path)
            self.assertTrue(r.content_type.startswith("application/problem+json"), path)
        r = self.c.get("/assets/app-1a2b.js")
        self.assertEqual(r.status, 200)
        self.assertIn("immutable", r.header("Cache-Control"))
        # a path that exists with another method keeps its 405
        r = self.c.get("/api/v1/auth/login")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "POST")
        # other methods on an app path: no route
        r = self.c.post("/datasets", json={})
        self.assertEqual(r.status, 404)
        self.assertEqual(self.c.get("/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
