"""Outbound webhooks end to end: subscriptions (CRUD, secret shown once, rotation), events recorded
with the changes they describe and fanned out through the outbox, delivery by loupe-worker to a
real receiver on loopback with every delivery verified by the npm package standardwebhooks, the
retry schedule (500 then 200, a slow receiver), 410, ordered deliveries, a worker killed
mid-delivery, a broker outage, the delivery log and its tools, the SSRF guard, and team scoping."""
# ctest-timeout: 900
# ctest-fixtures: standardwebhooks

import json
import socket
import time
import unittest

import loupe_harness as lh
import webhook_receiver as wr

lh.require_services(binaries=("louped", "loupe-worker"))

SETTINGS = {
    "net_allow": "127.0.0.2/32",
    "webhook_allow_http": "true",
    "webhook_retry_scale": "0.0002",   # 5 s → 1 ms, 5 min → 60 ms, 30 min → 360 ms …
    "webhook_timeout": "2s",
    "worker_queues": "webhooks,system,media",
    "amqp_prefetch": "4",
}


class WebhookCase(lh.LoupeTestCase):
    settings = {}

    def setUp(self):
        super().setUp()
        wr.verifier()
        s = dict(SETTINGS)
        s.update(self.settings)
        self.s = s
        self.start_team(s)
        self.workers = self.start_workers(1, s)
        self.rx = wr.Receiver()
        self.addCleanup(self.rx.close)

    def subscribe(self, events=("*",), url=None, client=None, **kw):
        body = {"url": url or self.rx.url, "events": list(events)}
        body.update(kw)
        r = (client or self.c).post("/api/v1/webhooks", json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def dataset(self):
        r = self.c.post("/api/v1/datasets", json={"name": "Hooks %f" % time.time()})
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def item(self, ds, name):
        r = self.c.post("/api/v1/datasets/%s/items" % ds["id"], json={"name": name, "slots": [{"name": "0", "type": "image"}]})
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def deliveries(self, hook, **query):
        r = self.c.get("/api/v1/webhooks/%s/deliveries" % hook["id"], query=query or None)
        self.assertEqual(r.status, 200, r.text)
        return r.json()["items"]

    def delivery(self, hook, delivery_id):
        r = self.c.get("/api/v1/webhooks/%s/deliveries/%s" % (hook["id"], delivery_id))
        self.assertEqual(r.status, 200, r.text)
        return r.json()

    def wait_delivery(self, hook, delivery_id, statuses=("delivered", "failed"), timeout=40):
        return lh.wait_until(lambda: (lambda d: d if d["status"] in statuses else None)(self.delivery(hook, delivery_id)),
                             timeout=timeout, message="delivery %s to be %s" % (delivery_id, statuses))

    def only_delivery(self, hook, timeout=20):
        return lh.wait_until(lambda: (lambda ds: ds[0] if len(ds) == 1 else None)(self.deliveries(hook)),
                             timeout=timeout, message="one delivery")


class SubscriptionTest(WebhookCase):
    def test_crud_and_secret_shown_once(self):
        hook = self.subscribe(["item.*", "annotation.created"], description="CI pipeline", ordered=True)
        self.assertTrue(hook["secret"].startswith("whsec_"))
        self.assertGreaterEqual(len(hook["secret"]), 6 + 32)
        self.assertEqual(hook["events"], ["item.*", "annotation.created"])
        self.assertTrue(hook["active"])
        self.assertTrue(hook["ordered"])
        got = self.c.get("/api/v1/webhooks/" + hook["id"]).json()
        self.assertNotIn("secret", got)
        self.assertEqual(got["description"], "CI pipeline")
        listed = self.c.get("/api/v1/webhooks").json()["items"]
        self.assertEqual([w["id"] for w in listed], [hook["id"]])
        self.assertNotIn("secret", listed[0])

        r = self.c.patch("/api/v1/webhooks/" + hook["id"], json={"events": ["task.*"], "active": False})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["events"], ["task.*"])
        self.assertFalse(r.json()["active"])

        rotated = self.c.post("/api/v1/webhooks/%s/rotate-secret" % hook["id"])
        self.assertEqual(rotated.status, 200, rotated.text)
        self.assertNotEqual(rotated.json()["secret"], hook["secret"])
        self.assertIsNotNone(rotated.json()["previous_secret_expires_at"])

        self.assertEqual(self.c.delete("/api/v1/webhooks/" + hook["id"]).status, 204)
        self.assertProblem(self.c.get("/api/v1/webhooks/" + hook["id"]), 404)
        self.assertProblem(self.c.delete("/api/v1/webhooks/" + hook["id"]), 404)
        self.assertProblem(self.c.get("/api/v1/webhooks/not-a-uuid"), 404)

    def test_bad_input_names_the_field(self):
        base = {"url": self.rx.url, "events": ["item.ready"]}
        for body, field in [
            ({"events": ["item.ready"]}, "url"),
            ({"url": self.rx.url}, "events"),
            (dict(base, events=[]), "events"),
            (dict(base, events=["item.ready", "item.crated"]), "events[1]"),
            (dict(base, events=["nothing.*"]), "events[0]"),
            (dict(base, events=[7]), "events[0]"),
            (dict(base, url="ftp://127.0.0.2/x"), "url"),
            (dict(base, url="not a url"), "url"),
            (dict(base, url="http://user:secret@127.0.0.2/x"), "url"),
            (dict(base, active="yes"), "active"),
            (dict(base, colour="red"), "colour"),
        ]:
            self.assertProblem(self.c.post("/api/v1/webhooks", json=body), 422, field)
        self.assertEqual(self.c.get("/api/v1/webhooks").json()["items"], [])

    def test_refused_address_literals_at_creation(self):
        for host, why in [("127.0.0.1", "loopback"), ("2130706433", "loopback"), ("0x7f000001", "loopback"),
                          ("017700000001", "loopback"), ("[::1]", "loopback"), ("[::ffff:127.0.0.1]", "loopback"),
                          ("10.0.0.8", "private"), ("192.168.1.1", "private"), ("169.254.169.254", "cloud metadata"),
                          ("100.64.0.1", "carrier-grade NAT"), ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"),
                          ("240.0.0.1", "reserved"), ("[fe80::1]", "link-local"), ("[fd00::1]", "private")]:
            body = self.assertProblem(self.c.post("/api/v1/webhooks", json={"url": "http://%s/x" % host,
                                                                            "events": ["*"]}), 422, "url")
            self.assertIn("is not allowed (%s)" % why, body["errors"][0]["message"], host)

    def test_https_only_unless_allowed(self):
        d = self.start_louped(dict(self.s, webhook_allow_http="false"))
        c = d.client(api_key=self.boot["api_key"])
        body = self.assertProblem(c.post("/api/v1/webhooks", json={"url": self.rx.url, "events": ["*"]}), 422, "url")
        self.assertIn("only https", body["errors"][0]["message"])

    def test_other_team_sees_nothing(self):
        hook = self.subscribe(["*"])
        self.c.post("/api/v1/webhooks/%s/test" % hook["id"])
        d = self.only_delivery(hook)
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="rival@example.com")["api_key"])
        self.assertEqual(rival.get("/api/v1/webhooks").json()["items"], [])
        for method, path in [("get", ""), ("patch", ""), ("delete", ""), ("post", "/rotate-secret"), ("post", "/test"),
                             ("get", "/deliveries"), ("get", "/deliveries/" + d["id"]),
                             ("post", "/deliveries/%s/redeliver" % d["id"])]:
            kw = {"json": {"active": False}} if method == "patch" else {}
            self.assertProblem(getattr(rival, method)("/api/v1/webhooks/" + hook["id"] + path, **kw), 404)
        self.assertTrue(self.c.get("/api/v1/webhooks/" + hook["id"]).json()["active"])


