"""Workflow definitions through the API: create, read, list, versions (If-Match, the moves rule),
delete; items entering by filter (inline and as a workflow.enter job) and when they become ready
(a real upload, through the trigger and the workflow router); the board, per-annotator stats; the
items list's stage/state/assignee filters and an item's task; every workflow route against another
team (404), a viewer (403) and bad input (422/400 naming the field)."""

# ctest-timeout: 600
import copy
import uuid

import loupe_harness as lh
import media_testlib as mt

lh.require_services(binaries=("louped", "loupe-worker"))


def definition(percent=100, annotate_states=None):
    """dataset → sampling → annotate (done) → review (approve → complete, reject → annotate);
    sampling's rest → discard."""
    ann = {"id": "annotate", "type": "annotate", "name": "Annotate", "config": {"assignees": "any"}}
    if annotate_states:
        ann["config"]["states"] = annotate_states
    return {
        "stages": [
            {"id": "entry", "type": "dataset"},
            {"id": "sample", "type": "sampling", "config": {"percent": percent}},
            ann,
            {"id": "review", "type": "review"},
            {"id": "done", "type": "complete"},
            {"id": "dropped", "type": "discard"},
        ],
        "edges": [
            {"from": "entry", "port": "next", "to": "sample"},
            {"from": "sample", "port": "sampled", "to": "annotate"},
            {"from": "sample", "port": "rest", "to": "dropped"},
            {"from": "annotate", "port": "done", "to": "review"},
            {"from": "review", "port": "approve", "to": "done"},
            {"from": "review", "port": "reject", "to": "annotate"},
        ],
    }


def rows(tc, sql):
    """The rows of a query as tuples."""
    return [tuple(r) for r in tc.query(sql)]


