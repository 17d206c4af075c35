"""Workflow model stages and hard-example mining, with BlazeFace run by loupe-worker.

A workflow dataset → model → annotate: the tasks that enter together start one models.run job over
their items; once its predictions are stored the tasks reach the annotate stage (history "model"),
once, also when the worker is killed mid-run; a run that fails keeps its tasks on the stage with the
run's error shown, and a manager may send them on. Bad model stages are refused naming the field.
Disagreement of a run with hand-made annotations (1 − F1 at IoU 0.5: matched, missed, extra), the
items list filter disagreement[gte], stale values after annotation changes, and sending the top
disagreements to a review stage; roles and teams on both routes. The model files come from the fixture
integration/model_files_setup (tests/integration/models/install.sh)."""
# ctest-fixtures: model_files
# ctest-timeout: 400

import json
import unittest

import loupe_harness as lh
import test_models_infer as mi

lh.require_services(binaries=("louped", "loupe-worker"))

NO_ID = "00000000-0000-4000-8000-000000000000"
# A box far from the face (no prediction there) and the face itself, drawn by hand.
ELSEWHERE = {"x": 20, "y": 300, "w": 60, "h": 60}
GREY_BOX = {"x": 20, "y": 20, "w": 60, "h": 60}  # inside the 320 × 240 grey image


def model_workflow(model_id, dataset_id, **config):
    cfg = {"model_id": model_id}
    cfg.update(config)
    return {"name": "Faces", "dataset_ids": [dataset_id],
            "stages": [{"id": "in", "type": "dataset"},
                       {"id": "detect", "type": "model", "config": cfg},
                       {"id": "label", "type": "annotate", "config": {"assignees": "any"}},
                       {"id": "check", "type": "review"},
                       {"id": "done", "type": "complete"}],
            "edges": [{"from": "in", "port": "next", "to": "detect"},
                      {"from": "detect", "port": "done", "to": "label"},
                      {"from": "label", "port": "done", "to": "check"},
                      {"from": "check", "port": "approve", "to": "done"},
                      {"from": "check", "port": "reject", "to": "label"}]}


