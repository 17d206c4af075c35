"""Smoke test: louped starts against fresh PostgreSQL and RabbitMQ, answers its health
endpoints, reports unknown routes as problem+json, and exits 0 on SIGTERM."""

import unittest

import loupe_harness as lh

lh.require_services()


class SmokeTest(lh.LoupeTestCase):
    def test_health_ready_and_not_found(self):
        d = self.start_louped()
        c = d.client()

        r = c.get("/healthz")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.content_type, "application/json")
        self.assertEqual(r.json().get("status"), "ok")

        # /readyz needs both the database and the broker; give the connections a moment.
        def ready():
            r = c.get("/readyz")
            return r if r.status == 200 else None
        lh.wait_until(ready, timeout=15, message="/readyz to answer 200")

        r = c.get("/nope")
        self.assertEqual(r.status, 404, r.text)
        self.assertEqual(r.content_type, "application/problem+json", r.headers)
        self.assertEqual(r.json().get("status"), 404)

        self.assertEqual(d.stop(), 0, "louped should exit 0 on SIGTERM")


if __name__ == "__main__":
    unittest.main()
