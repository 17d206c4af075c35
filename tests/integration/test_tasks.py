"""Tasks: claiming (concurrent claimers never share a task; lapsed claims open again; saving
annotations renews a claim), assignment, states, the review loop with history, consensus with
three annotators (agree and disagree), bulk changes by filter (inline and as a tasks.bulk job),
events, and every task route's answers to another team, a too-low role and bad input."""

# ctest-timeout: 900
import json
import threading
import time

import loupe_harness as lh

lh.require_services(binaries=("louped", "loupe-worker"))

# Cheap password hashes: the tests sign in many members.
FAST_KDF = {"kdf_memory_kib": 1024, "kdf_iterations": 1}
PASSWORD = "a long enough password"


def box(class_id, x, y, w=10, h=10):
    return {"class_id": class_id, "bounding_box": {"x": x, "y": y, "w": w, "h": h}}


class TaskCase(lh.LoupeTestCase):
    settings = None

    def setUp(self):
        super().setUp()
        settings = dict(FAST_KDF)
        settings.update(self.settings or {})
        self.start_team(settings)
        self.owner_id = self.boot["user_id"]
        self.ds = self.dataset("Scenes")
        self._members = 0

    # --- fixtures ---------------------------------------------------------------------------

    def dataset(self, name, client=None):
        r = (client or self.c).post("/api/v1/datasets", json={"name": name})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def member(self, role):
        """A new member with role: (user id, a signed-in client)."""
        self._members += 1
        email = "%s%d@example.com" % (role, self._members)
        r = self.c.post("/api/v1/teams/%s/members" % self.team, json={"email": email, "role": role})
        self.assertEqual(r.status, 202, r.text)
        r = self.d.client().post("/api/v1/invitations/accept", json={"token": r.json()["token"], "password": PASSWORD})
        self.assertEqual(r.status, 201, r.text)
        client = self.d.client()
        r = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        self.assertEqual(r.status, 200, r.text)
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return client.get("/api/v1/me").json()["user"]["id"], client

    def make_class(self, name):
        r = self.c.post("/api/v1/classes", json={"name": name, "annotation_types": ["bounding_box", "tag"]})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def items(self, n, dataset=None):
        """n items with one 100x100 image slot (no file), registered straight in SQL; their ids in
        creation order."""
        ds = dataset or self.ds
        self.psql("INSERT INTO items (team_id, dataset_id, name, created_at) SELECT '%s', '%s', 'i' || g || '.jpg', "
                  "now() + g * interval '1 millisecond' FROM generate_series(1, %d) g" % (self.team, ds, n))
        self.psql("INSERT INTO slots (item_id, name, type, width, height, position) SELECT id, '0', 'image', 100, 100, 0 "
                  "FROM items WHERE dataset_id = '%s' AND NOT EXISTS (SELECT 1 FROM slots s WHERE s.item_id = items.id)"
                  % ds)
        return [r[0] for r in self.query("SELECT id FROM items WHERE dataset_id = '%s' ORDER BY created_at, id" % ds)]

    def workflow(self, stages, edges, datasets=None, name="Line"):
        r = self.c.post("/api/v1/workflows", json={"name": name, "dataset_ids": datasets or [self.ds],
                                                   "stages": stages, "edges": edges})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def enter(self, wf, dataset=None):
        r = self.c.post("/api/v1/workflows/%s/enter" % wf, json={"filters": {"dataset_id": dataset or self.ds}})
        self.assertIn(r.status, (200, 202), r.text)
        return r

    def simple_workflow(self, annotate_config=None):
        """in → label (annotate) → done."""
        return self.workflow(
            [{"id": "in", "type": "dataset"},
             {"id": "label", "type": "annotate",
              "config": annotate_config or {"assignees": "any", "states": ["new", "in_progress", "blocked"]}},
             {"id": "done", "type": "complete"}],
            [{"from": "in", "port": "next", "to": "label"}, {"from": "label", "port": "done", "to": "done"}])

    def next(self, client, wf, stage, status=None):
        r = client.post("/api/v1/workflows/%s/stages/%s/next" % (wf, stage))
        if status is not None:
            self.assertEqual(r.status, status, r.text)
        return r

    def task(self, task_id, client=None):
        r = (client or self.c).get("/api/v1/tasks/" + task_id)
        self.assertEqual(r.status, 200, r.text)
        return r.json()

    def task_of(self, item_id):
        rows = self.query("SELECT id FROM tasks WHERE item_id = '%s'" % item_id)
        self.assertEqual(len(rows), 1, "item %s has no task" % item_id)
        return rows[0][0]

    def act(self, client, task_id, action, body=None, status=200):
        kw = {} if body is None else {"json": body}
        r = client.post("/api/v1/tasks/%s/%s" % (task_id, action), **kw)
        self.assertEqual(r.status, status, r.text)
        return r.json() if r.body else None

    def events(self, task_id, type_):
        return [json.loads(r[0]) if isinstance(r[0], str) else r[0]
                for r in self.query("SELECT data::text FROM events WHERE task_id = '%s' AND type = '%s' ORDER BY seq"
                                    % (task_id, type_))]


