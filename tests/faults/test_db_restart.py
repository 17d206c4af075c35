"""PostgreSQL restarted under load: while the server is down every answer is 2xx or 503
problem+json with Retry-After (never a 500, never a dropped connection); louped serves again
within 5 s of the server's return without being restarted; every write that was acknowledged
(2xx) is found afterwards."""
# ctest-timeout: 300

import time
import unittest

import loupe_harness as lh
import load_testlib as lt

lh.require_services()

OUTAGE_S = 4.0
RECOVERY_LIMIT_S = 5.0


class DatabaseRestartTest(lh.LoupeTestCase):
    def test_restart_under_load(self):
        priv = self.private_services()
        self.start_team({"db_acquire_timeout": "1s"})
        r = self.c.post("/api/v1/datasets", json={"name": "restart"})
        self.assertEqual(r.status, 201, r.text)
        ds = r.json()["id"]

        def write(c, n):
            r = c.post("/api/v1/datasets/%s/items" % ds, json={"name": "w%06d.jpg" % n,
                                                              "slots": [{"name": "0", "type": "image"}]})
            return "write", r, (r.json()["id"] if r.status == 201 else None)

        def read(c, n):
            if n % 2:
                return "list", c.get("/api/v1/items", query={"dataset_id": ds, "page[size]": "20"}), None
            return "dataset", c.get("/api/v1/datasets/" + ds), None

        writers = lt.Load(self.d.url, self.boot["api_key"], write, threads=3).start()
        readers = lt.Load(self.d.url, self.boot["api_key"], read, threads=2).start()
        time.sleep(2.0)
        t_down = time.monotonic()
        priv.pg_stop()
        time.sleep(OUTAGE_S)
        priv.pg_start()
        t_back = time.monotonic()
        time.sleep(RECOVERY_LIMIT_S + 3.0)
        records = writers.stop() + readers.stop()

        bad = [r for r in records if not r.ok() and not (
            r.status == 503 and r.retry_after and r.content_type == "application/problem+json")]
        during = [r for r in records if r.ended > t_down]
        unavailable = [r for r in records if r.status == 503]
        failures_after = [r.ended - t_back for r in records if not r.ok() and r.ended > t_back]
        recovery = max(failures_after) if failures_after else 0.0
        acked = {r.key for r in records if r.op == "write" and r.ok()}
        stored = {row[0] for row in self.query("SELECT id FROM items WHERE dataset_id = '%s'" % ds)}
        lost = acked - stored
        print("postgresql restart: %d requests (%d after the stop): statuses %s; %d answered 503 with "
              "Retry-After; %d other failures; recovery %.2f s after the server's return (outage %.1f s); "
              "%d writes acknowledged, %d found, %d lost"
              % (len(records), len(during), lt.count_by_status(records), len(unavailable), len(bad), recovery,
                 t_back - t_down, len(acked), len(acked & stored), len(lost)))

        self.assertEqual(bad[:5], [], "only 2xx or 503 problem+json with Retry-After may answer")
        self.assertGreater(len(unavailable), 0, "the outage was not seen: the test proves nothing")
        self.assertLess(recovery, RECOVERY_LIMIT_S)
        self.assertEqual(lost, set())
        self.assertGreater(len([r for r in records if r.ok() and r.started > t_back]), 0)
        # louped itself never went away
        self.assertTrue(self.d.alive())
        self.assertEqual(self.c.get("/readyz").status, 200)


if __name__ == "__main__":
    unittest.main()
