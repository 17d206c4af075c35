"""Database start-up: migrations applied once however many nodes start together, `louped migrate`
as a no-op on an up-to-date schema, and the connection pool recovering from a PostgreSQL restart."""

import glob
import os
import unittest

import loupe_harness as lh

lh.require_services()


def migration_versions():
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(lh.SOURCE_DIR, "migrations", "*.sql")))
    return sorted(int(n.split("_", 1)[0]) for n in names)


class MigrationTest(lh.LoupeTestCase):
    def applied(self):
        return [(int(v), name, at) for v, name, at in
                self.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")]

    def test_two_daemons_on_an_empty_database(self):
        # Both start at once against the same empty database; both must come up.
        daemons = [self.start_louped(wait=False) for _ in range(2)]
        lh.wait_all_healthy(daemons, 60)
        self.assertEqual([v for v, _, _ in self.applied()], migration_versions())
        for d in daemons:
            self.assertEqual(d.client().get("/healthz").status, 200)
            self.assertTrue(d.alive())

    def test_migrate_twice_is_a_no_op(self):
        first = self.run_louped("migrate")
        before = self.applied()
        self.assertEqual([v for v, _, _ in before], migration_versions())
        self.assertIn("identity", [name for _, name, _ in before])
        second = self.run_louped("migrate")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertEqual(self.applied(), before)  # same rows, same applied_at
        self.assertIn("applied migration", first.stderr)
        self.assertNotIn("applied migration", second.stderr)

    def test_pool_recovers_after_postgres_restart(self):
        priv = self.private_services()
        boot = self.bootstrap(team="Restart", email="r@example.com")
        d = self.start_louped({"db_acquire_timeout": "1s"})
        c = d.client(api_key=boot["api_key"])
        self.assertEqual(c.get("/api/v1/me").status, 200)

        priv.pg_stop()
        r = c.get("/api/v1/me")
        self.assertEqual(r.status, 503, r.text)  # database down: unavailable, not a crash
        self.assertEqual(r.content_type, "application/problem+json")
        priv.pg_start()

        def ok():
            return c.get("/api/v1/me").status == 200
        lh.wait_until(ok, timeout=20, message="/api/v1/me to answer 200 after PostgreSQL restarted")
        self.assertTrue(d.alive())
        # every pooled connection is usable again, not just one
        for _ in range(10):
            self.assertEqual(c.get("/api/v1/me").status, 200)


if __name__ == "__main__":
    unittest.main()