class DeliveryTest(WebhookCase):
    def test_item_events_are_delivered_signed(self):
        hook = self.subscribe(["item.*"])
        other = self.subscribe(["job.*"])  # matches nothing here
        ds = self.dataset()
        it = self.item(ds, "a.jpg")
        reqs = self.rx.wait_for(1)
        self.assertEqual(len(reqs), 1)
        r = reqs[0]
        body = self.rx.events()[0]
        self.assertEqual(set(body), {"type", "timestamp", "data"})
        self.assertEqual(body["type"], "item.created")
        self.assertEqual(body["data"]["item_id"], it["id"])
        self.assertEqual(body["data"]["dataset_id"], ds["id"])
        self.assertEqual(body["data"]["name"], "a.jpg")
        self.assertEqual(r["headers"]["content-type"], "application/json")
        self.assertTrue(r["headers"]["webhook-signature"].startswith("v1,"))
        self.assertLessEqual(abs(int(r["headers"]["webhook-timestamp"]) - time.time()), 60)
        wr.verify(self, hook["secret"], reqs)
        wr.verify_fails(self, other["secret"], reqs)

        d = self.only_delivery(hook)
        self.assertEqual(d["id"], r["headers"]["webhook-id"])
        d = self.wait_delivery(hook, d["id"])
        self.assertEqual(d["status"], "delivered")
        self.assertEqual(d["event_type"], "item.created")
        self.assertEqual(d["attempts"], 1)
        log = d["attempt_log"]
        self.assertEqual([a["response_code"] for a in log], [200])
        self.assertEqual(log[0]["response_body"], '{"ok": true}')
        self.assertIsNone(log[0]["error"])
        self.assertEqual(self.deliveries(other), [])
        # the event is in the one events table, written with the item
        self.assertEqual(self.query("SELECT type FROM events WHERE item_id = '%s' ORDER BY seq" % it["id"]),
                         [["item.created"]])

        # deleting the item records item.deleted
        self.assertEqual(self.c.delete("/api/v1/items/" + it["id"]).status, 204)
        self.rx.wait_for(2)
        self.assertEqual(self.rx.events()[1]["type"], "item.deleted")
        wr.verify(self, hook["secret"], self.rx.requests)

    def test_test_event_and_redeliver(self):
        hook = self.subscribe(["item.ready"])
        r = self.c.post("/api/v1/webhooks/%s/test" % hook["id"])
        self.assertEqual(r.status, 202, r.text)
        delivery_id = r.json()["delivery_id"]
        self.rx.wait_for(1)
        self.assertEqual(self.rx.events()[0]["type"], "webhook.test")
        self.assertEqual(self.rx.events()[0]["data"]["webhook_id"], hook["id"])
        self.wait_delivery(hook, delivery_id)
        r = self.c.post("/api/v1/webhooks/%s/deliveries/%s/redeliver" % (hook["id"], delivery_id))
        self.assertEqual(r.status, 202, r.text)
        self.rx.wait_for(2)
        ids = [q["headers"]["webhook-id"] for q in self.rx.requests]
        self.assertEqual(ids, [delivery_id, delivery_id])
        d = lh.wait_until(lambda: (lambda d: d if d["attempts"] == 2 and d["status"] == "delivered" else None)(
            self.delivery(hook, delivery_id)), timeout=20, message="the redelivery to be logged")
        self.assertEqual(len(d["attempt_log"]), 2)
        wr.verify(self, hook["secret"], self.rx.requests)
        # a disabled subscription takes no test and no redelivery
        self.c.patch("/api/v1/webhooks/" + hook["id"], json={"active": False})
        self.assertProblem(self.c.post("/api/v1/webhooks/%s/test" % hook["id"]), 409)
        self.assertProblem(self.c.post("/api/v1/webhooks/%s/deliveries/%s/redeliver" % (hook["id"], delivery_id)), 409)

    def test_redelivery_follows_the_subscriptions_order_as_it_is_now(self):
        # delivered while ordered, redelivered after ordered was turned off and after it was turned on again
        hook = self.subscribe(["item.ready"], ordered=True)
        delivery_id = self.c.post("/api/v1/webhooks/%s/test" % hook["id"]).json()["delivery_id"]
        self.wait_delivery(hook, delivery_id, ("delivered",))
        for n, ordered in [(2, False), (3, True)]:
            r = self.c.patch("/api/v1/webhooks/" + hook["id"], json={"ordered": ordered})
            self.assertEqual(r.status, 200, r.text)
            r = self.c.post("/api/v1/webhooks/%s/deliveries/%s/redeliver" % (hook["id"], delivery_id))
            self.assertEqual(r.status, 202, r.text)
            lh.wait_until(lambda: (lambda d: d if d["attempts"] == n and d["status"] == "delivered" else None)(
                self.delivery(hook, delivery_id)), timeout=20, message="redelivery %d to be delivered" % n)
        self.assertEqual([q["headers"]["webhook-id"] for q in self.rx.requests], [delivery_id] * 3)
        wr.verify(self, hook["secret"], self.rx.requests)

    def test_500_then_200_delivers_on_the_second_attempt(self):
        hook = self.subscribe(["*"])
        self.rx.plan(500, 200)
        delivery_id = self.c.post("/api/v1/webhooks/%s/test" % hook["id"]).json()["delivery_id"]
        d = self.wait_delivery(hook, delivery_id, ("delivered",))
        self.assertEqual(d["attempts"], 2)
        self.assertEqual([a["response_code"] for a in d["attempt_log"]], [500, 200])
        self.assertEqual(d["attempt_log"][0]["error"], "the receiver answered 500")
        self.assertEqual(d["attempt_log"][0]["response_body"], "receiver says no")
        self.assertEqual([q["headers"]["webhook-id"] for q in self.rx.requests], [delivery_id] * 2)
        wr.verify(self, hook["secret"], self.rx.requests)

    def test_slow_receiver_times_out_and_is_retried(self):
        hook = self.subscribe(["*"])
        self.rx.plan(("sleep", 3.5, 200), 200)
        delivery_id = self.c.post("/api/v1/webhooks/%s/test" % hook["id"]).json()["delivery_id"]
        d = self.wait_delivery(hook, delivery_id, ("delivered",), timeout=60)
        self.assertEqual(d["attempts"], 2)
        self.assertIsNone(d["attempt_log"][0]["response_code"])
        self.assertIn("no complete answer within 2000 ms", d["attempt_log"][0]["error"])
        self.assertEqual(d["attempt_log"][1]["response_code"], 200)
        wr.verify(self, hook["secret"], list(self.rx.requests))

    def test_410_disables_the_subscription(self):
        hook = self.subscribe(["*"])
        self.rx.plan(410)
        delivery_id = self.c.post("/api/v1/webhooks/%s/test" % hook["id"]).json()["delivery_id"]
        d = self.wait_delivery(hook, delivery_id)
        self.assertEqual(d["status"], "failed")
        self.assertEqual(d["attempts"], 1)
        got = self.c.get("/api/v1/webhooks/" + hook["id"]).json()
        self.assertFalse(got["active"])
        self.assertIn("410", got["disabled_reason"])
        wr.verify(self, hook["secret"], self.rx.requests)
        # nothing more goes to it
        self.item(self.dataset(), "after.jpg")
        time.sleep(1.5)
        self.assertEqual(len(self.rx.requests), 1)
        # activating it again clears the reason
        got = self.c.patch("/api/v1/webhooks/" + hook["id"], json={"active": True}).json()
        self.assertTrue(got["active"])
        self.assertIsNone(got["disabled_reason"])

    def test_last_attempt_marks_the_delivery_failed(self):
        hook = self.subscribe(["*"])
        self.rx.plan(*([503] * 10))
        # the whole schedule, compressed: about 3 days × 0.0002 ≈ 52 s of waits, plus parking
        delivery_id = self.c.post("/api/v1/webhooks/%s/test" % hook["id"]).json()["delivery_id"]
        d = self.wait_delivery(hook, delivery_id, ("failed",), timeout=240)
        self.assertEqual(d["attempts"], 10)
        self.assertEqual([a["response_code"] for a in d["attempt_log"]], [503] * 10)
        self.assertIsNone(d["next_attempt_at"])
        wr.verify(self, hook["secret"], self.rx.requests[-1:])

    def test_one_wake_up_per_transaction(self):
        # 30 events of two statements in one transaction: 30 deliveries, one broker message
        hook = self.subscribe(["item.ready"])
        insert = ("INSERT INTO events (team_id, type, data) SELECT '%s', 'item.ready', jsonb_build_object('n', g) "
                  "FROM generate_series(%%d, %%d) g;" % self.team)
        before = int(self.query("SELECT count(*) FROM outbox WHERE routing_key = 'webhooks'")[0][0])
        self.psql("BEGIN; " + insert % (1, 20) + insert % (21, 30) + " COMMIT;")
        self.assertEqual(int(self.query("SELECT count(*) FROM outbox WHERE routing_key = 'webhooks'")[0][0]),
                         before + 1)
        self.rx.wait_for(30)
        self.assertEqual(sorted(e["data"]["n"] for e in self.rx.events()), list(range(1, 31)))
        wr.verify(self, hook["secret"], self.rx.requests)
        lh.wait_until(lambda: all(d["status"] == "delivered" for d in self.deliveries(hook, limit=100)),
                      timeout=20, message="30 deliveries recorded as delivered")
        # a rolled-back transaction leaves neither deliveries nor a message
        self.psql("BEGIN; " + insert % (31, 40) + " ROLLBACK;")
        self.assertEqual(int(self.query("SELECT count(*) FROM outbox WHERE routing_key = 'webhooks'")[0][0]),
                         before + 1)
        self.assertEqual(len(self.deliveries(hook, limit=100)), 30)

    def test_pending_deliveries_of_a_disabled_subscription_fail_unsent(self):
        hook = self.subscribe(["item.ready"])
        # recorded while the workers are away, then the subscription is disabled
        self.workers[0].stop()
        self.psql("INSERT INTO events (team_id, type, data) SELECT '%s', 'item.ready', jsonb_build_object('n', g) "
                  "FROM generate_series(1, 3) g" % self.team)
        self.assertEqual(self.c.patch("/api/v1/webhooks/" + hook["id"], json={"active": False}).status, 200)
        self.start_workers(1, self.s)
        got = lh.wait_until(lambda: (lambda ds: ds if len(ds) == 3 and all(d["status"] == "failed" for d in ds)
                                     else None)(self.deliveries(hook)), timeout=30, message="3 failed deliveries")
        for d in got:
            self.assertEqual(d["last_error"], "the subscription is disabled")
            self.assertEqual(self.delivery(hook, d["id"])["attempt_log"], [])
        self.assertEqual(self.rx.requests, [])

    def test_rotation_signs_with_both_secrets(self):
        hook = self.subscribe(["*"])
        new = self.c.post("/api/v1/webhooks/%s/rotate-secret" % hook["id"]).json()["secret"]
        self.c.post("/api/v1/webhooks/%s/test" % hook["id"])
        reqs = self.rx.wait_for(1)
        self.assertEqual(len(reqs[0]["headers"]["webhook-signature"].split(" ")), 2)
        wr.verify(self, new, reqs)
        wr.verify(self, hook["secret"], reqs)

    def test_ordered_deliveries_follow_event_order(self):
        hook = self.subscribe(["item.created"], ordered=True)
        self.rx.plan(500, 500)  # the first event fails twice; nothing after it may overtake it
        ds = self.dataset()
        names = ["%02d.jpg" % i for i in range(8)]
        for n in names:
            self.item(ds, n)
        lh.wait_until(lambda: len([d for d in self.deliveries(hook) if d["status"] == "delivered"]) == 8,
                      timeout=60, message="8 deliveries")
        got = [e["data"]["name"] for e, q in zip(self.rx.events(), self.rx.requests) if q["answered"] == 200]
        self.assertEqual(got, names)
        wr.verify(self, hook["secret"], self.rx.requests)