class WorkflowCase(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team()

    def dataset(self, name="Set", client=None):
        r = (client or self.c).post("/api/v1/datasets", json={"name": name})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def items(self, dataset_id, n, prefix="i", client=None):
        ids = []
        for k in range(n):
            r = (client or self.c).post("/api/v1/datasets/%s/items" % dataset_id,
                                        json={"name": "%s%03d.jpg" % (prefix, k),
                                              "slots": [{"name": "0", "type": "image"}]})
            self.assertEqual(r.status, 201, r.text)
            ids.append(r.json()["id"])
        return ids

    def workflow(self, dataset_ids, name="Line", client=None, **kw):
        body = dict(definition(**kw), name=name, dataset_ids=dataset_ids)
        r = (client or self.c).post("/api/v1/workflows", json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def tasks(self, workflow_id):
        return {r[0]: (r[1], r[2]) for r in rows(self, 
            "SELECT item_id, stage, state FROM tasks WHERE workflow_id = '%s'" % workflow_id)}

    def enter(self, wf_id, filters, status=200, client=None):
        r = (client or self.c).post("/api/v1/workflows/%s/enter" % wf_id, json={"filters": filters})
        self.assertEqual(r.status, status, r.text)
        return r.json()


class DefinitionTest(WorkflowCase):
    def test_create_read_list_delete(self):
        ds = self.dataset()
        wf = self.workflow([ds])
        self.assertEqual(wf["version"], 1)
        self.assertEqual(wf["dataset_ids"], [ds])
        self.assertEqual([s["id"] for s in wf["stages"]], ["entry", "sample", "annotate", "review", "done", "dropped"])
        r = self.c.get("/api/v1/workflows/" + wf["id"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("ETag"), '"1"')
        self.assertEqual(r.json(), wf)
        self.assertEqual(self.c.get("/api/v1/workflows/" + wf["id"], headers={"If-None-Match": '"1"'}).status, 304)
        other = self.workflow([self.dataset("Two")], name="Second")
        page = self.c.get("/api/v1/workflows", query={"page[size]": "1"}).json()
        self.assertEqual([w["id"] for w in page["workflows"]], [wf["id"]])
        rest = self.c.get("/api/v1/workflows", query={"page[size]": "1", "page[after]": page["next"].split("page%5Bafter%5D=")[1]})
        self.assertEqual([w["id"] for w in rest.json()["workflows"]], [other["id"]])
        self.assertEqual(rows(self, "SELECT count(*) FROM workflow_versions WHERE workflow_id = '%s'" % wf["id"]),
                         [("1",)])
        self.assertEqual(rows(self, "SELECT action FROM audit_log WHERE object_id = '%s'" % wf["id"]),
                         [("workflow.create",)])

        # A deleted item takes its task and the task's history along.
        items = self.items(ds, 3)
        self.assertEqual(self.enter(wf["id"], {"dataset_id": ds}), {"count": 3})
        self.assertEqual(rows(self, "SELECT count(*) FROM task_history"), [("3",)])
        self.assertEqual(self.c.delete("/api/v1/items/" + items.pop()).status, 204)
        self.assertEqual(rows(self, "SELECT count(*) FROM tasks"), [("2",)])
        self.assertEqual(rows(self, "SELECT count(*) FROM task_history"), [("2",)])
        # Delete: the workflow and its tasks (with their history) go, the items stay.
        self.assertEqual(self.c.delete("/api/v1/workflows/" + wf["id"]).status, 204)
        self.assertProblem(self.c.get("/api/v1/workflows/" + wf["id"]), 404)
        self.assertEqual(rows(self, "SELECT count(*) FROM tasks"), [("0",)])
        self.assertEqual(rows(self, "SELECT count(*) FROM task_history"), [("0",)])
        self.assertEqual(rows(self, "SELECT count(*) FROM items WHERE id IN ('%s')" % "','".join(items)), [("2",)])
        # The dataset is free to feed another workflow.
        self.workflow([ds], name="Again")

    def test_validation_names_the_field(self):
        ds = self.dataset()
        good = dict(definition(), name="W", dataset_ids=[ds])

        def bad(change, status, field):
            body = copy.deepcopy(good)
            change(body)
            return self.assertProblem(self.c.post("/api/v1/workflows", json=body), status, field)

        bad(lambda b: b["stages"][1].update(config={"percent": 150}), 422, "stages[1].config.percent")
        bad(lambda b: b["edges"][2].update(to="nowhere"), 422, "edges[2].to")
        bad(lambda b: b.pop("name"), 422, "name")
        bad(lambda b: b.update(name=""), 422, "name")
        bad(lambda b: b.update(dataset_ids=[]), 422, "dataset_ids")
        bad(lambda b: b.update(dataset_ids=["not-a-uuid"]), 422, "dataset_ids[0]")
        bad(lambda b: b.update(dataset_ids=[str(uuid.uuid4())]), 422, "dataset_ids[0]")
        bad(lambda b: b.update(dataset_ids=[ds, ds]), 422, "dataset_ids[1]")
        bad(lambda b: b.update(colour="red"), 422, "colour")
        bad(lambda b: b.update(moves={}), 422, "moves")
        # Several rules broken: one answer lists them all.
        body = bad(lambda b: (b["stages"][1].update(config={"percent": -1}), b["edges"][2].update(to="x")), 422,
                   "stages[1].config.percent")
        self.assertIn("edges[2].to", [e["field"] for e in body["errors"]])
        # Malformed JSON is a 400.
        r = self.c.request("POST", "/api/v1/workflows", data=b"{", headers={"Content-Type": "application/json"})
        self.assertProblem(r, 400)
        # A dataset feeds one workflow.
        self.workflow([ds])
        bad(lambda b: None, 409, "dataset_ids[0]")
        self.assertEqual(rows(self, "SELECT count(*) FROM workflows"), [("1",)])


class VersionTest(WorkflowCase):
    def test_if_match_and_moves_rule(self):
        ds = self.dataset()
        wf = self.workflow([ds], annotate_states=["new", "blocked"])
        items = self.items(ds, 5)
        self.assertEqual(self.enter(wf["id"], {"dataset_id": ds}), {"count": 5})
        self.psql("UPDATE tasks SET state = 'blocked' WHERE item_id = '%s'" % items[0])
        path = "/api/v1/workflows/" + wf["id"]
        new = dict(definition(), name="Renamed", dataset_ids=[ds])

        self.assertProblem(self.c.put(path, json=new), 428)
        self.assertProblem(self.c.put(path, json=new, headers={"If-Match": '"7"'}), 412)

        # Same stages: the tasks stay; the one whose state is gone goes to the first state.
        r = self.c.put(path, json=new, headers={"If-Match": '"1"'})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.json()["version"], r.header("ETag"), r.json()["name"]), (2, '"2"', "Renamed"))
        self.assertEqual(set(self.tasks(wf["id"]).values()), {("annotate", "new")})
        self.assertEqual(rows(self, "SELECT from_state, to_state FROM task_history t JOIN tasks k ON k.id = t.task_id "
                                    "WHERE k.item_id = '%s' AND action = 'move'" % items[0]), [("blocked", "new")])

        # Removing the stage that holds the tasks: 409 naming it with its count, nothing changed.
        gone = definition()
        gone["stages"] = [s for s in gone["stages"] if s["id"] != "annotate"]
        gone["stages"].append({"id": "label", "type": "annotate", "config": {"assignees": "any"}})
        for e in gone["edges"]:
            e["to"] = "label" if e["to"] == "annotate" else e["to"]
            e["from"] = "label" if e["from"] == "annotate" else e["from"]
        body = dict(gone, name="Renamed", dataset_ids=[ds])
        p = self.assertProblem(self.c.put(path, json=body, headers={"If-Match": '"2"'}), 409, "moves.annotate")
        self.assertIn("5 tasks", [e["message"] for e in p["errors"] if e["field"] == "moves.annotate"][0])
        self.assertEqual(self.c.get(path).json()["version"], 2)
        self.assertEqual(len(self.tasks(wf["id"])), 5)
        # A move naming a stage that stays, or a target that does not exist: 422.
        self.assertProblem(self.c.put(path, json=dict(body, moves={"annotate": "nope"}), headers={"If-Match": '"2"'}),
                           422, "moves.annotate")
        self.assertProblem(self.c.put(path, json=dict(body, moves={"annotate": "label", "review": "label"}),
                                      headers={"If-Match": '"2"'}), 422, "moves.review")

        # With the move: nothing lost, every task on the new stage.
        r = self.c.put(path, json=dict(body, moves={"annotate": "label"}), headers={"If-Match": '"2"'})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.tasks(wf["id"]), {i: ("label", "new") for i in items})
        moved = rows(self, "SELECT count(*) FROM task_history WHERE action = 'move' AND from_stage = 'annotate' "
                           "AND to_stage = 'label'")
        self.assertEqual(moved, [("5",)])
        self.assertEqual(rows(self, "SELECT count(*) FROM events WHERE type = 'task.stage_changed'"), [("5",)])
        self.assertEqual(rows(self, "SELECT version FROM workflow_versions WHERE workflow_id = '%s' ORDER BY 1"
                                    % wf["id"]), [("1",), ("2",), ("3",)])

    def test_move_to_a_routing_stage_routes_on(self):
        ds = self.dataset()
        wf = self.workflow([ds])
        items = self.items(ds, 3)
        self.enter(wf["id"], {"dataset_id": ds})
        # The new version drops annotate; its tasks go to the sampling stage, which sends them on.
        d = definition(percent=0)
        d["stages"] = [s for s in d["stages"] if s["id"] != "annotate"]
        d["edges"] = [e for e in d["edges"] if "annotate" not in (e["from"], e["to"])]
        d["edges"] += [{"from": "review", "port": "reject", "to": "dropped"},
                       {"from": "sample", "port": "sampled", "to": "review"}]
        r = self.c.put("/api/v1/workflows/" + wf["id"], json=dict(d, name="W", dataset_ids=[ds], moves={"annotate": "sample"}),
                       headers={"If-Match": '"1"'})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.tasks(wf["id"]), {i: ("dropped", "new") for i in items})
        self.assertEqual(rows(self, "SELECT count(*) FROM events WHERE type = 'task.completed' "
                                    "AND data ->> 'outcome' = 'discard'"), [("3",)])


