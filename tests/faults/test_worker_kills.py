"""kill -9 of a worker mid-job, 100 times, over a stream of mixed jobs: media normalization of small
generated images and videos, bulk moves of tasks between workflow stages (tasks.bulk), exports,
and webhook deliveries to a receiver on loopback. Each killed worker is replaced at once. Then:
0 jobs lost (every job accepted succeeded; every delivery delivered) and 0 results recorded twice,
counted by the database (one success per job, one audit row per bulk move, one stored upload per
item, one delivery per event) and by the receiver (one delivery per webhook-id; a repeat of an id
after a kill mid-request is the at-least-once redelivery a receiver dedupes by that id); every
delivery the receiver accepted is verified by the npm package standardwebhooks."""
# ctest-timeout: 420
# ctest-fixtures: standardwebhooks

import collections
import os
import signal
import threading
import time
import unittest

import loupe_harness as lh
import media_testlib as mt
import webhook_receiver as wr

lh.require_services(binaries=("louped", "loupe-worker"))
mt.require_tools("ffmpeg", purpose="to make the test images and videos")

KILLS = 100
BACKLOG = 6          # jobs kept waiting, so that a worker is nearly always mid-job
TASK_ITEMS = 20

SETTINGS = {
    "net_allow": "127.0.0.2/32",
    "webhook_allow_http": "true",
    "webhook_retry_scale": "0.0002",
    "webhook_timeout": "5s",
    "worker_heartbeat": "100ms",
    "amqp_prefetch": "1",
}
KILLS_PER_JOB = 2    # spreads the kills over the stream (job_max_attempts, 5, is never used up)


class WorkerKillTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        wr.verifier()
        self.start_team(SETTINGS)
        self.rx = wr.Receiver()
        self.addCleanup(self.rx.close)
        # every delivery takes a moment, so that kills land mid-request too
        self.rx.plan(*[("sleep", 0.15, 200)] * 5000)
        r = self.c.post("/api/v1/webhooks", json={"url": self.rx.url, "events": ["item.created"]})
        self.assertEqual(r.status, 201, r.text)
        self.secret = r.json()["secret"]
        self.media_ds = self.dataset("media")
        self.line_ds = self.dataset("line")
        with open(mt.two_band_jpeg(os.path.join(self.sandbox.work_dir, "s.jpg"), 64, 48), "rb") as f:
            self.jpeg = f.read()
        video = os.path.join(self.sandbox.work_dir, "s.mp4")
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1", "-pix_fmt", "yuv420p", video)
        with open(video, "rb") as f:
            self.video = f.read()
        self.wf = self.workflow()

    def dataset(self, name):
        r = self.c.post("/api/v1/datasets", json={"name": name})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def workflow(self):
        """in → label → done over TASK_ITEMS items (registered in SQL: no webhook events), entered."""
        self.psql("INSERT INTO items (team_id, dataset_id, name) SELECT '%s', '%s', 't' || g || '.jpg' "
                  "FROM generate_series(1, %d) g" % (self.team, self.line_ds, TASK_ITEMS))
        self.psql("INSERT INTO slots (item_id, name, type, width, height, position) SELECT id, '0', 'image', 10, 10, 0 "
                  "FROM items WHERE dataset_id = '%s'" % self.line_ds)
        wf = lh.line_workflow(self.c, self.line_ds)
        r = self.c.post("/api/v1/workflows/%s/enter" % wf, json={"filters": {"dataset_id": self.line_ds}})
        self.assertEqual(r.status, 200, r.text)
        return wf

    # the stream of jobs

    def make_job(self, c, n):
        """Creates the n-th job of the stream; returns (kind, job id)."""
        kind = ("image", "video", "move", "export")[n % 4]
        if kind in ("image", "video"):
            r = c.post("/api/v1/datasets/%s/items" % self.media_ds,
                       json={"name": "%s-%d" % (kind, n), "slots": [{"name": "0", "type": kind}]})
            self.assertEqual(r.status, 201, r.text)
            r = c.put("/api/v1/items/%s/slots/0/file" % r.json()["id"], data=self.jpeg if kind == "image" else self.video,
                      headers={"Content-Type": "image/jpeg" if kind == "image" else "video/mp4"})
            self.assertEqual(r.status, 202, r.text)
            return kind, r.json()["job"]["id"]
        if kind == "move":
            src, dst = ("label", "done") if (n // 4) % 2 == 0 else ("done", "label")
            r = c.post("/api/v1/tasks/bulk", json={"filters": {"workflow_id": self.wf, "stage": src},
                                                   "action": "send_to_stage", "stage": dst, "mode": "job"})
            self.assertEqual(r.status, 202, r.text)
            return kind, r.json()["job"]["id"]
        r = c.post("/api/v1/exports", json={"format": "coco", "filters": {"dataset_id": self.media_ds}})
        self.assertEqual(r.status, 202, r.text)
        return kind, r.json()["job_id"]

    def outstanding(self):
        return int(self.query("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")[0][0])

    def stream(self, stop, made, errors):
        c = self.d.client(api_key=self.boot["api_key"])
        n = 0
        try:
            while not stop.is_set():
                if self.outstanding() < BACKLOG:
                    made.append(self.make_job(c, n))
                    n += 1
                else:
                    time.sleep(0.05)
        except Exception as e:  # reported by the test's thread
            errors.append(e)

    def busy_worker(self, alive, killed):
        """(pid, what) of a live worker of ours that is mid-job now — running a job killed fewer
        than KILLS_PER_JOB times, or (every fourth kill) sending a webhook delivery, which is no
        job row: the worker without a job while the receiver holds a request — or None."""
        rows = self.query("SELECT w.pid, j.id FROM workers w LEFT JOIN jobs j ON j.id = w.current_job_id "
                          "AND j.status = 'running'")
        rows = [(int(pid), job) for pid, job in rows if int(pid) in alive]
        if len(killed) % 4 == 3:
            idle = [pid for pid, job in rows if not job]
            if idle and len(self.rx.started) > len(self.rx.requests):
                return idle[0], "delivery"
            return None
        for pid, job in rows:
            if job and killed.count(job) < KILLS_PER_JOB:
                return pid, job
        return None

    def test_hundred_kills(self):
        workers = {w.pid: w for w in self.start_workers(2, SETTINGS)}
        stop, made, errors = threading.Event(), [], []
        gen = threading.Thread(target=self.stream, args=(stop, made, errors), daemon=True)
        gen.start()
        t0 = time.monotonic()
        killed = []
        try:
            while len(killed) < KILLS:
                self.assertEqual(errors, [])
                pid, job = lh.wait_until(lambda: self.busy_worker(workers, killed), timeout=30, interval=0.02,
                                         message="a worker busy with a job")
                victim = workers.pop(pid)
                victim.signal(signal.SIGKILL)
                victim.wait(timeout=10)
                killed.append(job)
                w = self.start_worker(SETTINGS)
                workers[w.pid] = w
        finally:
            stop.set()
            gen.join(timeout=60)
        self.assertEqual(errors, [])
        t_kills = time.monotonic() - t0

        lh.wait_until(lambda: self.outstanding() == 0, timeout=180, interval=0.5, message="every job to finish")
        jobs = [j for _, j in made]
        pending = "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
        lh.wait_until(lambda: self.query(pending) == [["0"]], timeout=120, interval=0.5,
                      message="every webhook delivery to be delivered")
        t_all = time.monotonic() - t0

        status = dict(self.query("SELECT id, status FROM jobs"))
        lost = [j for j in jobs if status.get(j) != "succeeded"]
        by_kind = collections.Counter(k for k, _ in made)
        succeeded_twice = self.query("SELECT job_id FROM job_events WHERE event = 'succeeded' "
                                     "GROUP BY job_id HAVING count(*) > 1")
        redelivered = int(self.query("SELECT count(*) FROM jobs WHERE attempts > 1")[0][0])
        audits = self.query("SELECT data->>'job_id', count(*) FROM audit_log WHERE action = 'tasks.bulk' "
                            "GROUP BY 1 HAVING count(*) > 1")
        uploads_twice = self.query("SELECT item_id FROM uploads WHERE state = 'stored' GROUP BY item_id "
                                   "HAVING count(*) > 1")
        not_ready = self.query("SELECT count(*) FROM items WHERE dataset_id = '%s' AND status <> 'ready'"
                               % self.media_ds)[0][0]
        exports_bad = self.query("SELECT count(*) FROM exports WHERE storage_key IS NULL")[0][0]
        deliveries = {row[0] for row in self.query("SELECT id FROM webhook_deliveries")}
        events = int(self.query("SELECT count(*) FROM events WHERE type = 'item.created'")[0][0])
        per_event = self.query("SELECT event_id FROM webhook_deliveries GROUP BY event_id HAVING count(*) > 1")
        got = collections.Counter(r["headers"].get("webhook-id") for r in self.rx.requests if r["answered"] == 200)
        repeats = sum(n - 1 for n in got.values())
        print("worker kills: %d kill -9 mid-job (%d while a webhook was being sent) in %.1f s (all settled after %.1f s); %d jobs made %s, "
              "%d retried after a kill; lost: %d; succeeded twice: %d; bulk-move audit rows twice: %d; "
              "uploads stored twice: %d; items not ready: %s; exports without a file: %s; "
              "webhooks: %d events, %d deliveries, %d distinct webhook-ids at the receiver "
              "(%d repeats of an id after a kill mid-request), deliveries per event > 1: %d"
              % (len(killed), killed.count("delivery"), t_kills, t_all, len(jobs), dict(by_kind), redelivered, len(lost),
                 len(succeeded_twice), len(audits), len(uploads_twice), not_ready, exports_bad, events,
                 len(deliveries), len(got), repeats, len(per_event)))

        self.assertEqual(len(killed), KILLS)
        self.assertGreater(redelivered, 0)
        self.assertGreater(repeats, 0, "no kill landed mid-delivery: the webhook case proves nothing")
        self.assertEqual(lost, [])
        self.assertEqual(succeeded_twice, [])
        self.assertEqual(audits, [])
        self.assertEqual(uploads_twice, [])
        self.assertEqual(not_ready, "0")
        self.assertEqual(exports_bad, "0")
        self.assertEqual(len(deliveries), events)
        self.assertEqual(per_event, [])
        self.assertEqual(set(got), deliveries)
        wr.verify(self, self.secret, [r for r in self.rx.requests if r["answered"] == 200])
        self.assertTrue(self.d.alive())


if __name__ == "__main__":
    unittest.main()