class ClaimTest(TaskCase):
    def test_twenty_concurrent_claimers_never_share_a_task(self):
        wf = self.simple_workflow()
        ids = self.items(1000)
        r = self.enter(wf)
        self.assertEqual(self.query("SELECT count(*) FROM tasks WHERE stage = 'label'")[0][0], "1000")
        claimers = [self.member("annotator") for _ in range(20)]
        got, errors, lock = {}, [], threading.Lock()

        def work(user_id, client):
            try:
                while True:
                    r = client.post("/api/v1/workflows/%s/stages/label/next" % wf)
                    if r.status == 204:
                        return
                    if r.status != 200:
                        raise AssertionError("next: %d %s" % (r.status, r.text))
                    t = r.json()
                    if t["assignee_id"] != user_id:
                        raise AssertionError("claimed for %s, not %s" % (t["assignee_id"], user_id))
                    with lock:
                        got.setdefault(t["id"], []).append(user_id)
                    r = client.post("/api/v1/tasks/%s/submit" % t["id"])
                    if r.status != 200:
                        raise AssertionError("submit: %d %s" % (r.status, r.text))
            except Exception as e:  # reported by the main thread
                errors.append(e)

        threads = [threading.Thread(target=work, args=c) for c in claimers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(got), 1000)
        self.assertEqual([t for t, users in got.items() if len(users) != 1], [])
        self.assertEqual(sorted(self.task_of(i) for i in ids), sorted(got))
        # Every task was claimed exactly once (history) and is done.
        self.assertEqual(self.query("SELECT count(*) FROM task_history WHERE action = 'claim' GROUP BY task_id "
                                    "HAVING count(*) <> 1"), [])
        self.assertEqual(self.query("SELECT stage, count(*) FROM tasks GROUP BY stage"), [["done", "1000"]])
        # More than one claimer took part.
        self.assertGreater(len({u for users in got.values() for u in users}), 1)

    def test_priority_order_own_claim_first_and_open_limit(self):
        wf = self.simple_workflow({"assignees": "any", "max_open_tasks": 2})
        ids = self.items(5)
        self.psql("UPDATE items SET priority = 5 WHERE id = '%s'" % ids[2])
        self.enter(wf)
        # enter copies the item's priority onto its task
        self.psql("UPDATE tasks SET priority = i.priority FROM items i WHERE i.id = tasks.item_id")
        uid, ann = self.member("annotator")
        first = self.next(ann, wf, "label", 200).json()
        self.assertEqual(first["item_id"], ids[2])  # highest priority
        self.assertEqual(first["assignee_id"], uid)
        self.assertIsNotNone(first["claim_expires_at"])
        # Asking again gives the same task back (a retry never takes a second one).
        again = self.next(ann, wf, "label", 200).json()
        self.assertEqual(again["id"], first["id"])
        self.assertEqual(len(self.events(first["id"], "task.assigned")), 1)
        # A manager's assignment counts towards max_open_tasks (2): with one claim and one
        # assignment the annotator gets no third task.
        t1 = self.task_of(ids[0])
        self.act(self.c, t1, "assign", {"user_id": uid})
        self.act(ann, first["id"], "submit")
        second = self.next(ann, wf, "label", 200).json()
        self.assertEqual(second["item_id"], ids[1])  # oldest after the assigned one
        # With a second assignment the annotator holds two tasks (and no claim to give back): 409.
        self.act(ann, second["id"], "submit")
        self.act(self.c, self.task_of(ids[3]), "assign", {"user_id": uid})
        self.assertProblem(self.next(ann, wf, "label"), 409)
        self.assertEqual(self.query("SELECT count(*) FROM tasks WHERE stage = 'label' AND assignee_id IS NULL"),
                         [["1"]])  # one is still open: the limit, not an empty stage, says no
        # The assignment never lapses.
        t = self.task(t1)
        self.assertEqual(t["assignee_id"], uid)
        self.assertIsNone(t["claim_expires_at"])


