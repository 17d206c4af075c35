"""Jobs end to end: louped writes a job and its outbox row, the relay publishes it with
confirms, loupe-worker runs it and commits the result before acking. Covers success, retries
through the backoff queues, dead-lettering, a worker killed mid-job (redelivered, completed
exactly once), a broker outage (nothing lost), graceful worker shutdown, the worker fleet
endpoint, team scoping and permissions."""
# ctest-timeout: 900

import os
import signal
import time
import unittest

import loupe_harness as lh

lh.require_services(binaries=("louped", "loupe-worker"))

JOB_KEYS = {"id", "kind", "queue", "status", "progress", "attempts", "max_attempts", "error", "result",
            "created_at", "started_at", "finished_at", "updated_at", "eta"}


class JobsTestCase(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.boot = self.bootstrap()

    def start(self, workers=1, settings=None):
        self.d = self.start_louped(settings)
        self.c = self.d.client(api_key=self.boot["api_key"])
        self.workers = self.start_workers(workers, settings)
        return self.c

    def create_echo(self, body, client=None, status=202):
        r = (client or self.c).post("/api/v1/system/echo", json=body)
        self.assertEqual(r.status, status, r.text)
        return r

    def wait_status(self, job_id, statuses, timeout=30.0, client=None):
        c = client or self.c

        def done():
            r = c.get("/api/v1/jobs/" + job_id)
            self.assertEqual(r.status, 200, r.text)
            j = r.json()
            return j if j["status"] in statuses else None
        return lh.wait_until(done, timeout=timeout, interval=0.1, message="job %s to be %s" % (job_id, statuses))

    def events(self, job_id):
        return [row[0] for row in self.query(
            "SELECT event FROM job_events WHERE job_id = '%s' ORDER BY id" % job_id)]


class EchoTest(JobsTestCase):
    def test_echo_job_runs_and_succeeds(self):
        self.start()
        r = self.create_echo({"message": "hello, loupe", "sleep_ms": 300})
        job = r.json()
        self.assertEqual(set(job), JOB_KEYS)
        self.assertEqual(r.header("Location"), "/api/v1/jobs/" + job["id"])
        self.assertEqual(job["kind"], "system.echo")
        self.assertEqual(job["queue"], "system")
        self.assertEqual(job["status"], "queued")
        self.assertEqual(job["attempts"], 0)
        self.assertEqual(job["max_attempts"], 5)  # job_max_attempts default

        done = self.wait_status(job["id"], {"succeeded", "failed"})
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual(done["result"], {"message": "hello, loupe", "attempt": 1})
        self.assertEqual(done["attempts"], 1)
        self.assertEqual(done["progress"], 1)
        self.assertIsNone(done["error"])
        self.assertIsNotNone(done["started_at"])
        self.assertIsNotNone(done["finished_at"])
        self.assertEqual(self.events(job["id"]), ["started", "succeeded"])

        # The outbox row was stamped published; the relay counts it.
        self.assertEqual(self.query("SELECT count(*) FROM outbox WHERE published_at IS NULL"), [["0"]])
        metrics = self.d.client().get("/metrics", headers=lh.metrics_headers()).text
        self.assertIn("loupe_outbox_published_total 1", metrics)
        self.assertIn("loupe_broker_up 1", metrics)

    def test_retries_then_succeeds(self):
        self.start()
        job = self.create_echo({"message": "third time lucky", "fail_times": 2}).json()
        # Backoff tiers 1 s then 5 s.
        done = self.wait_status(job["id"], {"succeeded", "failed"}, timeout=40)
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual(done["attempts"], 3)
        self.assertEqual(done["result"], {"message": "third time lucky", "attempt": 3})
        self.assertEqual(self.events(job["id"]),
                         ["started", "retry", "started", "retry", "started", "succeeded"])
        rows = self.query("SELECT attempt, detail->>'delay_ms' FROM job_events WHERE job_id = '%s' "
                          "AND event = 'retry' ORDER BY id" % job["id"])
        self.assertEqual(rows, [["1", "1000"], ["2", "5000"]])

    def test_failing_job_is_dead_lettered_with_its_reason(self):
        self.start()
        job = self.create_echo({"message": "doomed", "fail_times": 100, "max_attempts": 2}).json()
        self.assertEqual(job["max_attempts"], 2)
        done = self.wait_status(job["id"], {"succeeded", "failed"}, timeout=30)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["attempts"], 2)
        self.assertIn("on purpose", done["error"])
        self.assertIsNone(done["result"])
        self.assertEqual(self.events(job["id"]), ["started", "retry", "started", "dead"])

        def dead_letter():
            q = self.services.queues(self.sandbox.name).get("loupe.system.dead")
            return q if q and q["messages"] == 1 else None
        lh.wait_until(dead_letter, timeout=10, message="the dead letter in loupe.system.dead")

    def test_unreadable_message_is_dead_lettered(self):
        self.start()
        # A message no job stands behind, straight through the outbox.
        self.query("INSERT INTO outbox (exchange, routing_key, body) VALUES "
                   "('loupe.jobs', 'system', '{\"v\": 9}') RETURNING id")

        def dead_letter():
            q = self.services.queues(self.sandbox.name).get("loupe.system.dead")
            return q if q and q["messages"] == 1 else None
        lh.wait_until(dead_letter, timeout=15, message="the unreadable message in loupe.system.dead")
        self.assertTrue(any("unreadable job message" in line.get("msg", "")
                            for line in self.workers[0].log_lines_json()))
        self.assertTrue(self.workers[0].alive())