class EntryTest(WorkflowCase):
    def test_enter_by_filter_inline_and_as_job(self):
        ds, other = self.dataset(), self.dataset("Other")
        wf = self.workflow([ds])
        items = self.items(ds, 4)
        self.items(other, 1, prefix="o")
        self.psql("UPDATE items SET path = '/cars' WHERE id IN ('%s', '%s')" % (items[0], items[1]))
        self.assertEqual(self.enter(wf["id"], {"dataset_id": ds, "path": "/cars"}), {"count": 2})
        self.assertEqual(self.enter(wf["id"], {"dataset_id": ds, "path": "/cars"}), {"count": 0})  # entered once
        self.assertProblem(self.c.post("/api/v1/workflows/%s/enter" % wf["id"],
                                       json={"filters": {"dataset_id": other}}), 422, "filters.dataset_id")
        self.assertProblem(self.c.post("/api/v1/workflows/%s/enter" % wf["id"], json={"filters": {"path": "x"}}), 422,
                           "filters.path")
        self.assertProblem(self.c.post("/api/v1/workflows/%s/enter" % wf["id"], json={}), 422, "filters")
        tasks = self.tasks(wf["id"])
        self.assertEqual(set(tasks), set(items[:2]))
        self.assertEqual(set(tasks.values()), {("annotate", "new")})
        # History: created at the entry, then routed twice by the workflow.
        task_id = rows(self, "SELECT id FROM tasks WHERE item_id = '%s'" % items[0])[0][0]
        hist = self.c.get("/api/v1/tasks/" + task_id).json()["history"]
        self.assertEqual([(h["action"], h["from_stage"], h["from_state"], h["to_stage"], h["to_state"], h["port"],
                           h["actor_id"] is None) for h in hist],
                         [("created", None, None, "entry", "new", None, False),
                          ("route", "entry", "new", "sample", "new", "next", True),
                          ("route", "sample", "new", "annotate", "new", "sampled", True)])
        # ... stored as one row: the step that entered it, with the workflow's hops as its route.
        self.assertEqual(rows(self, "SELECT action, jsonb_array_length(route) FROM task_history "
                                    "WHERE task_id = '%s'" % task_id), [("created", "2")])
        ev = rows(self, "SELECT type, data ->> 'stage', data -> 'route' FROM events WHERE item_id = '%s' "
                  "AND type LIKE 'task.%%'" % items[0])
        self.assertEqual(ev, [("task.created", "annotate", '["entry", "sample", "annotate"]')])

        # The rest as a job (mode job), with progress and an audit row.
        r = self.c.post("/api/v1/workflows/%s/enter" % wf["id"], json={"filters": {"dataset_id": ds}, "mode": "job"})
        self.assertEqual(r.status, 202, r.text)
        self.assertEqual(r.json()["job"]["kind"], "workflow.enter")
        self.start_worker()
        job_id = r.json()["job"]["id"]

        def done():
            j = self.c.get("/api/v1/jobs/" + job_id).json()
            return j if j["status"] in ("succeeded", "failed") else None
        job = lh.wait_until(done, timeout=120, interval=0.1, message="job")
        self.assertEqual(job["status"], "succeeded", job)
        self.assertEqual(job["result"], {"workflow_id": wf["id"], "count": 2})
        self.assertEqual(set(self.tasks(wf["id"])), set(items))
        self.assertEqual(rows(self, "SELECT action FROM audit_log WHERE object_id = '%s' ORDER BY id" % wf["id"]),
                         [("workflow.create",), ("workflow.enter",), ("workflow.enter",), ("workflow.enter",)])

    def test_ready_items_moved_or_copied_in_enter(self):
        src, ds = self.dataset("Source"), self.dataset()
        wf = self.workflow([ds])
        moved, copied, waiting = self.items(src, 3)
        self.psql("UPDATE items SET status = 'ready' WHERE id IN ('%s', '%s')" % (moved, copied))
        self.assertEqual(rows(self, "SELECT count(*) FROM workflow_inbox"), [("0",)])  # src feeds nothing
        r = self.c.post("/api/v1/items/move", json={"filters": {"item_ids": [moved, waiting]}, "target_dataset_id": ds})
        self.assertEqual(r.status, 200, r.text)
        r = self.c.post("/api/v1/items/copy", json={"filters": {"item_ids": [copied]}, "target_dataset_id": ds})
        self.assertEqual(r.status, 200, r.text)
        copy = rows(self, "SELECT id FROM items WHERE dataset_id = '%s' AND name = 'i001.jpg'" % ds)[0][0]

        def entered():
            t = self.tasks(wf["id"])
            return t if len(t) == 2 else None
        t = lh.wait_until(entered, timeout=30, interval=0.1, message="the router")
        self.assertEqual(set(t), {moved, copy})  # the item that is not ready waits
        self.assertEqual(rows(self, "SELECT count(*) FROM workflow_inbox"), [("0",)])

    def test_items_list_filters_and_item_task(self):
        ds = self.dataset()
        wf = self.workflow([ds])
        items = self.items(ds, 3)
        self.enter(wf["id"], {"item_ids": items[:2]})
        self.psql("UPDATE tasks SET state = 'blocked', assignee_id = '%s' WHERE item_id = '%s'"
                  % (self.boot["user_id"], items[1]))

        def listed(**q):
            r = self.c.get("/api/v1/items", query=dict(q, dataset_id=ds))
            self.assertEqual(r.status, 200, r.text)
            return sorted(i["id"] for i in r.json()["items"])

        self.assertEqual(listed(stage="annotate"), sorted(items[:2]))
        self.assertEqual(listed(stage="annotate", state="blocked"), [items[1]])
        self.assertEqual(listed(assignee=self.boot["user_id"]), [items[1]])
        self.assertEqual(listed(stage="review"), [])
        self.assertProblem(self.c.get("/api/v1/items", query={"dataset_id": ds, "assignee": "me"}), 422, "assignee")
        task = self.c.get("/api/v1/items/" + items[1]).json()["task"]
        self.assertEqual((task["stage"], task["state"]), ("annotate", "blocked"))
        self.assertEqual(task["id"], rows(self, "SELECT id FROM tasks WHERE item_id = '%s'" % items[1])[0][0])
        self.assertIsNone(self.c.get("/api/v1/items/" + items[2]).json()["task"])


