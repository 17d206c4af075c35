"""PostgreSQL at scale: louped and a worker through PgBouncer in transaction mode (a server pool
smaller than the clients), the connection budget warning, and statement timeouts.

PgBouncer 1.18 (Debian 12) keeps no protocol-level prepared statements across transactions: with
db_pooler = transaction Loupe runs every statement unnamed and sets statement_timeout per
transaction, while migrations, LISTEN and a worker's job locks take a session of their own
(db_direct_url). Nothing here would pass with named statements: the second transaction of a
connection would land on a server session that never saw its PREPARE."""

# ctest-timeout: 600

import concurrent.futures
import subprocess
import unittest

import loupe_harness as lh
import media_testlib as mt
import pg_testlib as pg

lh.require_services(("louped", "loupe-worker"))

BOX = {"bounding_box": {"x": 1, "y": 2, "w": 10, "h": 20}}


class PoolerTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.bouncer = pg.PgBouncer(self.services.pg_port, pool_size=2)
        self.addCleanup(self.bouncer.stop)
        self.settings = {"db_url": self.bouncer.url(self.sandbox.name), "db_pooler": "transaction",
                         "db_direct_url": self.sandbox.db_url, "db_pool_size": "6"}

    def test_everything_through_a_transaction_pooler(self):
        mt.require_tools("ffmpeg", purpose="to make the test image")
        self.start_team(self.settings)
        self.start_worker(self.settings)
        c = self.c
        r = c.post("/api/v1/datasets", json={"name": "Pooled"})
        self.assertEqual(r.status, 201, r.text)
        ds = r.json()["id"]
        r = c.post("/api/v1/classes", json={"name": "car", "annotation_types": ["bounding_box", "tag"]})
        self.assertEqual(r.status, 201, r.text)
        car = r.json()["id"]

        # uploads: an image through the worker (media job, outbox relay, NOTIFY on direct sessions)
        src = mt.two_band_jpeg(self.sandbox.work_dir + "/band.jpg", 64, 48)
        r = c.post("/api/v1/datasets/%s/items" % ds, json={"name": "band.jpg", "slots": [{"name": "0", "type": "image"}]})
        self.assertEqual(r.status, 201, r.text)
        uploaded = r.json()["id"]
        with open(src, "rb") as f:
            r = c.put("/api/v1/items/%s/slots/0/file" % uploaded, data=f.read(), headers={"Content-Type": "image/jpeg"})
        self.assertEqual(r.status, 202, r.text)

        def ready():
            body = c.get("/api/v1/items/" + uploaded).json()
            return body if body["status"] in ("ready", "error") else None
        self.assertEqual(lh.wait_until(ready, timeout=120, interval=0.2, message="the upload")["status"], "ready")

        # more items, then annotation batches from 12 clients at once over 6 pooled connections
        # and 2 server connections
        items = [uploaded]
        for k in range(11):
            r = c.post("/api/v1/datasets/%s/items" % ds,
                       json={"name": "i%02d.jpg" % k, "slots": [{"name": "0", "type": "image", "width": 64,
                                                                  "height": 48}]})
            self.assertEqual(r.status, 201, r.text)
            items.append(r.json()["id"])

        def annotate(item):
            got = []
            for n in range(5):
                r = self.d.client(api_key=self.boot["api_key"]).post(
                    "/api/v1/items/%s/annotations/batch" % item, json={"create": [dict(BOX, class_id=car)]})
                got.append((r.status, r.text))
            return got
        with concurrent.futures.ThreadPoolExecutor(12) as ex:
            for results in ex.map(annotate, items):
                for status, text in results:
                    self.assertEqual(status, 200, text)
        for item in items:
            r = c.get("/api/v1/items/%s/annotations" % item)
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(len(r.json()["annotations"]), 5)
        # an ETag/If-Match write
        r = c.get("/api/v1/items/%s/annotations" % items[1])
        etag = r.header("ETag")
        self.assertTrue(etag, r.headers)
        r = c.post("/api/v1/items/%s/annotations/batch" % items[1], json={"create": [dict(BOX, class_id=car)]},
                   headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r.text)
        r = c.post("/api/v1/items/%s/annotations/batch" % items[1], json={"create": [dict(BOX, class_id=car)]},
                   headers={"If-Match": etag})
        self.assertEqual(r.status, 412, r.text)

        # workflow: enter, claim, submit, a bulk move (set-based statements with SET LOCAL settings)
        wf = lh.line_workflow(c, ds)
        r = c.post("/api/v1/workflows/%s/enter" % wf, json={"filters": {"dataset_id": ds}})
        self.assertIn(r.status, (200, 202), r.text)
        lh.wait_until(lambda: self.query("SELECT count(*) FROM tasks WHERE workflow_id = '%s'" % wf) == [["12"]],
                      timeout=30, message="12 tasks")
        r = c.post("/api/v1/workflows/%s/stages/label/next" % wf)
        self.assertEqual(r.status, 200, r.text)
        task = r.json()
        r = c.post("/api/v1/tasks/%s/submit" % task["id"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["stage"], "done")
        r = c.post("/api/v1/tasks/bulk", json={"filters": {"workflow_id": wf, "stage": "label"},
                                                "action": "send_to_stage", "stage": "done"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json(), {"count": 11})

        # export (the worker's job, a streamed scan), then lists paged one item at a time
        self.assertEqual(pg.coco_export_names(self, c, ds), ["band.jpg"] + ["i%02d.jpg" % k for k in range(11)])
        seen, path = [], "/api/v1/items"
        query = {"dataset_id": ds, "page[size]": "5"}
        while True:
            r = c.get(path, query=query)
            self.assertEqual(r.status, 200, r.text)
            seen += [i["id"] for i in r.json()["items"]]
            nxt = r.json().get("next")
            if not nxt:
                break
            path, query = nxt, None
        self.assertEqual(sorted(seen), sorted(items))

        # PgBouncer carried the traffic, on at most its 2 server connections for this database
        stats = {row[0]: row for row in self.bouncer.show("STATS")}
        self.assertIn(self.sandbox.name, stats)
        self.assertGreater(int(stats[self.sandbox.name][2]), 100, stats[self.sandbox.name])  # total_xact_count
        servers = self.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND backend_type = 'client backend' AND application_name <> 'psql'")
        direct = 1 + 3  # the worker's job session; relay, router and credential listener
        self.assertLessEqual(int(servers[0][0]), 2 + direct + 1, servers)  # + the worker's heartbeat at most
        for p in self.sandbox.processes:
            self.assertNotIn("prepared statement", p.log(), p.name)
            self.assertNotIn("sqlstate=26000", p.log(), p.name)

    def test_statement_timeout_answers_504_naming_the_setting(self):
        settings = dict(self.settings, db_statement_timeout="300ms")
        self.start_team(settings)
        r = self.c.post("/api/v1/datasets", json={"name": "Slow"})
        self.assertEqual(r.status, 201, r.text)
        ds = r.json()["id"]
        self.assertEqual(self.c.get("/api/v1/items", query={"dataset_id": ds}).status, 200)
        # another session holds the items table for a while: the list waits on its lock until
        # statement_timeout cancels it
        argv = list(self.services.info["psql"]) + ["-d", self.sandbox.name, "-c",
                                                   "BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; "
                                                   "SELECT pg_sleep(8); COMMIT;"]
        locker = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(locker.wait, 30)
        lh.wait_until(lambda: self.query("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' "
                                         "AND relation = 'items'::regclass AND granted") == [["1"]],
                      timeout=10, message="the lock")
        r = self.c.get("/api/v1/items", query={"dataset_id": ds}, timeout=5)
        self.assertProblem(r, 504)
        self.assertIn("db_statement_timeout", r.json()["detail"] + r.json()["title"], r.text)
        locker.wait(30)
        self.assertEqual(self.c.get("/api/v1/items", query={"dataset_id": ds}).status, 200)
        # the same through a direct connection (the session-level statement_timeout)
        d2 = self.start_louped({"db_statement_timeout": "300ms"})
        c2 = d2.client(api_key=self.boot["api_key"])
        locker = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(locker.wait, 30)
        lh.wait_until(lambda: self.query("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' "
                                         "AND relation = 'items'::regclass AND granted") == [["1"]],
                      timeout=10, message="the lock")
        r = c2.get("/api/v1/items", query={"dataset_id": ds}, timeout=5)
        self.assertProblem(r, 504)
        self.assertIn("db_statement_timeout", r.json()["detail"] + r.json()["title"], r.text)


class BudgetTest(lh.LoupeTestCase):
    def test_warns_when_the_pool_exceeds_max_connections(self):
        self.bootstrap()
        limit = int(self.query("SELECT current_setting('max_connections')::int - "
                               "current_setting('superuser_reserved_connections')::int")[0][0])
        d = self.start_louped({"db_pool_size": str(limit + 1)})
        warned = [ln for ln in d.log_lines_json() if ln.get("module") == "db" and ln.get("level") == "warn"
                  and "max_connections" in ln.get("msg", "")]
        self.assertEqual(len(warned), 1, d.log())
        self.assertIn("db_pool_size %d" % (limit + 1), warned[0]["msg"])
        d.stop()
        d = self.start_louped({"db_pool_size": "4"})
        budget = [ln for ln in d.log_lines_json() if "connection budget" in ln.get("msg", "")]
        self.assertEqual(len(budget), 1, d.log())
        self.assertIn("this node up to 7 of the %d connections" % limit, budget[0]["msg"])

    def test_db_pooler_must_be_known(self):
        d = self.start_louped({"db_pooler": "statement"}, wait=False)
        self.assertNotEqual(d.wait(30), 0)
        self.assertIn("db_pooler", d.log())


if __name__ == "__main__":
    unittest.main()