class TotalsTest(WebhookCase):
    """The totals of delivered and failed deliveries (webhook_delivery_totals, read by /metrics)
    follow every change: a delivery, a failure for good, a redelivery, a deleted subscription,
    and the folds of the metrics reader."""
    settings = {"metrics_refresh": "500ms", "metrics_totals_refresh": "1s"}

    def totals(self):
        return [int(v) for v in self.query("SELECT coalesce(sum(delivered), 0), coalesce(sum(failed), 0) "
                                           "FROM webhook_delivery_totals")[0]]

    def counted(self):
        return [int(v) for v in self.query("SELECT count(*) FILTER (WHERE status = 'delivered'), "
                                           "count(*) FILTER (WHERE status = 'failed') FROM webhook_deliveries")[0]]

    def settled(self, expected):
        lh.wait_until(lambda: self.counted() == expected, timeout=40, message="deliveries %s" % expected)
        self.assertEqual(self.totals(), expected)

    def test_totals_follow_the_deliveries(self):
        a, b = self.subscribe(["item.ready"]), self.subscribe(["item.ready"])
        first = self.c.post("/api/v1/webhooks/%s/test" % a["id"]).json()["delivery_id"]
        self.wait_delivery(a, first)
        self.settled([1, 0])
        self.rx.plan(410)  # gone: failed for good at once
        self.c.post("/api/v1/webhooks/%s/test" % b["id"])
        self.settled([1, 1])
        self.c.post("/api/v1/webhooks/%s/test" % a["id"])
        self.settled([2, 1])
        # a redelivery takes the delivery out of delivered until it is delivered again
        r = self.c.post("/api/v1/webhooks/%s/deliveries/%s/redeliver" % (a["id"], first))
        self.assertEqual(r.status, 202, r.text)
        self.rx.wait_for(4)
        lh.wait_until(lambda: self.delivery(a, first)["attempts"] == 2, timeout=20, message="the redelivery")
        self.settled([2, 1])
        # a deleted subscription takes its deliveries with it
        self.assertEqual(self.c.delete("/api/v1/webhooks/" + a["id"]).status, 204)
        self.settled([0, 1])
        self.assertEqual(self.c.delete("/api/v1/webhooks/" + b["id"]).status, 204)
        self.settled([0, 0])
        # the metrics reader folds the rows into one, the sums kept
        lh.wait_until(lambda: self.query("SELECT count(*) FROM webhook_delivery_totals") == [["1"]], timeout=20,
                      message="the totals folded")
        self.assertEqual(self.totals(), [0, 0])


