"""The indexes of the hot queries, checked on the plans PostgreSQL really ran.

The test's database loads auto_explain (every statement's plan goes to the server log), tens of
thousands of rows are seeded (items and slots, tasks through a workflow's entry, annotations
through batches, finished jobs, published outbox rows, delivered webhook deliveries), the tables are analysed, and then the
real daemon and worker run the hot paths: the item list by dataset and by filter, an item's
annotations and a viewport (bbox) read, a task claim, the outbox relay's claim, a job's claim,
an export's scans and the webhook sender's claim (over 30,000 delivered deliveries). Each hot statement's plan — the one the code's own statement got — must
reach its rows through the index made for it and never scan a big table sequentially. Every
plan checked is printed."""

# ctest-timeout: 600

import os
import re
import unittest

import loupe_harness as lh

lh.require_services(("louped", "loupe-worker"))

ITEMS = 30000
BIG = ("items", "slots", "annotations", "tasks", "jobs", "outbox", "webhook_deliveries")

# name: (a pattern that picks the statement out of the logged query texts, the index its plan
# uses, "all" when every plan of the statement must use it or "any" when one must: an item's
# read and its viewport read are one statement, whose plan uses the viewport's index only when a
# viewport is given)
HOT = {
    "item list by dataset, name order (also the export's pages)":
        (r"FROM items i WHERE .*ORDER BY i\.name (ASC|DESC), i\.id", "items_dataset_name_idx", "all"),
    "item list by dataset, creation order":
        (r"FROM items i WHERE .*ORDER BY i\.created_at (ASC|DESC), i\.id", "items_dataset_created_idx", "all"),
    "an item's annotations": (r"^SELECT a\.id.*FROM annotations a JOIN classes c", "annotations_", "all"),
    "annotations in a viewport (bbox)": (r"^SELECT a\.id.*FROM annotations a JOIN classes c.*a\.bbox &&",
                                         "annotations_bbox_idx", "any"),
    "the export's annotation cursor": (r"unnest\(\$1::uuid\[\].*FROM annotations a", "annotations_", "all"),
    "task claim": (r"FROM tasks .*FOR UPDATE SKIP LOCKED", "tasks_open_idx", "all"),
    "outbox relay claim": (r"FROM outbox WHERE published_at IS NULL", "outbox_unpublished_idx", "all"),
    "job claim": (r"UPDATE jobs SET status = 'running'", "jobs_pkey", "all"),
    "webhook delivery claim": (r"WITH free AS \(SELECT .*FROM webhook_deliveries f", "webhook_deliveries_due_idx", "all"),
}

ENTRY = re.compile(r"^\S.*?LOG:\s+duration: [0-9.]+ ms\s+plan:\s*$")


def plans(log_text):
    """(query text, plan text) of every auto_explain entry in log_text."""
    out, cur = [], None
    for line in log_text.splitlines():
        if ENTRY.match(line):
            cur = []
            out.append(cur)
        elif cur is not None and line.startswith("\t"):
            cur.append(line[1:])
        else:
            cur = None
    result = []
    for lines in out:
        text = "\n".join(lines)
        m = re.match(r"Query Text: (.*?)\n(?=\S)", text, re.S)
        if m:
            result.append((m.group(1), text[m.end():]))
    return result