class ExpiryTest(TaskCase):
    settings = {"task_claim_ttl": "1s"}

    def test_lapsed_claim_opens_again_and_saving_renews(self):
        wf = self.simple_workflow()
        cls = self.make_class("car")
        ids = self.items(1)
        self.enter(wf)
        a_id, a = self.member("annotator")
        b_id, b = self.member("annotator")
        t = self.next(a, wf, "label", 200).json()
        self.assertEqual(t["item_id"], ids[0])
        # B finds nothing open while A holds it.
        self.next(b, wf, "label", 204)
        # Saving annotations on the item renews A's claim.
        before = t["claim_expires_at"]
        time.sleep(0.3)
        r = a.post("/api/v1/items/%s/annotations/batch" % ids[0], json={"create": [box(cls, 1, 1)]})
        self.assertEqual(r.status, 200, r.text)
        after = self.task(t["id"])["claim_expires_at"]
        self.assertGreater(after, before)
        # Someone else's save renews nothing.
        r = self.c.post("/api/v1/items/%s/annotations/batch" % ids[0], json={"create": [box(cls, 5, 5)]})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.task(t["id"])["claim_expires_at"], after)
        # Without activity the claim lapses: the task is open again, and B claims it.
        got = lh.wait_until(lambda: (lambda r: r.json() if r.status == 200 else None)(self.next(b, wf, "label")),
                            timeout=10, interval=0.2, message="the lapsed claim to open")
        self.assertEqual(got["id"], t["id"])
        self.assertEqual(got["assignee_id"], b_id)
        # A no longer holds it: A may not submit it or change its state.
        self.assertProblem(a.post("/api/v1/tasks/%s/submit" % t["id"]), 403)
        self.assertProblem(a.post("/api/v1/tasks/%s/state" % t["id"], json={"state": "blocked"}), 403)
        claims = [h for h in self.task(t["id"])["history"] if h["action"] == "claim"]
        self.assertEqual([h["actor_id"] for h in claims], [a_id, b_id])


