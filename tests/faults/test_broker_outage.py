"""RabbitMQ stopped for 10 s and started again under load: jobs keep being accepted (their outbox
rows wait in PostgreSQL), /readyz answers 503 while the broker is away, and once it is back the
same louped and workers — none restarted — publish and run every job exactly once."""
# ctest-timeout: 300

import time
import unittest

import loupe_harness as lh
import load_testlib as lt

lh.require_services(binaries=("louped", "loupe-worker"))

OUTAGE_S = 10.0


class BrokerOutageTest(lh.LoupeTestCase):
    def test_broker_restart_under_load(self):
        priv = self.private_services()
        settings = {"worker_queues": "system", "amqp_prefetch": "4"}
        self.start_team(settings)
        workers = self.start_workers(2, settings)

        def job(c, n):
            r = c.post("/api/v1/system/echo", json={"message": "job %d" % n})
            return "job", r, (r.json()["id"] if r.status == 202 else None)

        load = lt.Load(self.d.url, self.boot["api_key"], job, threads=2, pause=0.1).start()
        time.sleep(2.0)
        priv.amqp_stop()
        t_down = time.monotonic()
        ready = lh.HttpClient(self.d.url, openapi_check=False)
        readyz = []
        while time.monotonic() - t_down < OUTAGE_S:
            readyz.append(ready.get("/readyz").status)
            time.sleep(0.5)
        t_start = time.monotonic()
        priv.amqp_start()
        t_back = time.monotonic()
        lh.wait_until(lambda: ready.get("/readyz").status == 200, timeout=60, message="/readyz to say 200 again")
        t_ready = time.monotonic()
        time.sleep(2.0)
        records = load.stop()

        accepted = {r.key for r in records if r.ok()}
        during = {r.key for r in records if r.ok() and t_down < r.started < t_back}

        def unfinished():
            rows = self.query("SELECT count(*) FROM jobs WHERE status NOT IN ('succeeded', 'failed')")
            return int(rows[0][0]) == 0
        lh.wait_until(unfinished, timeout=120, interval=0.5, message="every job to finish")
        t_drained = time.monotonic()
        done = {row[0]: row[1] for row in self.query("SELECT id, status FROM jobs WHERE kind = 'system.echo'")}
        succeeded = {j for j, s in done.items() if s == "succeeded"}
        twice = self.query("SELECT job_id FROM job_events WHERE event = 'succeeded' GROUP BY job_id HAVING count(*) > 1")
        unpublished = self.query("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]
        lost = accepted - succeeded
        print("broker stopped for %.1f s, then %.1f s to boot (away %.1f s in all): %d jobs accepted (%d while the broker was down), statuses %s; /readyz "
              "during the outage %s; ready %.2f s after the broker's return, backlog run %.2f s after; "
              "%d lost, %d run twice, %d outbox rows unpublished; louped and %d workers never restarted"
              % (t_start - t_down, t_back - t_start, t_back - t_down, len(accepted), len(during), lt.count_by_status(records),
                 sorted(set(readyz)), t_ready - t_back, t_drained - t_back, len(lost), len(twice), int(unpublished),
                 len(workers)))

        self.assertEqual([r for r in records if not r.ok()][:5], [])
        self.assertGreater(len(during), 0, "no job was created during the outage: the test proves nothing")
        self.assertEqual(set(readyz[2:]), {503}, readyz)   # (the first probe may precede its notice)
        self.assertEqual(lost, set())
        self.assertEqual(twice, [])
        self.assertEqual(unpublished, "0")
        self.assertTrue(self.d.alive() and all(w.alive() for w in workers))


if __name__ == "__main__":
    unittest.main()