class FailingStreakTest(WebhookCase):
    settings = {"webhook_disable_after": "1s"}

    def test_a_subscription_failing_long_enough_is_disabled(self):
        hook = self.subscribe(["*"])
        self.rx.plan(*([500] * 10))
        self.c.post("/api/v1/webhooks/%s/test" % hook["id"])
        got = lh.wait_until(lambda: (lambda w: w if not w["active"] else None)(
            self.c.get("/api/v1/webhooks/" + hook["id"]).json()), timeout=60, message="the subscription to be disabled")
        self.assertIn("every delivery failed for 1 s", got["disabled_reason"])
        self.assertGreaterEqual(len(self.rx.requests), 2)
        wr.verify(self, hook["secret"], list(self.rx.requests))


class WorkerKillTest(WebhookCase):
    def test_worker_killed_mid_delivery(self):
        hook = self.subscribe(["*"])
        self.rx.plan(("sleep", 1.5, 200), 200)
        delivery_id = self.c.post("/api/v1/webhooks/%s/test" % hook["id"]).json()["delivery_id"]
        lh.wait_until(lambda: self.rx.started, timeout=20, message="the delivery to start")
        self.workers[0].kill()
        self.start_workers(1, self.s)
        d = self.wait_delivery(hook, delivery_id, ("delivered",), timeout=60)
        self.assertEqual(d["status"], "delivered")
        ids = [q for q in self.rx.started]
        self.assertGreaterEqual(len(ids), 2)
        self.assertEqual(set(ids), {delivery_id})  # the same webhook-id both times
        wr.verify(self, hook["secret"], self.rx.requests)