class FlowTest(TaskCase):
    def test_sampling_annotate_review_logic_complete_with_history(self):
        car, person = self.make_class("car"), self.make_class("person")
        wf = self.workflow(
            [{"id": "in", "type": "dataset"},
             {"id": "sample", "type": "sampling", "config": {"percent": 30}},
             {"id": "label", "type": "annotate", "config": {"assignees": "any"}},
             {"id": "check", "type": "review"},
             {"id": "route", "type": "logic", "config": {"rules": [{"name": "cars", "when": {"class_present": car}}]}},
             {"id": "cars_done", "type": "complete"},
             {"id": "other_done", "type": "complete"},
             {"id": "skip", "type": "discard"}],
            [{"from": "in", "port": "next", "to": "sample"},
             {"from": "sample", "port": "sampled", "to": "label"},
             {"from": "sample", "port": "rest", "to": "skip"},
             {"from": "label", "port": "done", "to": "check"},
             {"from": "check", "port": "approve", "to": "route"},
             {"from": "check", "port": "reject", "to": "label"},
             {"from": "route", "port": "cars", "to": "cars_done"},
             {"from": "route", "port": "default", "to": "other_done"}])
        ids = self.items(40)
        self.enter(wf)
        stages = dict(self.query("SELECT stage, count(*) FROM tasks GROUP BY stage"))
        self.assertEqual(set(stages), {"label", "skip"})
        self.assertGreater(int(stages["label"]), 0)
        ann_id, ann = self.member("annotator")
        rev_id, rev = self.member("reviewer")

        def annotate_and_submit(cls):
            t = self.next(ann, wf, "label", 200).json()
            r = ann.post("/api/v1/items/%s/annotations/batch" % t["item_id"], json={"create": [box(cls, 1, 1)]})
            self.assertEqual(r.status, 200, r.text)
            self.act(ann, t["id"], "state", {"state": "new"})  # no change: no history row
            return self.act(ann, t["id"], "submit")

        # The first task: rejected once with a comment, then approved; it has a car.
        t = annotate_and_submit(car)
        self.assertEqual(t["stage"], "check")
        self.assertIsNone(t["assignee_id"])
        # An annotator may not review; the reviewer claims the review task.
        self.assertProblem(ann.post("/api/v1/tasks/%s/approve" % t["id"]), 403)
        self.assertProblem(self.next(ann, wf, "check"), 403)
        self.assertEqual(self.next(rev, wf, "check", 200).json()["id"], t["id"])
        self.assertProblem(rev.post("/api/v1/tasks/%s/reject" % t["id"], json={}), 422, "comment")
        t = self.act(rev, t["id"], "reject", {"comment": "the car's box is too loose"})
        self.assertEqual(t["stage"], "label")
        again = self.next(ann, wf, "label", 200).json()
        self.assertEqual(again["id"], t["id"])  # the oldest open task again
        t = self.act(ann, t["id"], "submit")
        self.assertEqual(self.next(rev, wf, "check", 200).json()["id"], t["id"])
        t = self.act(rev, t["id"], "approve", {"comment": "good"})
        self.assertEqual(t["stage"], "cars_done")

        steps = [(h["action"], h["actor_id"], h["from_stage"], h["to_stage"], h["port"], h["comment"])
                 for h in self.task(t["id"])["history"]]
        self.assertEqual(steps[0][0], "created")
        want = [
            ("claim", ann_id, "label", None, None, None),
            ("submit", ann_id, "label", "check", "done", None),
            ("claim", rev_id, "check", None, None, None),
            ("reject", rev_id, "check", "label", "reject", "the car's box is too loose"),
            ("claim", ann_id, "label", None, None, None),
            ("submit", ann_id, "label", "check", "done", None),
            ("claim", rev_id, "check", None, None, None),
            ("approve", rev_id, "check", "route", "approve", "good"),
            ("route", None, "route", "cars_done", "cars", None),
        ]
        self.assertEqual(steps[-len(want):], want)
        hist = self.task(t["id"])["history"]
        self.assertEqual([h["subject_id"] for h in hist if h["action"] in ("approve", "reject")], [ann_id, ann_id])
        # Entered through sampling: the route from the dataset stage is in the history too.
        self.assertIn(("route", None, "sample", "label", "sampled", None), steps)

        # A second task with a person only goes to the default port.
        t2 = annotate_and_submit(person)
        self.next(rev, wf, "check", 200)
        self.assertEqual(self.act(rev, t2["id"], "approve")["stage"], "other_done")
        # Events of the first task: stage changes and assignments, in order.
        changes = [(e["from_stage"], e["to_stage"]) for e in self.events(t["id"], "task.stage_changed")]
        self.assertIn(("check", "label"), changes)
        self.assertEqual(self.events(t["id"], "task.assigned")[0], {"assignee_id": ann_id, "stage": "label"})
        self.assertEqual(len(ids), 40)