class ReadyEntryTest(mt.MediaTestCase):
    def test_uploaded_item_enters_when_ready(self):
        mt.require_tools("ffmpeg", purpose="to make the test image")
        c = self.start_stack()
        r = c.post("/api/v1/workflows", json=dict(definition(), name="W", dataset_ids=[self.dataset_id]))
        self.assertEqual(r.status, 201, r.text)
        wf = r.json()
        src = mt.two_band_jpeg(self.path("band.jpg"), 64, 48)
        item_id = self.make_item("band.jpg")
        self.assertIsNone(c.get("/api/v1/items/" + item_id).json()["task"])
        self.put_file(item_id, src, content_type="image/jpeg")
        self.assertEqual(self.wait_item(item_id)["status"], "ready")

        def task():
            return c.get("/api/v1/items/" + item_id).json()["task"]
        t = lh.wait_until(task, timeout=30, interval=0.1, message="the item's task")
        self.assertEqual((t["stage"], t["state"]), ("annotate", "new"))
        self.assertEqual(rows(self, "SELECT count(*) FROM workflow_inbox"), [("0",)])
        self.assertEqual(rows(self, "SELECT actor_id IS NULL FROM task_history WHERE action = 'created'"), [("t",)])
        board = c.get("/api/v1/workflows/%s/board" % wf["id"]).json()
        self.assertEqual(board["total"], 1)