class ModelStageTest(mi.ImageItems, lh.LoupeTestCase):
    # the inference tests' helpers (plain methods of theirs, without their tests)
    worker = mi.ModelsInferTest.worker
    model = mi.ModelsInferTest.model
    run_job = mi.ModelsInferTest.run_job

    def setUp(self):
        super().setUp()
        self.start_model_team("Crew")
        self.face = self.c.post("/api/v1/classes", json={"name": "Face", "annotation_types": ["bounding_box"]}).json()
        with open(mi.ASTRONAUT, "rb") as f:
            self.photo = f.read()

    def workflow(self, model_id, **config):
        r = self.c.post("/api/v1/workflows", json=model_workflow(model_id, self.ds["id"], **config))
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def enter(self, wf_id):
        r = self.c.post("/api/v1/workflows/%s/enter" % wf_id, json={"filters": {"dataset_id": self.ds["id"]}})
        self.assertEqual(r.status, 200, r.text)
        return r.json()["count"]

    def stages(self, wf_id):
        return dict(self.query("SELECT item_id, stage FROM tasks WHERE workflow_id = '%s'" % wf_id))

    def wait_stage(self, wf_id, items, stage, timeout=120):
        lh.wait_until(lambda: all(self.stages(wf_id).get(i) == stage for i in items), timeout=timeout, interval=0.2,
                      message="the tasks to reach %s" % stage)

    def box(self, item_id, *boxes):
        r = self.c.post("/api/v1/items/%s/annotations/batch" % item_id,
                        json={"create": [{"class_id": self.face["id"], "slot": "0", "bounding_box": b}
                                         for b in boxes]})
        self.assertEqual(r.status, 200, r.text)
        return r.json()["created"]

    def test_tasks_reach_annotate_with_predictions_stored(self):
        media = self.worker(worker_queues="system,media")  # no model runs yet
        astronaut = self.item("astronaut.png", self.photo)
        grey = self.item("grey.png", mi.grey_png(320, 240))
        self.wait_ready(astronaut)
        self.wait_ready(grey)
        m = self.model()
        wf = self.workflow(m["id"])
        self.assertEqual(self.enter(wf), 2)
        # No worker yet: the tasks wait on the model stage, one run for the two of them.
        self.assertEqual(self.stages(wf), {astronaut: "detect", grey: "detect"})
        jobs = self.query("SELECT id, kind, payload -> 'stage' ->> 'stage_id', "
                          "jsonb_array_length(payload -> 'filters' -> 'item_ids') FROM jobs WHERE kind LIKE 'models.run%'")
        self.assertEqual(len(jobs), 1, jobs)
        job_id = jobs[0][0]
        self.assertEqual(jobs[0][1:], ["models.run", "detect", "2"])
        task = self.query("SELECT id FROM tasks WHERE item_id = '%s'" % astronaut)[0][0]
        t = self.c.get("/api/v1/tasks/" + task).json()
        self.assertEqual((t["stage"], t["model_run"]["job_id"], t["model_run"]["status"]), ("detect", job_id, "queued"))

        media.stop()
        self.worker()
        self.wait_stage(wf, (astronaut, grey), "label")
        preds = self.c.get("/api/v1/items/%s/predictions" % astronaut).json()["predictions"]
        self.assertEqual(len(preds), 1, preds)
        self.assertEqual(preds[0]["run_id"], job_id)
        self.assertGreaterEqual(mi.iou(preds[0]["bounding_box"], mi.FACE), 0.5, preds)
        self.assertEqual(self.c.get("/api/v1/items/%s/predictions" % grey).json()["predictions"], [])
        t = self.c.get("/api/v1/tasks/" + task).json()
        self.assertNotIn("model_run", t)
        self.assertEqual([(h["action"], h["from_stage"], h["to_stage"], h["port"], h["actor_id"])
                          for h in t["history"]][-1:], [("model", "detect", "label", "done", None)])
        self.assertEqual(self.query("SELECT count(*) FROM model_stage_tasks")[0][0], "0")
        job = self.c.get("/api/v1/jobs/" + job_id).json()
        self.assertEqual((job["status"], job["result"]["items"], job["result"]["predictions"]), ("succeeded", 2, 1))
        ev = self.query("SELECT count(*) FROM events WHERE type = 'task.stage_changed' AND data ->> 'from_stage' = "
                        "'detect'")
        self.assertEqual(ev[0][0], "2")

    def test_accept_turns_predictions_into_annotations(self):
        self.worker()
        astronaut = self.item("astronaut.png", self.photo)
        self.wait_ready(astronaut)
        m = self.model()
        wf = self.workflow(m["id"], accept=True, min_score=0.5, slot="0")
        self.enter(wf)
        self.wait_stage(wf, (astronaut,), "label")
        anns = self.c.get("/api/v1/items/%s/annotations" % astronaut).json()["annotations"]
        self.assertEqual([(a["source"], a["class_id"]) for a in anns], [("model", self.face["id"])])
        preds = self.c.get("/api/v1/items/%s/predictions" % astronaut).json()["predictions"]
        self.assertEqual(preds[0]["data"]["annotation_id"], anns[0]["id"])
        self.assertEqual(self.c.get("/api/v1/items/" + astronaut).json()["annotation_count"], 1)
        # Audited like any annotation write: one row for the item, naming the run's job.
        job_id = self.query("SELECT id FROM jobs WHERE kind = 'models.run'")[0][0]
        audit = self.query("SELECT user_id, object_type, object_id, data::text FROM audit_log "
                           "WHERE action = 'predictions.accept'")
        self.assertEqual(len(audit), 1, audit)
        user_id, object_type, object_id, data = audit[0]
        self.assertEqual((user_id, object_type, object_id), (self.boot["user_id"], "item", astronaut))
        data = json.loads(data)
        self.assertEqual(data, {"version": data["version"], "created": [anns[0]["id"]],
                                "predictions": [preds[0]["id"]], "job_id": job_id})
        self.assertEqual(str(data["version"]), self.query("SELECT version FROM item_annotation_versions "
                                                     "WHERE item_id = '%s'" % astronaut)[0][0])

    def test_worker_killed_mid_run_moves_each_task_once(self):
        first = self.worker(model_run_batch=2, worker_heartbeat="200ms")
        items = [self.item("a%02d.png" % i, self.photo) for i in range(40)]
        for it in items:
            self.wait_ready(it)
        m = self.model()
        wf = self.workflow(m["id"])
        self.enter(wf)
        job_id = self.query("SELECT id FROM jobs WHERE kind = 'models.run'")[0][0]
        count = "SELECT count(*) FROM predictions WHERE run_id = '%s'" % job_id
        lh.wait_until(lambda: int(self.query(count)[0][0]) > 0, timeout=60, interval=0.01,
                      message="the run's first predictions")
        first.kill()
        self.assertLess(int(self.query(count)[0][0]), 40, "the run ended before the worker was killed")
        self.assertEqual(set(self.stages(wf).values()), {"detect"})
        self.worker(model_run_batch=2)
        self.wait_stage(wf, items, "label")
        self.assertEqual(self.c.get("/api/v1/jobs/" + job_id).json()["attempts"], 2)
        self.assertEqual(self.query(count)[0][0], "40")
        self.assertEqual(self.query("SELECT count(DISTINCT item_id) FROM predictions")[0][0], "40")
        moved = self.query("SELECT count(*), count(DISTINCT task_id) FROM task_history WHERE action = 'model'")
        self.assertEqual(moved, [["40", "40"]])

    def test_failed_run_keeps_its_tasks_waiting(self):
        self.worker()
        astronaut = self.item("astronaut.png", self.photo)
        self.wait_ready(astronaut)
        bare = self.c.post("/api/v1/models", json=mi.blazeface(self.face["id"], name="no file")).json()
        wf = self.workflow(bare["id"])
        self.enter(wf)
        task = self.query("SELECT id FROM tasks WHERE item_id = '%s'" % astronaut)[0][0]

        def failed():
            t = self.c.get("/api/v1/tasks/" + task).json()
            return t if t.get("model_run", {}).get("status") == "failed" else None
        t = lh.wait_until(failed, timeout=120, interval=0.2, message="the run to fail")
        self.assertEqual(t["stage"], "detect")
        self.assertIn(".onnx", t["model_run"]["error"])
        # A manager sends it on without predictions.
        s = self.member_session("a@example.com", "annotator")
        self.assertProblem(s.post("/api/v1/tasks/%s/continue" % task), 403)
        r = self.c.post("/api/v1/tasks/%s/continue" % task)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["stage"], "label")

    def test_bad_model_stages(self):
        m = self.model()
        body = model_workflow(NO_ID, self.ds["id"])
        self.assertProblem(self.c.post("/api/v1/workflows", json=body), 422, "stages[1].config.model_id")
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="r@example.com")["api_key"])
        theirs = rival.post("/api/v1/models", json=mi.blazeface(
            rival.post("/api/v1/classes", json={"name": "F", "annotation_types": ["bounding_box"]}).json()["id"]))
        self.assertEqual(theirs.status, 201, theirs.text)
        self.assertProblem(self.c.post("/api/v1/workflows", json=model_workflow(theirs.json()["id"], self.ds["id"])),
                           422, "stages[1].config.model_id")
        for config, field in (({"model_id": "faces"}, "model_id"), ({"min_score": 2}, "min_score"),
                              ({"accept": "yes"}, "accept"), ({"slot": 3}, "slot"), ({"top": 1}, "top")):
            body = model_workflow(m["id"], self.ds["id"])
            body["stages"][1]["config"].update(config)
            self.assertProblem(self.c.post("/api/v1/workflows", json=body), 422, "stages[1].config." + field)
        body = model_workflow(m["id"], self.ds["id"])
        del body["stages"][1]["config"]
        self.assertProblem(self.c.post("/api/v1/workflows", json=body), 422, "stages[1].config.model_id")
        # Tasks reach a model stage along an edge only.
        wf = self.workflow(m["id"])
        r = self.c.post("/api/v1/tasks/bulk", json={"filters": {"workflow_id": wf}, "action": "send_to_stage",
                                                    "stage": "detect"})
        self.assertProblem(r, 422, "stage")

    def test_disagreement_filter_and_send_to_review(self):
        a = self.item("a.png", self.photo)  # the face and a box elsewhere: 1 matched, 1 missed → 1 − 2/3
        b = self.item("b.png", self.photo)  # the face only: 0
        c = self.item("c.png", mi.grey_png(320, 240))  # a box where the model finds nothing: 1 missed → 1
        d = self.item("d.png", self.photo)  # nothing drawn: no value
        self.worker()
        for it in (a, b, c, d):
            self.wait_ready(it)
        a_face, a_else = self.box(a, mi.FACE, ELSEWHERE)
        self.box(b, mi.FACE)
        (c_box,) = self.box(c, GREY_BOX)
        m = self.model()
        run = self.run_job(m["id"], {"filters": {"dataset_id": self.ds["id"]}})["id"]

        body = self.c.get("/api/v1/items/%s/disagreement" % a).json()
        self.assertEqual(body["item_id"], a)
        (row,) = body["disagreements"]
        self.assertEqual((row["run_id"], row["model_id"], row["human"], row["predicted"]), (run, m["id"], 2, 1))
        self.assertAlmostEqual(row["disagreement"], 1 / 3, places=5)
        self.assertAlmostEqual(row["f1"], 2 / 3, places=5)
        self.assertEqual([x["annotation_id"] for x in row["matched"]], [a_face])
        self.assertEqual([x["annotation_id"] for x in row["missed"]], [a_else])
        self.assertEqual(row["extra"], [])
        self.assertEqual([(k["class_id"], k["matched"], k["missed"], k["extra"]) for k in row["classes"]],
                         [(self.face["id"], 1, 1, 0)])
        self.assertEqual(self.c.get("/api/v1/items/%s/disagreement?run=%s" % (b, run)).json()["disagreements"][0]
                         ["disagreement"], 0)
        row = self.c.get("/api/v1/items/%s/disagreement" % c).json()["disagreements"][0]
        self.assertEqual((row["disagreement"], [x["annotation_id"] for x in row["missed"]]), (1, [c_box]))
        row = self.c.get("/api/v1/items/%s/disagreement" % d).json()["disagreements"][0]
        self.assertEqual((row["disagreement"], row["human"], row["predicted"]), (None, 0, 1))

        def listed(query):
            r = self.c.get("/api/v1/items?dataset_id=%s&%s" % (self.ds["id"], query))
            self.assertEqual(r.status, 200, r.text)
            return sorted(i["id"] for i in r.json()["items"])
        self.assertEqual(listed("disagreement[gte]=0.3"), sorted([a, c]))
        self.assertEqual(listed("disagreement[gte]=0.5&disagreement_run=" + run), [c])
        self.assertEqual(listed("disagreement[lte]=0.5"), sorted([a, b]))
        self.assertEqual(listed("disagreement_run=" + NO_ID + "&disagreement[gte]=0"), [])
        self.assertProblem(self.c.get("/api/v1/items?dataset_id=%s&disagreement[gte]=2" % self.ds["id"]), 422,
                           "disagreement[gte]")
        self.assertProblem(self.c.get("/api/v1/items?dataset_id=%s&disagreement[most]=1" % self.ds["id"]), 422,
                           "disagreement[most]")

        # b's annotations change: its stored value is computed again as they are saved (the items list
        # computes nothing), so the filters see it at once.
        self.box(b, ELSEWHERE)
        self.assertEqual(listed("disagreement[gte]=0.3"), sorted([a, b, c]))
        self.assertAlmostEqual(self.c.get("/api/v1/items/%s/disagreement" % b).json()["disagreements"][0]
                               ["disagreement"], 1 / 3, places=5)
        # a's box that the model missed is deleted: nothing is missed on a any more, at once.
        r = self.c.post("/api/v1/items/%s/annotations/batch" % a, json={"delete": [a_else]})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(listed("disagreement[gte]=0.3"), sorted([b, c]))
        self.assertEqual(listed("disagreement[lte]=0"), [a])
        stale = "SELECT count(*) FROM item_disagreements d JOIN item_annotation_versions v USING (item_id) " \
                "WHERE d.annotation_version <> v.version"
        self.assertEqual(self.query(stale)[0][0], "0")

        # The top two go to review: c and d (1 each; b is 1/3, a 0).
        wf = self.c.post("/api/v1/workflows", json={
            "name": "Review", "dataset_ids": [self.ds["id"]],
            "stages": [{"id": "in", "type": "dataset"}, {"id": "label", "type": "annotate", "config": {"assignees": "any"}},
                       {"id": "check", "type": "review"}, {"id": "done", "type": "complete"}],
            "edges": [{"from": "in", "port": "next", "to": "label"}, {"from": "label", "port": "done", "to": "check"},
                      {"from": "check", "port": "approve", "to": "done"},
                      {"from": "check", "port": "reject", "to": "label"}]}).json()["id"]
        self.enter(wf)
        d_after = self.box(d, ELSEWHERE)  # d: computed again as it is saved (1: nothing matched)
        self.assertEqual(len(d_after), 1)
        path = "/api/v1/models/%s/runs/%s/send-to-review" % (m["id"], run)
        r = self.c.post(path, json={"workflow_id": wf, "stage_id": "check", "top": 2})
        self.assertEqual(r.status, 200, r.text)
        sent = r.json()
        self.assertEqual(sent["count"], 2)
        self.assertEqual(sorted(x["item_id"] for x in sent["items"]), sorted([c, d]))  # both 1: nothing matched
        self.assertEqual([x["disagreement"] for x in sent["items"]], [1, 1])
        self.assertEqual(self.stages(wf), {a: "label", b: "label", c: "check", d: "check"})
        hist = self.query("SELECT action, to_stage FROM task_history h JOIN tasks t ON t.id = h.task_id "
                          "WHERE t.item_id = '%s' AND h.action = 'move'" % c)
        self.assertEqual(hist, [["move", "check"]])
        self.assertEqual(self.query("SELECT count(*) FROM audit_log WHERE action = 'model.send_to_review'")[0][0], "1")

        # Bad bodies, roles and teams.
        self.assertProblem(self.c.post(path, json={"workflow_id": wf, "stage_id": "label", "top": 2}), 422,
                           "stage_id")
        self.assertProblem(self.c.post(path, json={"workflow_id": wf, "stage_id": "check", "top": 0}), 422, "top")
        self.assertProblem(self.c.post(path, json={"workflow_id": wf, "stage_id": "check"}), 422, "top")
        self.assertProblem(self.c.post(path, json={"workflow_id": wf, "stage_id": "check", "top": 1, "x": 1}), 422,
                           "x")
        self.assertProblem(self.c.post(path, json={"workflow_id": NO_ID, "stage_id": "check", "top": 1}), 404,
                           "workflow_id")
        self.assertProblem(self.c.post("/api/v1/models/%s/runs/%s/send-to-review" % (m["id"], NO_ID),
                                       json={"workflow_id": wf, "stage_id": "check", "top": 1}), 404)
        other = self.c.post("/api/v1/models", json=mi.blazeface(self.face["id"], name="other")).json()
        self.assertProblem(self.c.post("/api/v1/models/%s/runs/%s/send-to-review" % (other["id"], run),
                                       json={"workflow_id": wf, "stage_id": "check", "top": 1}), 404)
        self.assertProblem(self.c.get("/api/v1/items/%s/disagreement?run=%s" % (a, NO_ID)), 404)
        self.assertProblem(self.c.get("/api/v1/items/%s/disagreement?run=nope" % a), 400)
        self.assertProblem(self.c.get("/api/v1/items/%s/disagreement" % NO_ID), 404)
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="r@example.com")["api_key"])
        self.assertProblem(rival.get("/api/v1/items/%s/disagreement" % a), 404)
        self.assertProblem(rival.post(path, json={"workflow_id": wf, "stage_id": "check", "top": 1}), 404)
        s = self.member_session("a@example.com", "annotator")
        self.assertEqual(s.get("/api/v1/items/%s/disagreement" % a).status, 200)
        self.assertProblem(s.post(path, json={"workflow_id": wf, "stage_id": "check", "top": 1}), 403)


if __name__ == "__main__":
    unittest.main()