class ConsensusTest(TaskCase):
    def test_three_annotators_agree_and_disagree(self):
        cls = self.make_class("car")
        wf = self.workflow(
            [{"id": "in", "type": "dataset"},
             {"id": "triple", "type": "consensus", "config": {"annotators": 3, "iou_threshold": 0.5}},
             {"id": "check", "type": "review"},
             {"id": "done", "type": "complete"}],
            [{"from": "in", "port": "next", "to": "triple"},
             {"from": "triple", "port": "agree", "to": "done"},
             {"from": "triple", "port": "disagree", "to": "check"},
             {"from": "check", "port": "approve", "to": "done"},
             {"from": "check", "port": "reject", "to": "triple"}])
        ids = self.items(2)
        self.enter(wf)
        people = [self.member("annotator") for _ in range(4)]
        # The first item: the three annotators agree.
        seats = [self.next(c, wf, "triple", 200).json() for _, c in people[:3]]
        self.assertEqual({s["item_id"] for s in seats}, {ids[0]})
        self.assertIsNone(seats[0]["assignee_id"])  # seats are not the task's assignee
        # Three seats are taken: the fourth annotator gets the second item.
        fourth = self.next(people[3][1], wf, "triple", 200).json()
        self.assertEqual(fourth["item_id"], ids[1])
        t0 = seats[0]["id"]
        # Work is validated like the annotation batch (field named), and kept apart from the item.
        self.assertProblem(people[0][1].post("/api/v1/tasks/%s/submit" % t0,
                                             json={"annotations": [{"class_id": cls, "bounding_box": {"x": 1}}]}),
                           422, "annotations[0].bounding_box.y")
        self.assertProblem(people[0][1].post("/api/v1/tasks/%s/submit" % t0, json={"annotation": []}), 422,
                           "annotation")
        works = [[box(cls, 10, 10, 20, 20)], [box(cls, 11, 10, 20, 20)], [box(cls, 10, 11, 20, 20)]]
        for (uid, c), work in zip(people[:2], works):
            t = self.act(c, t0, "submit", {"annotations": work})
            self.assertEqual(t["stage"], "triple")
        self.assertEqual(self.query("SELECT annotation_count FROM items WHERE id = '%s'" % ids[0]), [["0"]])
        # The one without a seat may not submit.
        self.assertProblem(people[3][1].post("/api/v1/tasks/%s/submit" % t0, json={"annotations": works[0]}), 409)
        t = self.act(people[2][1], t0, "submit", {"annotations": works[2]})
        self.assertEqual(t["stage"], "done")
        detail = self.task(t0)
        self.assertEqual(len(detail["consensus"]), 3)
        for seat in detail["consensus"]:
            self.assertEqual(seat["agreement"], 1.0)
            self.assertEqual(len(seat["annotations"]), 1)
        # The best annotator's work became the item's annotations.
        anns = self.c.get("/api/v1/items/%s/annotations" % ids[0]).json()["annotations"]
        self.assertEqual(len(anns), 1)
        self.assertEqual(anns[0]["bounding_box"], works[0][0]["bounding_box"])
        self.assertEqual([h["port"] for h in detail["history"] if h["action"] == "consensus"], ["agree"])

        # The second item: they disagree (one draws nothing), so it goes to review with every version.
        t1 = fourth["id"]
        for uid, c in people[:2]:
            self.assertEqual(self.next(c, wf, "triple", 200).json()["id"], t1)
        self.act(people[3][1], t1, "submit", {"annotations": [box(cls, 10, 10)]})
        self.act(people[0][1], t1, "submit", {"annotations": [box(cls, 50, 50)]})
        t = self.act(people[1][1], t1, "submit", {"annotations": []})
        self.assertEqual(t["stage"], "check")
        detail = self.task(t1)
        self.assertEqual(sorted(s["user_id"] for s in detail["consensus"]),
                         sorted([people[3][0], people[0][0], people[1][0]]))
        self.assertTrue(all(s["agreement"] < 1.0 for s in detail["consensus"]))
        self.assertEqual([h["port"] for h in detail["history"] if h["action"] == "consensus"], ["disagree"])
        self.assertEqual(self.query("SELECT annotation_count FROM items WHERE id = '%s'" % ids[1]), [["0"]])