class ValidationTest(JobsTestCase):
    def test_bad_payloads_name_the_field(self):
        self.start(workers=0)
        self.assertProblem(self.c.post("/api/v1/system/echo", json={}), 422, field="message")
        self.assertProblem(self.c.post("/api/v1/system/echo", json={"message": "x", "sleep_ms": 60001}),
                           422, field="sleep_ms")
        self.assertProblem(self.c.post("/api/v1/system/echo", json={"message": "x", "fail_times": "2"}),
                           422, field="fail_times")
        self.assertProblem(self.c.post("/api/v1/system/echo", json={"message": "x", "max_attempts": 0}),
                           422, field="max_attempts")
        self.assertProblem(self.c.post("/api/v1/system/echo", json={"message": "x", "colour": "red"}),
                           422, field="colour")
        self.assertEqual(self.query("SELECT count(*) FROM jobs"), [["0"]])
        self.assertEqual(self.query("SELECT count(*) FROM outbox"), [["0"]])

    def test_viewer_cannot_create_and_teams_are_separate(self):
        self.start(workers=0)
        job = self.create_echo({"message": "mine"}).json()

        r = self.c.post("/api/v1/api-keys", json={"name": "read only", "role": "viewer"})
        self.assertEqual(r.status, 201, r.text)
        viewer = self.d.client(api_key=r.json()["key"])
        self.assertProblem(viewer.post("/api/v1/system/echo", json={"message": "no"}), 403)
        self.assertEqual(viewer.get("/api/v1/jobs/" + job["id"]).status, 200)

        other = self.bootstrap(team="other-team", email="other@example.com")
        stranger = self.d.client(api_key=other["api_key"])
        self.assertProblem(stranger.get("/api/v1/jobs/" + job["id"]), 404)
        self.assertProblem(self.c.get("/api/v1/jobs/not-a-uuid"), 404)
        self.assertProblem(self.c.get("/api/v1/jobs/00000000-0000-4000-8000-000000000000"), 404)
        self.assertProblem(self.d.client().get("/api/v1/jobs/" + job["id"]), 401)