class BatchKillTest(WebhookCase):
    settings = {"webhook_timeout": "30s"}  # the held requests stay in flight until the kill

    def test_worker_killed_mid_batch_sends_again_only_what_was_in_flight(self):
        """40 deliveries claimed in one batch; the receiver answers 24 at once and holds the next ones.
        The worker is killed while those are held: the 24 answered were recorded as they finished, so
        the next worker sends only the rest — at most webhook_host_connections (8) ids arrive twice,
        where recording the batch at its end sent all 32 that had gone out again."""
        hook = self.subscribe(["item.ready"])
        self.rx.plan(*([200] * 24 + [("sleep", 10.0, 200)] * 8))
        self.psql("INSERT INTO events (team_id, type, data) SELECT '%s', 'item.ready', jsonb_build_object('n', g) "
                  "FROM generate_series(1, 40) g" % self.team)
        lh.wait_until(lambda: len(self.rx.requests) >= 24 and len(self.rx.started) >= 32, timeout=30,
                      message="24 deliveries answered and 8 held")
        recorded = "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"
        lh.wait_until(lambda: self.query(recorded) == [["24"]], timeout=5, interval=0.02,
                      message="the 24 answered deliveries to be recorded while the batch is still out")
        self.workers[0].kill()
        self.start_workers(1, self.s)
        pending = "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
        lh.wait_until(lambda: self.query(pending) == [["0"]], timeout=60, message="every delivery to be delivered")
        ids = {row[0] for row in self.query("SELECT id FROM webhook_deliveries WHERE webhook_id = '%s'" % hook["id"])}
        arrived = list(self.rx.started)
        repeats = len(arrived) - len(set(arrived))
        self.assertEqual(len(ids), 40)
        self.assertEqual(set(arrived), ids)
        self.assertLessEqual(repeats, 8, "ids sent twice: %d" % repeats)
        self.assertGreaterEqual(repeats, 1)  # the held ones were in flight when the worker died
        once = self.query("SELECT count(*) FROM webhook_attempts t JOIN webhook_deliveries d ON d.id = t.delivery_id "
                          "WHERE d.webhook_id = '%s' GROUP BY t.delivery_id HAVING count(*) > 1" % hook["id"])
        self.assertEqual(once, [])  # one attempt recorded per delivery: a sending killed leaves none
        wr.verify(self, hook["secret"], list(self.rx.requests))