class BoardStatsTest(WorkflowCase):
    def test_board_and_stats(self):
        ds = self.dataset()
        wf = self.workflow([ds], percent=50)
        items = self.items(ds, 20)
        self.enter(wf["id"], {"dataset_id": ds})
        tasks = self.tasks(wf["id"])
        sampled = sum(1 for s in tasks.values() if s[0] == "annotate")
        self.psql("UPDATE tasks SET state = 'new', assignee_id = '%s' WHERE item_id = '%s'"
                  % (self.boot["user_id"], [i for i in items if tasks[i][0] == "annotate"][0]))
        board = self.c.get("/api/v1/workflows/%s/board" % wf["id"])
        self.assertEqual(board.status, 200, board.text)
        b = board.json()
        by = {s["id"]: s for s in b["stages"]}
        self.assertEqual(b["total"], 20)
        self.assertEqual(by["annotate"]["count"], sampled)
        self.assertEqual(by["dropped"]["count"], 20 - sampled)
        self.assertEqual(by["review"]["count"], 0)
        self.assertEqual(by["annotate"]["states"], [{"state": "new", "count": sampled}])
        # Counts follow every change, set-based or not, and never go stale.
        self.psql("UPDATE tasks SET state = 'odd' WHERE stage = 'dropped'")
        b2 = {s["id"]: s for s in self.c.get("/api/v1/workflows/%s/board" % wf["id"]).json()["stages"]}
        self.assertEqual(b2["dropped"]["states"], [{"state": "new", "count": 0}, {"state": "odd", "count": 20 - sampled}])
        self.assertEqual(rows(self, "SELECT sum(count) FROM workflow_task_counts WHERE workflow_id = '%s'" % wf["id"]),
                         [("20",)])
        # The same share on every run: the sample follows the workflow's seed.
        seed_run = sorted(i for i, s in tasks.items() if s[0] == "annotate")
        self.psql("DELETE FROM tasks")
        self.enter(wf["id"], {"dataset_id": ds})
        self.assertEqual(sorted(i for i, s in self.tasks(wf["id"]).items() if s[0] == "annotate"), seed_run)

        # Stats from history rows: two submits by the owner, one approved and one rejected.
        user = self.boot["user_id"]
        t = rows(self, "SELECT id FROM tasks WHERE workflow_id = '%s' LIMIT 2" % wf["id"])
        for (tid,), verdict in zip(t, ("approve", "reject")):
            self.psql("INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, stage_entered_at, at) "
                      "VALUES ('%s', '%s', '%s', 'submit', '%s', now() - interval '10 seconds', now())"
                      % (tid, self.team, wf["id"], user))
            self.psql("INSERT INTO task_history (task_id, team_id, workflow_id, action, actor_id, subject_id) "
                      "VALUES ('%s', '%s', '%s', '%s', '%s', '%s')" % (tid, self.team, wf["id"], verdict, user, user))
        s = self.c.get("/api/v1/workflows/%s/stats" % wf["id"])
        self.assertEqual(s.status, 200, s.text)
        row = s.json()["annotators"][0]
        self.assertEqual((row["user_id"], row["submitted"], row["approved"], row["rejected"]), (user, 2, 1, 1))
        self.assertAlmostEqual(row["rejection_rate"], 0.5)
        self.assertAlmostEqual(row["median_time_in_stage_s"], 10.0, delta=1.0)
        self.assertIsNone(row["consensus_agreement"])
        empty = self.c.get("/api/v1/workflows/%s/stats" % wf["id"], query={"to": "2000-01-01"}).json()
        self.assertEqual(empty["annotators"], [])
        self.assertProblem(self.c.get("/api/v1/workflows/%s/stats" % wf["id"], query={"from": "yesterday"}), 400,
                           "from")