class WorkersTest(JobsTestCase):
    def test_workers_listed_with_their_machine(self):
        self.start(workers=1, settings={"worker_heartbeat": "200ms"})
        w = self.workers[0]

        def listed():
            ws = self.c.get("/api/v1/workers").json()["workers"]
            return ws if ws else None
        ws = lh.wait_until(listed, timeout=15, message="the worker in /api/v1/workers")
        self.assertEqual(len(ws), 1, ws)
        me = ws[0]
        self.assertEqual(me["pid"], w.pid)
        self.assertEqual(me["queues"], ["system", "media", "webhooks", "export", "cpu"])  # the default worker_queues
        self.assertEqual(me["cpus"], os.cpu_count())
        self.assertGreater(me["memory_bytes"], 1 << 20)
        self.assertIsInstance(me["gpus"], list)
        self.assertTrue(me["alive"])
        self.assertTrue(me["id"].startswith(me["host"] + ":%d:" % w.pid))

        self.assertEqual(w.stop(), 0, "loupe-worker should exit 0 on SIGTERM")
        self.assertEqual(self.c.get("/api/v1/workers").json()["workers"], [])

    def test_sigterm_finishes_the_job_in_hand(self):
        self.start()
        job = self.create_echo({"message": "finish me", "sleep_ms": 2000}).json()
        self.wait_status(job["id"], {"running"})
        self.workers[0].signal(signal.SIGTERM)
        self.assertEqual(self.workers[0].wait(timeout=20), 0)
        done = self.wait_status(job["id"], {"succeeded", "failed"}, timeout=5)
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual(done["attempts"], 1)

    def test_killed_worker_job_completes_exactly_once(self):
        self.start(workers=2, settings={"worker_heartbeat": "200ms"})
        job = self.create_echo({"message": "survivor", "sleep_ms": 3000}).json()
        self.wait_status(job["id"], {"running"})

        def holder():
            for w in self.c.get("/api/v1/workers").json()["workers"]:
                if w["current_job_id"] == job["id"]:
                    return w["pid"]
            return None
        pid = lh.wait_until(holder, timeout=10, message="a worker to report the job")
        victim = next(w for w in self.workers if w.pid == pid)
        victim.kill()

        done = self.wait_status(job["id"], {"succeeded", "failed"}, timeout=30)
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual(done["attempts"], 2)
        self.assertEqual(done["result"], {"message": "survivor", "attempt": 2})
        self.assertEqual(self.events(job["id"]), ["started", "failed", "started", "succeeded"])
        # Nothing is left to run it a third time.
        time.sleep(1.5)
        self.assertEqual(self.events(job["id"]).count("succeeded"), 1)
        self.assertEqual(self.query("SELECT attempts FROM jobs WHERE id = '%s'" % job["id"]), [["2"]])


class BrokerOutageTest(JobsTestCase):
    def setUp(self):
        lh.LoupeTestCase.setUp(self)
        self.priv = self.private_services()
        self.boot = self.bootstrap()

    def test_job_created_while_broker_is_down_is_delivered_later(self):
        self.start()
        first = self.create_echo({"message": "before"}).json()
        self.assertEqual(self.wait_status(first["id"], {"succeeded"})["status"], "succeeded")

        self.priv.amqp_stop()
        lh.wait_until(lambda: self.c.get("/readyz").status == 503, timeout=15, message="/readyz to say 503")
        job = self.create_echo({"message": "during the outage"}).json()
        time.sleep(1.0)
        self.assertEqual(self.c.get("/api/v1/jobs/" + job["id"]).json()["status"], "queued")
        self.assertEqual(self.query("SELECT count(*) FROM outbox WHERE published_at IS NULL"), [["1"]])

        self.priv.amqp_start()
        done = self.wait_status(job["id"], {"succeeded", "failed"}, timeout=90)
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual(done["result"], {"message": "during the outage", "attempt": 1})
        self.assertEqual(self.events(job["id"]), ["started", "succeeded"])
        self.assertEqual(self.query("SELECT count(*) FROM outbox WHERE published_at IS NULL"), [["0"]])
        lh.wait_until(lambda: self.c.get("/readyz").status == 200, timeout=30, message="/readyz to recover")


if __name__ == "__main__":
    unittest.main()