class TraceTest(WebhookCase):
    def test_delivery_continues_the_trace_of_the_change(self):
        hook = self.subscribe(["item.created"])
        ds = self.dataset()
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        r = self.c.post("/api/v1/datasets/%s/items" % ds["id"], json={"name": "a.jpg", "slots": [{"name": "0", "type": "image"}]},
                        headers={"traceparent": "00-%s-00f067aa0ba902b7-01" % trace_id})
        self.assertEqual(r.status, 201, r.text)
        r2 = self.c.post("/api/v1/datasets/%s/items" % ds["id"], json={"name": "b.jpg", "slots": [{"name": "0", "type": "image"}]})
        self.assertEqual(r2.status, 201, r2.text)
        own = r2.header("traceparent").split("-")[1]  # a request without one starts a trace of its own
        self.rx.wait_for(2)
        by_item = {json.loads(q["body"])["data"]["item_id"]: q["headers"].get("traceparent") for q in self.rx.requests}
        for item_id, want in ((r.json()["id"], trace_id), (r2.json()["id"], own)):
            tp = by_item[item_id]
            self.assertRegex(tp or "", r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
            version, got_trace, span, flags = tp.split("-")
            self.assertEqual(got_trace, want)
            self.assertNotEqual(span, "00f067aa0ba902b7")  # a span of its own, child of the request's
        self.assertEqual(by_item[r.json()["id"]].split("-")[3], "01")  # the caller's flags go on
        self.assertNotEqual(trace_id, own)
        wr.verify(self, hook["secret"], self.rx.requests)


class BrokerOutageTest(WebhookCase):
    def setUp(self):
        lh.LoupeTestCase.setUp(self)
        wr.verifier()
        self.priv = self.private_services()
        self.s = dict(SETTINGS)
        self.start_team(self.s)
        self.workers = self.start_workers(1, self.s)
        self.rx = wr.Receiver()
        self.addCleanup(self.rx.close)

    def test_events_during_a_broker_outage_arrive_later(self):
        hook = self.subscribe(["item.created"])
        ds = self.dataset()
        self.priv.amqp_stop()
        lh.wait_until(lambda: self.c.get("/readyz").status == 503, timeout=15, message="/readyz to say 503")
        items = [self.item(ds, "%d.jpg" % i)["id"] for i in range(5)]
        time.sleep(1.0)
        self.assertEqual(self.rx.requests, [])
        self.priv.amqp_start()
        self.rx.wait_for(5, timeout=120)
        self.assertEqual(sorted(e["data"]["item_id"] for e in self.rx.events()), sorted(items))
        wr.verify(self, hook["secret"], self.rx.requests)


class SsrfTest(WebhookCase):
    def setUp(self):
        super().setUp()
        self.refused = wr.Listener("127.0.0.1")
        self.addCleanup(self.refused.close)

    def failed_attempt(self, hook):
        delivery_id = self.c.post("/api/v1/webhooks/%s/test" % hook["id"]).json()["delivery_id"]
        return lh.wait_until(lambda: (lambda d: d["attempt_log"][0] if d["attempt_log"] else None)(
            self.delivery(hook, delivery_id)), timeout=20, message="the first attempt")

    def test_host_name_resolving_to_loopback(self):
        hook = self.subscribe(["*"], url="http://localhost:%d/x" % self.refused.port)
        a = self.failed_attempt(hook)
        self.assertIsNone(a["response_code"])
        self.assertEqual(a["error"], "address 127.0.0.1 is not allowed (loopback)")
        self.assertEqual(self.refused.connections, 0)

    def test_redirect_to_loopback(self):
        self.rx.plan(("redirect", "http://127.0.0.1:%d/x" % self.refused.port, 307))
        hook = self.subscribe(["*"])
        a = self.failed_attempt(hook)
        self.assertEqual(a["error"], "address 127.0.0.1 is not allowed (loopback)")
        self.assertEqual(len(self.rx.requests), 1)
        self.assertEqual(self.refused.connections, 0)
        wr.verify(self, hook["secret"], self.rx.requests)

    def test_every_literal_form_is_refused_at_delivery_too(self):
        # A subscription stored before the allow-list changed is checked again at delivery.
        hook = self.subscribe(["*"])
        for host in ["127.0.0.1", "2130706433", "0x7f000001", "017700000001", "[::ffff:127.0.0.1]"]:
            self.psql("UPDATE webhooks SET url = 'http://%s:%d/x' WHERE id = '%s'" % (host, self.refused.port, hook["id"]))
            a = self.failed_attempt(hook)
            self.assertIn("is not allowed (loopback)", a["error"], host)
        self.assertEqual(self.refused.connections, 0)


class WorkflowStageTest(WebhookCase):
    def test_webhook_stage_is_delivered_and_the_receiver_continues_the_task(self):
        # in → notify (a webhook stage that waits) → done: the item's task rests in notify until the
        # receiver, on the signed task.webhook it gets, calls continue.
        hook = self.subscribe(["task.webhook", "task.completed"])
        ds = self.dataset()
        self.psql("INSERT INTO items (team_id, dataset_id, name) VALUES ('%s', '%s', 'frame.jpg')" % (self.team, ds["id"]))
        self.psql("INSERT INTO slots (item_id, name, type, width, height, position) SELECT id, '0', 'image', 100, 100, 0 "
                  "FROM items WHERE dataset_id = '%s'" % ds["id"])
        item_id = self.query("SELECT id FROM items WHERE dataset_id = '%s'" % ds["id"])[0][0]
        r = self.c.post("/api/v1/workflows", json={
            "name": "Notify", "dataset_ids": [ds["id"]],
            "stages": [{"id": "in", "type": "dataset"},
                       {"id": "notify", "type": "webhook", "config": {"wait": True}},
                       {"id": "done", "type": "complete"}],
            "edges": [{"from": "in", "port": "next", "to": "notify"},
                      {"from": "notify", "port": "next", "to": "done"}]})
        self.assertEqual(r.status, 201, r.text)
        wf = r.json()["id"]
        receiver_client = self.d.client(api_key=self.boot["api_key"])
        continued = []

        def on_answered(request):
            event = json.loads(request["body"])
            if event["type"] == "task.webhook":
                continued.append(receiver_client.post("/api/v1/tasks/%s/continue" % event["data"]["task_id"]))
        self.rx.on_answered = on_answered

        r = self.c.post("/api/v1/workflows/%s/enter" % wf, json={"filters": {"dataset_id": ds["id"]}})
        self.assertIn(r.status, (200, 202), r.text)
        reqs = self.rx.wait_for(2, timeout=60)  # task.webhook, then task.completed once continued
        wr.verify(self, hook["secret"], reqs)
        first, second = [json.loads(q["body"]) for q in reqs[:2]]
        task_id = self.query("SELECT id FROM tasks WHERE item_id = '%s'" % item_id)[0][0]
        self.assertEqual(first["type"], "task.webhook")
        self.assertEqual(first["data"]["task_id"], task_id)
        self.assertEqual(first["data"]["item_id"], item_id)
        self.assertEqual(first["data"]["workflow_id"], wf)
        self.assertEqual(first["data"]["stage"], "notify")
        self.assertTrue(first["data"]["wait"])
        self.assertEqual(len(continued), 1)
        self.assertEqual(continued[0].status, 200, continued[0].text)
        self.assertEqual(continued[0].json()["stage"], "done")
        self.assertEqual(second["type"], "task.completed")
        self.assertEqual(second["data"]["task_id"], task_id)
        self.assertEqual(second["data"]["stage"], "done")
        r = self.c.get("/api/v1/tasks/" + task_id)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["stage"], "done")