class AccessTest(WorkflowCase):
    def test_other_team_viewer_and_bad_ids(self):
        ds = self.dataset()
        wf = self.workflow([ds])
        path = "/api/v1/workflows/" + wf["id"]
        rival_boot = self.bootstrap(team="Rivals", email="rival@example.com")
        rival = self.d.client(api_key=rival_boot["api_key"])
        body = dict(definition(), name="Mine", dataset_ids=[ds])
        calls = [
            ("GET", path, None, {}),
            ("PUT", path, body, {"If-Match": '"1"'}),
            ("DELETE", path, None, {}),
            ("POST", path + "/enter", {"filters": {"dataset_id": ds}}, {}),
            ("GET", path + "/board", None, {}),
            ("GET", path + "/stats", None, {}),
        ]
        for method, p, b, h in calls:
            with self.subTest(method=method, path=p):
                kw = {"headers": h} if b is None else {"json": b, "headers": h}
                self.assertProblem(rival.request(method, p, **kw), 404)
        # Another team's dataset is not ours to attach.
        self.assertProblem(rival.post("/api/v1/workflows", json=body), 422, "dataset_ids[0]")
        self.assertEqual(rival.get("/api/v1/workflows").json()["workflows"], [])

        r = self.c.post("/api/v1/api-keys", json={"name": "viewer", "role": "viewer"})
        viewer = self.d.client(api_key=r.json()["key"])
        self.assertEqual(viewer.get(path).status, 200)
        self.assertEqual(viewer.get(path + "/board").status, 200)
        self.assertEqual(viewer.get(path + "/stats").status, 200)
        self.assertEqual(viewer.get("/api/v1/workflows").status, 200)
        writes = [c for c in calls if c[0] != "GET"] + [("POST", "/api/v1/workflows", body, {})]
        for method, p, b, h in writes:
            with self.subTest(viewer=method, path=p):
                kw = {"headers": h} if b is None else {"json": b, "headers": h}
                self.assertProblem(viewer.request(method, p, **kw), 403)
        for p in ("/api/v1/workflows/nope", "/api/v1/workflows/%s" % uuid.uuid4()):
            self.assertProblem(self.c.get(p), 404)
        self.assertProblem(self.c.get("/api/v1/workflows", query={"page[size]": "0"}), 400, "page[size]")
        self.assertEqual(self.c.get(path).json()["version"], 1)