class PlansTest(lh.LoupeTestCase):
    def test_hot_queries_use_their_indexes(self):
        log_path = self.services.info.get("pg_log")
        if not log_path or not os.access(log_path, os.R_OK):
            lh.skip("the PostgreSQL server log is not readable")
        self.boot = self.bootstrap()
        self.team = self.boot["team_id"]
        self.psql("ALTER DATABASE \"%s\" SET session_preload_libraries = 'auto_explain'" % self.sandbox.name)
        self.psql("ALTER DATABASE \"%s\" SET auto_explain.log_min_duration = 0" % self.sandbox.name)
        self.d = self.start_louped({"outbox_poll": "200ms"})
        self.c = c = self.d.client(api_key=self.boot["api_key"])
        r = c.post("/api/v1/datasets", json={"name": "Big"})
        self.assertEqual(r.status, 201, r.text)
        ds = r.json()["id"]
        r = c.post("/api/v1/datasets", json={"name": "Small"})
        small = r.json()["id"]
        r = c.post("/api/v1/classes", json={"name": "car", "annotation_types": ["bounding_box", "tag"]})
        self.assertEqual(r.status, 201, r.text)
        car = r.json()["id"]

        # seed: items and slots in SQL, annotations through batches, finished jobs and published
        # outbox rows in SQL, tasks through the workflow's entry
        for d, n in ((ds, ITEMS), (small, 50)):
            self.psql("INSERT INTO items (team_id, dataset_id, name, status, created_at) SELECT '%s', '%s', "
                      "'i' || lpad(g::text, 6, '0') || '.jpg', 'ready', now() - g * interval '1 second' "
                      "FROM generate_series(1, %d) g" % (self.team, d, n))
        self.psql("INSERT INTO slots (item_id, name, type, width, height, position) "
                  "SELECT id, '0', 'image', 1000, 1000, 0 FROM items")
        some = [row[0] for row in self.query("SELECT id FROM items WHERE dataset_id = '%s' ORDER BY name LIMIT 20" % ds)]
        for k, item in enumerate(some):
            boxes = [{"class_id": car, "bounding_box": {"x": (j % 40) * 25, "y": (j // 40) * 20, "w": 20, "h": 15}}
                     for j in range(1000)]
            r = c.post("/api/v1/items/%s/annotations/batch" % item, json={"create": boxes})
            self.assertEqual(r.status, 200, r.text[:500])
        self.psql("INSERT INTO jobs (team_id, kind, queue, status, progress, attempts, max_attempts, finished_at) "
                  "SELECT '%s', 'system.echo', 'system', 'succeeded', 1, 1, 5, now() FROM generate_series(1, %d)"
                  % (self.team, ITEMS))
        self.psql("INSERT INTO outbox (exchange, routing_key, body, published_at) SELECT 'loupe.jobs', 'system', "
                  "'{}', now() FROM generate_series(1, %d)" % ITEMS)
        self.psql("WITH w AS (INSERT INTO webhooks (team_id, url, events, secret) VALUES ('%s', "
                  "'https://hooks.example.com/loupe', '{task.created}', 'seeded') RETURNING id), "
                  "e AS (INSERT INTO events (team_id, type) VALUES ('%s', 'task.created') RETURNING id, seq) "
                  "INSERT INTO webhook_deliveries (team_id, webhook_id, event_id, event_seq, event_type, status, "
                  "attempts, delivered_at) SELECT '%s', w.id, e.id, e.seq, 'task.created', 'delivered', 1, now() "
                  "FROM w, e, generate_series(1, %d)" % (self.team, self.team, self.team, ITEMS))
        wf = lh.line_workflow(c, ds)
        self.start_worker()
        r = c.post("/api/v1/workflows/%s/enter" % wf, json={"filters": {"dataset_id": ds}})
        self.assertIn(r.status, (200, 202), r.text)
        lh.wait_until(lambda: self.query("SELECT count(*) FROM tasks") == [[str(ITEMS)]], timeout=240, interval=1,
                      message="%d tasks" % ITEMS)
        self.psql("ANALYZE")

        # the hot paths, through the real daemon and worker, with the server log read from here on
        start = os.path.getsize(log_path)
        for sort in (None, "created"):
            q = {"dataset_id": ds, "page[size]": "50"}
            if sort:
                q["sort"] = sort
            r = c.get("/api/v1/items", query=q)
            self.assertEqual(r.status, 200, r.text)
            r = c.get(r.json()["next"])
            self.assertEqual(r.status, 200, r.text)
        r = c.get("/api/v1/items/%s/annotations" % some[0])
        self.assertEqual(len(r.json()["annotations"]), 1000)
        r = c.get("/api/v1/items/%s/annotations" % some[0], query={"bbox": "0,0,60,50"})
        self.assertEqual(r.status, 200, r.text)
        self.assertLess(len(r.json()["annotations"]), 20)
        r = c.post("/api/v1/workflows/%s/stages/label/next" % wf)
        self.assertEqual(r.status, 200, r.text)
        # a wake-up of the webhook sender: one claim round, nothing due
        self.psql("INSERT INTO outbox (exchange, routing_key, body) VALUES ('', 'loupe.webhooks', '{\"v\": 1}')")
        r = c.post("/api/v1/exports", json={"format": "coco", "filters": {"dataset_id": small}})
        self.assertEqual(r.status, 202, r.text)
        export = r.json()["id"]
        lh.wait_until(lambda: c.get("/api/v1/exports/" + export).json()["status"] == "succeeded", timeout=120,
                      interval=0.2, message="the export")
        with open(log_path, errors="replace") as f:
            f.seek(start)
            ran = plans(f.read())

        failures = []
        for name, (pattern, index, mode) in HOT.items():
            picked = [(q, p) for q, p in ran if re.search(pattern, q, re.S)]
            if not picked:
                failures.append("%s: no statement matching %r ran" % (name, pattern))
                continue
            using = 0
            for q, p in picked:
                print("----- %s -----\n%s\n%s" % (name, q[:300], p), flush=True)
                seq = [t for t in BIG if re.search(r"Seq Scan on %s\b" % t, p)]
                if seq:
                    failures.append("%s: a sequential scan of %s:\n%s" % (name, ", ".join(seq), p))
                if index in p:
                    using += 1
                elif mode == "all":
                    failures.append("%s: the plan does not use %s:\n%s" % (name, index, p))
            if using == 0:
                failures.append("%s: no plan uses %s" % (name, index))
        self.assertEqual(failures, [], "\n\n".join(failures))


if __name__ == "__main__":
    unittest.main()