class OrderedBacklogTest(WebhookCase):
    # /metrics off: its refresh counts every delivery by status, and this test counts the index
    # reads of the sender's claims alone
    settings = {"metrics_token": None}

    def index_reads(self):
        return int(self.query("SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes "
                              "WHERE relname = 'webhook_deliveries'")[0][0])

    def test_an_ordered_backlog_does_not_slow_the_other_subscriptions(self):
        # Subscription A (ordered) has 5,000 pending deliveries behind a head its dead receiver keeps
        # failing; B's deliveries go out meanwhile, and the claims that send them do not read A's
        # backlog (the index reads of the deliveries table stay below A's backlog).
        dead = socket.socket()
        dead.bind(("127.0.0.2", 0))
        dead_port = dead.getsockname()[1]
        dead.close()  # nothing listens there: every attempt is refused
        a = self.subscribe(["item.error"], url="http://127.0.0.2:%d/gone" % dead_port, ordered=True)
        b = self.subscribe(["item.ready"])
        self.psql("INSERT INTO events (team_id, type, data) SELECT '%s', 'item.error', jsonb_build_object('n', g) "
                  "FROM generate_series(1, 5000) g" % self.team)
        # (attempts are counted in their own table: the test itself reads no index of the deliveries)
        lh.wait_until(lambda: int(self.query("SELECT count(*) FROM webhook_attempts")[0][0]) >= 1,
                      timeout=30, message="the ordered head to be attempted")
        before = self.index_reads()
        self.psql("INSERT INTO events (team_id, type, data) SELECT '%s', 'item.ready', jsonb_build_object('n', g) "
                  "FROM generate_series(1, 300) g" % self.team)
        reqs = self.rx.wait_for(300, timeout=60)
        # the statistics reach the view within seconds; B's 300 rows were each read once at least (no
        # statement of the test reads the table until then)
        reads = lh.wait_until(lambda: (lambda n: n if n >= 300 else None)(self.index_reads() - before),
                              timeout=30, message="the index reads to be counted")
        self.assertLess(reads, 5000)
        self.assertEqual(sorted(json.loads(q["body"])["data"]["n"] for q in reqs), list(range(1, 301)))
        wr.verify(self, b["secret"], reqs)
        lh.wait_until(lambda: int(self.query("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '%s' "
                                             "AND status = 'delivered'" % b["id"])[0][0]) == 300,
                      timeout=30, message="300 deliveries of B recorded as delivered")
        # A's head fails for good only after ten attempts (a minute at this scale); nothing of A went out
        self.assertGreaterEqual(int(self.query("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '%s' "
                                               "AND status = 'pending'" % a["id"])[0][0]), 4999)
        self.assertEqual(int(self.query("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '%s' "
                                        "AND status = 'delivered'" % a["id"])[0][0]), 0)

if __name__ == "__main__":
    unittest.main()