class BulkAndStateTest(TaskCase):
    def test_state_assign_unassign_bulk_and_events(self):
        wf = self.simple_workflow()
        ids = self.items(30)
        self.enter(wf)
        uid, ann = self.member("annotator")
        t = self.next(ann, wf, "label", 200).json()
        t2 = self.act(ann, t["id"], "state", {"state": "in_progress"})
        self.assertEqual(t2["state"], "in_progress")
        self.assertEqual(self.events(t["id"], "task.state_changed"),
                         [{"stage": "label", "from_state": "new", "to_state": "in_progress"}])
        self.assertProblem(ann.post("/api/v1/tasks/%s/state" % t["id"], json={"state": "done"}), 422, "state")
        # unassign and assign (manager)
        t3 = self.act(self.c, t["id"], "unassign")
        self.assertIsNone(t3["assignee_id"])
        self.assertEqual(self.events(t["id"], "task.assigned")[-1], {"assignee_id": None, "stage": "label"})
        # bulk: set_state on the stage, assign, send_to_stage
        r = self.c.post("/api/v1/tasks/bulk", json={"filters": {"workflow_id": wf, "stage": "label"},
                                                    "action": "set_state", "state": "blocked"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json(), {"count": 30})
        self.assertEqual(self.query("SELECT state, count(*) FROM tasks GROUP BY state"), [["blocked", "30"]])
        some = [self.task_of(i) for i in ids[:5]]
        r = self.c.post("/api/v1/tasks/bulk", json={"filters": {"workflow_id": wf, "task_ids": some},
                                                    "action": "assign", "user_id": uid})
        self.assertEqual(r.json(), {"count": 5})
        self.assertEqual(self.query("SELECT count(*) FROM tasks WHERE assignee_id = '%s' AND claim_expires_at IS NULL"
                                    % uid), [["5"]])
        r = self.c.post("/api/v1/tasks/bulk", json={"filters": {"workflow_id": wf, "assignee_id": uid},
                                                    "action": "send_to_stage", "stage": "done"})
        self.assertEqual(r.json(), {"count": 5})
        for task_id in some:
            t = self.task(task_id)
            self.assertEqual((t["stage"], t["state"], t["assignee_id"]), ("done", "new", None))
            self.assertEqual(t["history"][-1]["action"], "move")
            self.assertEqual(self.events(task_id, "task.stage_changed")[-1]["to_stage"], "done")
        # As a job, with progress and an audit row.
        self.start_worker(FAST_KDF)
        r = self.c.post("/api/v1/tasks/bulk", json={"filters": {"workflow_id": wf, "stage": "label"},
                                                    "action": "set_state", "state": "new", "mode": "job"})
        self.assertEqual(r.status, 202, r.text)
        job_id = r.json()["job"]["id"]
        self.assertEqual(r.json()["job"]["kind"], "tasks.bulk")

        def done():
            j = self.c.get("/api/v1/jobs/" + job_id).json()
            return j if j["status"] in ("succeeded", "failed", "cancelled") else None
        j = lh.wait_until(done, timeout=120, interval=0.1, message="job " + job_id)
        self.assertEqual(j["status"], "succeeded", j)
        self.assertEqual(j["result"], {"action": "set_state", "count": 25})
        self.assertEqual(self.query("SELECT state, count(*) FROM tasks WHERE stage = 'label' GROUP BY state"),
                         [["new", "25"]])
        self.assertEqual(self.query("SELECT count(*) FROM audit_log WHERE action = 'tasks.bulk'"), [["4"]])


    def test_a_deleted_user_leaves_its_tasks_open(self):
        wf = self.simple_workflow()
        self.items(3)
        self.enter(wf)
        uid, ann = self.member("annotator")
        claimed = self.next(ann, wf, "label", 200).json()["id"]
        assigned = [t for (t,) in self.query("SELECT id FROM tasks WHERE id <> '%s' ORDER BY id LIMIT 1" % claimed)][0]
        self.act(self.c, assigned, "assign", {"user_id": uid})
        self.assertEqual(self.query("SELECT count(*) FROM tasks WHERE assignee_id = '%s'" % uid), [["2"]])
        # Users are not deleted through the API; a user deleted in the database unassigns its tasks
        # (migrations/0020: a statement trigger instead of a foreign key).
        self.psql("DELETE FROM users WHERE id = '%s'" % uid)
        self.assertEqual(self.query("SELECT count(*) FROM tasks WHERE assignee_id IS NOT NULL "
                                    "OR claim_expires_at IS NOT NULL"), [["0"]])
        _, other = self.member("annotator")
        got = []
        for _ in range(3):
            got.append(self.next(other, wf, "label", 200).json()["id"])
            self.act(other, got[-1], "submit")
        self.assertEqual(sorted(got), sorted(t for (t,) in self.query("SELECT id FROM tasks")))
        self.assertIn(claimed, got)
        self.assertIn(assigned, got)

class ItemListTest(TaskCase):
    def test_the_item_list_carries_each_item_task(self):
        """GET /items answers each item's task (stage and state) or null, and filters by them."""
        wf = self.simple_workflow()
        ids = self.items(3)
        self.enter(wf)
        other = self.dataset("Elsewhere")
        lone = self.items(1, dataset=other)[0]
        tid = self.task_of(ids[1])
        self.act(self.c, tid, "state", {"state": "blocked"})
        r = self.c.get("/api/v1/items", query={"dataset_id": self.ds, "sort": "created", "page[size]": "2"})
        self.assertEqual(r.status, 200, r.text)
        page = r.json()
        self.assertEqual([i["task"]["stage"] for i in page["items"]], ["label", "label"])
        self.assertEqual([i["task"]["state"] for i in page["items"]], ["new", "blocked"])
        self.assertEqual(page["items"][1]["task"], {"id": tid, "workflow_id": wf, "stage": "label", "state": "blocked"})
        rest = self.c.get(page["next"]).json()["items"]
        self.assertEqual([i["id"] for i in rest], [ids[2]])
        self.assertEqual(rest[0]["task"]["id"], self.task_of(ids[2]))
        r = self.c.get("/api/v1/items", query={"dataset_id": self.ds, "stage": "label", "state": "blocked"})
        self.assertEqual([i["id"] for i in r.json()["items"]], [ids[1]])
        r = self.c.get("/api/v1/items", query={"dataset_id": other})
        self.assertEqual([(i["id"], i["task"]) for i in r.json()["items"]], [(lone, None)])


class AccessTest(TaskCase):
    def test_other_team_roles_and_bad_input(self):
        wf = self.workflow(
            [{"id": "in", "type": "dataset"},
             {"id": "label", "type": "annotate", "config": {"assignees": "any"}},
             {"id": "check", "type": "review"},
             {"id": "hook", "type": "webhook", "config": {"wait": True}},
             {"id": "done", "type": "complete"}],
            [{"from": "in", "port": "next", "to": "label"}, {"from": "label", "port": "done", "to": "check"},
             {"from": "check", "port": "approve", "to": "hook"}, {"from": "check", "port": "reject", "to": "label"},
             {"from": "hook", "port": "next", "to": "done"}])
        ids = self.items(3)
        self.enter(wf)
        task_id = self.task_of(ids[0])
        rival_boot = self.bootstrap(team="Rivals", email="rival@example.com")
        rival = self.d.client(api_key=rival_boot["api_key"])
        calls = [
            ("GET", "/api/v1/tasks/" + task_id, None),
            ("POST", "/api/v1/workflows/%s/stages/label/next" % wf, None),
            ("POST", "/api/v1/tasks/%s/assign" % task_id, {"user_id": rival_boot["user_id"]}),
            ("POST", "/api/v1/tasks/%s/unassign" % task_id, None),
            ("POST", "/api/v1/tasks/%s/submit" % task_id, None),
            ("POST", "/api/v1/tasks/%s/approve" % task_id, None),
            ("POST", "/api/v1/tasks/%s/reject" % task_id, {"comment": "no"}),
            ("POST", "/api/v1/tasks/%s/state" % task_id, {"state": "new"}),
            ("POST", "/api/v1/tasks/%s/continue" % task_id, None),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": wf}, "action": "set_state", "state": "new"}),
        ]
        for method, path, body in calls:
            with self.subTest(team="other", method=method, path=path):
                kw = {} if body is None else {"json": body}
                self.assertProblem(rival.request(method, path, **kw), 404)
        self.assertLessEqual({h["action"] for h in self.task(task_id)["history"]}, {"created", "route"})

        # Roles: a viewer claims nothing; an annotator neither assigns, reviews, continues nor bulks.
        keys = {}
        for role in ("viewer", "annotator"):
            r = self.c.post("/api/v1/api-keys", json={"name": role, "role": role})
            self.assertEqual(r.status, 201, r.text)
            keys[role] = self.d.client(api_key=r.json()["key"])
        viewer, annotator = keys["viewer"], keys["annotator"]
        self.assertEqual(viewer.get("/api/v1/tasks/" + task_id).status, 200)
        for client, method, path, body in [
            (viewer, "POST", "/api/v1/workflows/%s/stages/label/next" % wf, None),
            (viewer, "POST", "/api/v1/tasks/%s/submit" % task_id, None),
            (viewer, "POST", "/api/v1/tasks/%s/state" % task_id, {"state": "new"}),
            (annotator, "POST", "/api/v1/tasks/%s/assign" % task_id, {"user_id": self.owner_id}),
            (annotator, "POST", "/api/v1/tasks/%s/unassign" % task_id, None),
            (annotator, "POST", "/api/v1/tasks/%s/approve" % task_id, None),
            (annotator, "POST", "/api/v1/tasks/%s/reject" % task_id, {"comment": "x"}),
            (annotator, "POST", "/api/v1/tasks/%s/continue" % task_id, None),
            (annotator, "POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": wf}, "action": "assign",
                                                      "user_id": None}),
            (annotator, "POST", "/api/v1/workflows/%s/stages/check/next" % wf, None),
            # not the holder
            (annotator, "POST", "/api/v1/tasks/%s/submit" % task_id, None),
            (annotator, "POST", "/api/v1/tasks/%s/state" % task_id, {"state": "new"}),
        ]:
            with self.subTest(method=method, path=path):
                kw = {} if body is None else {"json": body}
                self.assertProblem(client.request(method, path, **kw), 403)

        # Bad input names the field.
        viewer_id, _ = self.member("viewer")
        for method, path, body, status, field in [
            ("POST", "/api/v1/tasks/%s/assign" % task_id, {"user_id": "nope"}, 422, "user_id"),
            ("POST", "/api/v1/tasks/%s/assign" % task_id, {}, 422, "user_id"),
            ("POST", "/api/v1/tasks/%s/assign" % task_id, {"user_id": rival_boot["user_id"]}, 422, "user_id"),
            ("POST", "/api/v1/tasks/%s/assign" % task_id, {"user_id": viewer_id}, 422, "user_id"),
            ("POST", "/api/v1/tasks/%s/assign" % task_id, {"user_id": self.owner_id, "x": 1}, 422, "x"),
            ("POST", "/api/v1/tasks/%s/state" % task_id, {"state": "flying"}, 422, "state"),
            ("POST", "/api/v1/tasks/%s/state" % task_id, {"state": 3}, 422, "state"),
            ("POST", "/api/v1/tasks/%s/reject" % task_id, {"comment": ""}, 422, "comment"),
            ("POST", "/api/v1/tasks/bulk", {"action": "assign", "user_id": None}, 422, "filters"),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": wf}, "action": "paint"}, 422, "action"),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": "x"}, "action": "assign"}, 422,
             "filters.workflow_id"),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": wf, "colour": 1}, "action": "assign",
                                            "user_id": None}, 422, "filters.colour"),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": wf, "task_ids": ["x"]}, "action": "assign",
                                            "user_id": None}, 422, "filters.task_ids[0]"),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": wf}, "action": "set_state", "state": "new"},
             422, "filters.stage"),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": wf, "stage": "nope"}, "action": "set_state",
                                            "state": "new"}, 422, "filters.stage"),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": wf}, "action": "send_to_stage",
                                            "stage": "in"}, 422, "stage"),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": wf}, "action": "send_to_stage"}, 422, "stage"),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": wf}, "action": "assign"}, 422, "user_id"),
            ("POST", "/api/v1/tasks/bulk", {"filters": {"workflow_id": rival_boot["team_id"]}, "action": "assign",
                                            "user_id": None}, 404, "filters.workflow_id"),
            ("POST", "/api/v1/workflows/%s/stages/in/next" % wf, None, 422, "stage"),
        ]:
            with self.subTest(path=path, body=body):
                kw = {} if body is None else {"json": body}
                self.assertProblem(self.c.request(method, path, **kw), status, field)
        self.assertProblem(self.c.post("/api/v1/workflows/%s/stages/nope/next" % wf), 404)
        self.assertProblem(self.c.get("/api/v1/tasks/not-a-uuid"), 404)
        r = self.c.post("/api/v1/tasks/%s/state" % task_id, data=b"{", headers={"Content-Type": "application/json"})
        self.assertProblem(r, 400)

        # Wrong stage: 409 naming the stage the task is in.
        for action, body in [("approve", None), ("reject", {"comment": "no"}), ("continue", None)]:
            with self.subTest(action=action):
                kw = {} if body is None else {"json": body}
                p = self.assertProblem(self.c.post("/api/v1/tasks/%s/%s" % (task_id, action), **kw), 409, "stage")
                self.assertIn('stage "label"', p["detail"])
        t = self.act(self.c, task_id, "submit")  # a manager may submit
        self.assertEqual(t["stage"], "check")
        self.assertProblem(self.c.post("/api/v1/tasks/%s/submit" % task_id), 409, "stage")
        t = self.act(self.c, task_id, "approve")
        self.assertEqual(t["stage"], "hook")
        self.assertEqual(self.events(task_id, "task.webhook"), [{"stage": "hook", "wait": True}])
        t = self.act(self.c, task_id, "continue")
        self.assertEqual(t["stage"], "done")
        self.assertEqual(self.events(task_id, "task.completed"), [{"stage": "done", "outcome": "complete"}])


if __name__ == "__main__":
    import unittest
    unittest.main()
