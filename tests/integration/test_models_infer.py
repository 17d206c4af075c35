"""Models that run: BlazeFace (a real ONNX face detector) registered with the ssd_anchors decoder and
run by loupe-worker through ONNX Runtime finds the face in scikit-image's astronaut photograph where it
is; a batch run over a dataset stores its predictions once per item (skipping items without an
image), a plain grey image gets none; a worker without ONNX Runtime fails the run saying so; bad
runs are refused naming why; another team's model is not found and an annotator may not start a run.
ONNX Runtime, the model and the photograph are fetched into the build tree by the fixture
integration/model_files_setup (tests/integration/models/install.sh)."""
# ctest-fixtures: model_files
# ctest-timeout: 300

import os
import unittest

import loupe_harness as lh
from media_testlib import png_grey as grey_png

lh.require_services(binaries=("louped", "loupe-worker"))

FILES = os.environ.get("LOUPE_MODEL_FILES") or ""
ORT = os.path.join(FILES, "lib", "libonnxruntime.so.1")
BLAZEFACE = os.path.join(FILES, "blazeface.onnx")
ASTRONAUT = os.path.join(FILES, "astronaut.png")
# The face in astronaut.png (512 × 512): brows to chin, cheek to cheek, drawn by hand.
FACE = {"x": 178, "y": 78, "w": 92, "h": 100}


def blazeface(class_id, **over):
    body = {
        "name": "BlazeFace", "task": "detect", "runtime": "onnx",
        "input": {"width": 128, "height": 128, "layout": "NHWC", "resize": "letterbox",
                  "scale": 2 / 255, "mean": [1], "std": [1]},
        "output": {"decoder": "ssd_anchors",
                   "names": {"boxes": ["Identity_2:0", "Identity_3:0"], "scores": ["Identity:0", "Identity_1:0"]},
                   "strides": [8, 16], "anchors_per_cell": [2, 6], "box_scale": 128, "score_sigmoid": True},
        "labels": ["face"], "class_map": {"face": class_id}, "score_threshold": 0.75, "nms_iou": 0.3,
    }
    body.update(over)
    return body


def iou(a, b):
    ix = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    iy = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / (a["w"] * a["h"] + b["w"] * b["h"] - inter)


class ImageItems:
    """A team with the model test files and a dataset (self.ds), and items of one image slot in it
    (a LoupeTestCase mixin, shared by the model tests)."""

    def start_model_team(self, dataset_name):
        for path in (ORT, BLAZEFACE, ASTRONAUT):
            if not os.path.isfile(path):
                lh.skip("%s is missing (the fixture integration/model_files_setup fetches it)" % path)
        self.start_team()
        self.ds = self.c.post("/api/v1/datasets", json={"name": dataset_name}).json()

    def item(self, name, data=None):
        it = self.c.post("/api/v1/datasets/%s/items" % self.ds["id"],
                         json={"name": name, "slots": [{"name": "0", "type": "image"}]}).json()
        if data is not None:
            r = self.c.put("/api/v1/items/%s/slots/0/file" % it["id"], data=data,
                           headers={"Content-Type": "application/octet-stream"})
            self.assertEqual(r.status, 202, r.text)
        return it["id"]

    def wait_ready(self, item_id):
        def ready():
            body = self.c.get("/api/v1/items/" + item_id).json()
            self.assertNotEqual(body["status"], "error", body)
            return body if body["status"] == "ready" else None
        return lh.wait_until(ready, timeout=60, interval=0.2, message="item %s to be ready" % item_id)


class ModelsInferTest(ImageItems, lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_model_team("Crew")
        self.face = self.c.post("/api/v1/classes", json={"name": "Face", "annotation_types": ["bounding_box"]}).json()

    def worker(self, ort=ORT, **settings):
        s = {"worker_queues": "system,media,cpu", "onnx_runtime_path": ort}
        s.update(settings)
        return self.start_worker(s)

    def model(self, **over):
        m = self.c.post("/api/v1/models", json=blazeface(self.face["id"], **over))
        self.assertEqual(m.status, 201, m.text)
        m = m.json()
        with open(BLAZEFACE, "rb") as f:
            r = self.c.put("/api/v1/models/%s/file" % m["id"], data=f.read(),
                           headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 200, r.text)
        return m

    def run_job(self, model_id, body, status="succeeded"):
        r = self.c.post("/api/v1/models/%s/runs" % model_id, json=body)
        self.assertEqual(r.status, 202, r.text)
        job = r.json()["job"]
        self.assertEqual(r.headers["Location"], "/api/v1/jobs/" + job["id"])

        def done():
            j = self.c.get("/api/v1/jobs/" + job["id"]).json()
            return j if j["status"] in ("succeeded", "failed") else None
        j = lh.wait_until(done, timeout=120, interval=0.2, message="run %s to finish" % job["id"])
        self.assertEqual(j["status"], status, j)
        return j

    def test_blazeface_batch_run_finds_the_face(self):
        self.worker()
        with open(ASTRONAUT, "rb") as f:
            astronaut = self.item("astronaut.png", f.read())
        grey = self.item("grey.png", grey_png(320, 240))
        empty = self.item("empty.png")
        self.wait_ready(astronaut)
        self.wait_ready(grey)
        m = self.model()
        self.assertEqual(m["queue"], "cpu")

        job = self.run_job(m["id"], {"filters": {"dataset_id": self.ds["id"]}})
        self.assertEqual(job["kind"], "models.run")
        self.assertEqual(job["result"]["items"], 3, job)
        self.assertEqual(job["result"]["skipped"], 1, job)  # the item without a file
        preds = self.c.get("/api/v1/items/%s/predictions" % astronaut).json()["predictions"]
        self.assertEqual(len(preds), 1, preds)
        p = preds[0]
        self.assertEqual((p["label"], p["class_id"], p["type"], p["slot"], p["run_id"], p["model_id"]),
                         ("face", self.face["id"], "bounding_box", "0", job["id"], m["id"]))
        self.assertGreaterEqual(p["score"], 0.75)
        self.assertGreaterEqual(iou(p["bounding_box"], FACE), 0.5, p["bounding_box"])
        self.assertEqual(job["result"]["predictions"], 1, job)
        self.assertEqual(self.c.get("/api/v1/items/%s/predictions" % grey).json()["predictions"], [])
        self.assertEqual(self.c.get("/api/v1/items/%s/predictions" % empty).json()["predictions"], [])

        # The same run's rows again (a redelivered batch) store nothing twice.
        self.psql("INSERT INTO predictions (team_id, item_id, slot, model_id, run_id, ordinal, label, type, score) "
                  "SELECT team_id, item_id, slot, model_id, run_id, ordinal, label, type, score FROM predictions "
                  "ON CONFLICT (run_id, item_id, slot, ordinal) WHERE run_id IS NOT NULL DO NOTHING")
        self.assertEqual(self.query("SELECT count(*) FROM predictions")[0][0], "1")

        # Live inference answers the same box at once, through a worker, storing nothing.
        r = self.c.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": astronaut})
        self.assertEqual(r.status, 200, r.text)
        live = r.json()["predictions"]
        self.assertEqual(len(live), 1, live)
        self.assertEqual((live[0]["label"], live[0]["class_id"]), ("face", self.face["id"]))
        for k in ("x", "y", "w", "h"):
            self.assertAlmostEqual(live[0]["bounding_box"][k], p["bounding_box"][k], places=3)
        self.assertEqual(self.c.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": grey, "slot": "0"})
                         .json()["predictions"], [])
        self.assertEqual(self.query("SELECT count(*) FROM predictions")[0][0], "1")
        self.assertProblem(self.c.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": empty}), 409)
        self.assertProblem(self.c.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": astronaut, "slot": "9"}),
                           422, "slot")

        # A second run over the one item stores its own prediction, at the same place.
        job2 = self.run_job(m["id"], {"filters": {"item_ids": [astronaut]}, "slot": "0"})
        preds = self.c.get("/api/v1/items/%s/predictions" % astronaut).json()["predictions"]
        self.assertEqual(sorted(p["run_id"] for p in preds), sorted([job["id"], job2["id"]]))
        self.assertEqual(preds[0]["bounding_box"], preds[1]["bounding_box"])

        # Accepted by threshold: the first run's face becomes an annotation (source model, the score as
        # its confidence), once; the second run's is accepted by its id.
        accept = "/api/v1/items/%s/predictions/accept" % astronaut
        first = [q for q in preds if q["run_id"] == job["id"]][0]
        second = [q for q in preds if q["run_id"] == job2["id"]][0]
        r = self.c.post(accept, json={"min_score": 0.5, "run_id": job["id"]})
        self.assertEqual(r.status, 200, r.text)
        got = r.json()["accepted"]
        self.assertEqual([a["prediction_id"] for a in got], [first["id"]])
        anns = self.c.get("/api/v1/items/%s/annotations" % astronaut).json()["annotations"]
        self.assertEqual(len(anns), 1, anns)
        a = anns[0]
        self.assertEqual((a["id"], a["class_id"], a["slot"], a["source"]),
                         (got[0]["annotation_id"], self.face["id"], "0", "model"))
        self.assertAlmostEqual(a["confidence"], first["score"], places=5)
        self.assertEqual(a["bounding_box"], first["bounding_box"])
        self.assertEqual(self.c.post(accept, json={"min_score": 0.5, "run_id": job["id"]}).json()["accepted"], [])
        self.assertEqual(self.c.post(accept, json={"min_score": 0.9999}).json()["accepted"]
                         if second["score"] < 0.9999 else [], [])
        r = self.c.post(accept, json={"ids": [second["id"]]})
        self.assertEqual([x["prediction_id"] for x in r.json()["accepted"]], [second["id"]])
        self.assertEqual(len(self.c.get("/api/v1/items/%s/annotations" % astronaut).json()["annotations"]), 2)
        self.assertEqual(self.c.get("/api/v1/items/" + astronaut).json()["annotation_count"], 2)
        listed = self.c.get("/api/v1/items/%s/predictions" % astronaut).json()["predictions"]
        self.assertEqual(sorted(q["data"]["annotation_id"] for q in listed),
                         sorted([got[0]["annotation_id"], r.json()["accepted"][0]["annotation_id"]]))
        # Each accept is audited like any annotation write: a row per item, by the caller.
        audit = self.query("SELECT user_id, object_id, data ->> 'created', data ->> 'predictions', data ? 'job_id' "
                           "FROM audit_log WHERE action = 'predictions.accept' ORDER BY id")
        self.assertEqual(audit, [[self.boot["user_id"], astronaut, '["%s"]' % got[0]["annotation_id"],
                                  '["%s"]' % first["id"], "f"],
                                 [self.boot["user_id"], astronaut, '["%s"]' % r.json()["accepted"][0]["annotation_id"],
                                  '["%s"]' % second["id"], "f"]])

    def test_worker_killed_during_a_run(self):
        """kill -9 of the worker mid-run: another worker takes the job over, the run completes, and
        no prediction is stored twice (the pages stored before the kill are not stored again)."""
        first = self.worker(model_run_batch=2, worker_heartbeat="200ms")
        with open(ASTRONAUT, "rb") as f:
            photo = f.read()
        items = [self.item("a%02d.png" % i, photo) for i in range(40)]
        for it in items:
            self.wait_ready(it)
        m = self.model()
        r = self.c.post("/api/v1/models/%s/runs" % m["id"], json={"filters": {"dataset_id": self.ds["id"]}})
        self.assertEqual(r.status, 202, r.text)
        job_id = r.json()["job"]["id"]
        count = "SELECT count(*) FROM predictions WHERE run_id = '%s'" % job_id
        lh.wait_until(lambda: int(self.query(count)[0][0]) > 0, timeout=60, interval=0.01,
                      message="the run's first predictions")
        first.kill()
        before = int(self.query(count)[0][0])
        self.assertLess(before, 40, "the run ended before the worker was killed")
        self.worker(model_run_batch=2)

        def done():
            j = self.c.get("/api/v1/jobs/" + job_id).json()
            return j if j["status"] in ("succeeded", "failed") else None
        j = lh.wait_until(done, timeout=120, interval=0.2, message="the run to finish on the other worker")
        self.assertEqual(j["status"], "succeeded", j)
        self.assertEqual(j["attempts"], 2, j)
        self.assertEqual(int(self.query(count)[0][0]), 40)
        self.assertEqual(self.query("SELECT count(DISTINCT (item_id, slot, ordinal)) FROM predictions "
                                    "WHERE run_id = '%s'" % job_id)[0][0], "40")
        self.assertEqual(j["result"]["predictions"], 40 - before, j)

    def test_without_onnx_runtime_the_run_says_so(self):
        self.worker(ort=os.path.join(self.sandbox.work_dir, "no-such-libonnxruntime.so"))
        with open(ASTRONAUT, "rb") as f:
            astronaut = self.item("astronaut.png", f.read())
        self.wait_ready(astronaut)
        m = self.model()
        once = self.start_louped({"job_max_attempts": 1}).client(api_key=self.boot["api_key"])
        r = once.post("/api/v1/models/%s/runs" % m["id"], json={"filters": {"item_ids": [astronaut]}})
        self.assertEqual(r.status, 202, r.text)
        job_id = r.json()["job"]["id"]

        def failed():
            j = self.c.get("/api/v1/jobs/" + job_id).json()
            return j if j["status"] == "failed" else None
        j = lh.wait_until(failed, timeout=120, interval=0.2, message="the run to fail")
        self.assertIn("onnx runtime not installed", j["error"])

    def test_live_inference_without_a_worker_times_out(self):
        """A gpu model with no gpu worker: live inference answers 504 after model_infer_timeout."""
        self.worker()
        with open(ASTRONAUT, "rb") as f:
            astronaut = self.item("astronaut.png", f.read())
        self.wait_ready(astronaut)
        m = self.model(queue="gpu")
        quick = self.start_louped({"model_infer_timeout": "1s"}).client(api_key=self.boot["api_key"])
        body = self.assertProblem(quick.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": astronaut}), 504)
        self.assertIn("gpu", body.get("hint", "") + body["detail"])

    def test_live_inference_on_an_image_body(self):
        """The astronaut photograph sent as the body (no item): BlazeFace finds the face in its pixels; a body
        that is not an image is refused."""
        self.worker()
        with open(ASTRONAUT, "rb") as f:
            photo = f.read()
        self.wait_ready(self.item("astronaut.png", photo))  # the worker is up and consuming
        m = self.model()
        path = "/api/v1/models/%s/infer" % m["id"]
        r = self.c.post(path, data=photo, headers={"Content-Type": "image/png"})
        self.assertEqual(r.status, 200, r.text)
        size = r.json()["image"]  # the photograph as decoded for the model (512 × 512 at most)
        self.assertEqual(size["width"], size["height"])
        self.assertLessEqual(size["width"], 512)
        live = r.json()["predictions"]
        self.assertEqual(len(live), 1, live)
        self.assertEqual((live[0]["label"], live[0]["class_id"]), ("face", self.face["id"]))
        box = {k: v * 512 / size["width"] for k, v in live[0]["bounding_box"].items()}
        self.assertGreaterEqual(iou(box, FACE), 0.5, box)
        self.assertEqual(self.query("SELECT count(*) FROM predictions")[0][0], "0")
        # Once answered, the image is gone from storage, and its note with it.
        inputs = os.path.join(self.sandbox.storage_dir, "models", self.team, "inputs")
        lh.wait_until(lambda: self.query("SELECT count(*) FROM model_inputs") == [["0"]], timeout=10, interval=0.1,
                      message="the image's note to go")
        self.assertEqual([n for n in os.listdir(inputs) if not n.startswith(".")] if os.path.isdir(inputs) else [],
                         [])
        self.assertProblem(self.c.post(path, data=b"<svg/>", headers={"Content-Type": "text/xml"}), 415)
        r = self.c.post(path, data=b"GIF89a but not really", headers={"Content-Type": "image/gif"})
        self.assertIn(r.status, (415, 422), r.text)

    def test_an_item_is_run_on_its_derived_image(self):
        """A 512 × 512 photograph and a 128 × 128 model: the worker decodes the item's 256 × 256 thumbnail,
        not the original — live and batch alike answer without the original in storage, with the same box in
        the original's pixels — and that box is within one pixel of the model's input (4 of the photograph's)
        of the one found on the original itself (the photograph sent as the body, decoded from its own
        bytes: 3.3 pixels apart when this was written; decoding the original at 128 or at 512 pixels moves
        it by 1.7)."""
        self.worker()
        with open(ASTRONAUT, "rb") as f:
            photo = f.read()
        astronaut = self.item("astronaut.png", photo)
        self.wait_ready(astronaut)
        m = self.model()
        path = "/api/v1/models/%s/infer" % m["id"]
        r = self.c.post(path, data=photo, headers={"Content-Type": "image/png"})
        self.assertEqual(r.status, 200, r.text)
        scale = 512 / r.json()["image"]["width"]
        on_original = {k: v * scale for k, v in r.json()["predictions"][0]["bounding_box"].items()}

        # the original leaves storage: what the model decodes is the thumbnail
        media = self.query("SELECT metadata->'media'->>'thumbnail_width', storage->>'original' FROM slots "
                           "WHERE item_id = '%s'" % astronaut)[0]
        self.assertEqual(media[0], "256")
        os.unlink(os.path.join(self.sandbox.storage_dir, media[1]))
        r = self.c.post(path, json={"item_id": astronaut})
        self.assertEqual(r.status, 200, r.text)
        live = r.json()["predictions"]
        self.assertEqual(len(live), 1, live)
        self.assertNotIn("image", r.json())  # in the slot's pixels
        timing = dict(m.strip().split(";dur=") for m in r.headers["Server-Timing"].split(","))
        self.assertEqual(sorted(timing), ["decode", "fetch", "lookup", "model", "worker"], timing)
        self.assertGreater(float(timing["worker"]), float(timing["decode"]))
        for k in ("x", "y", "w", "h"):
            self.assertAlmostEqual(live[0]["bounding_box"][k], on_original[k], delta=512 / 128,
                                   msg="%s: %s vs %s" % (k, live[0]["bounding_box"], on_original))
        self.assertGreaterEqual(iou(live[0]["bounding_box"], FACE), 0.5, live[0]["bounding_box"])
        self.run_job(m["id"], {"filters": {"item_ids": [astronaut]}})
        preds = self.c.get("/api/v1/items/%s/predictions" % astronaut).json()["predictions"]
        self.assertEqual(len(preds), 1, preds)
        for k in ("x", "y", "w", "h"):
            self.assertAlmostEqual(preds[0]["bounding_box"][k], live[0]["bounding_box"][k], places=3)

        # the worker keeps the model by version: a change is seen by the next request
        etag = self.c.get("/api/v1/models/" + m["id"]).headers["ETag"]
        r = self.c.patch("/api/v1/models/" + m["id"], json={"score_threshold": 0.99}, headers={"If-Match": etag})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.c.post(path, json={"item_id": astronaut}).json()["predictions"], [])
        r = self.c.patch("/api/v1/models/" + m["id"], json={"score_threshold": 0.75},
                         headers={"If-Match": r.headers["ETag"]})
        self.assertEqual(len(self.c.post(path, json={"item_id": astronaut}).json()["predictions"]), 1)

    def test_bad_runs_roles_and_teams(self):
        m = self.model()
        path = "/api/v1/models/%s/runs" % m["id"]
        self.assertProblem(self.c.post(path, json={}), 422, "filters")
        self.assertProblem(self.c.post(path, json={"filters": {}}), 422, "filters.dataset_id")
        self.assertProblem(self.c.post(path, json={"filters": {"dataset_id": self.ds["id"]}, "slots": "0"}), 422,
                           "slots")
        self.assertProblem(self.c.post(path, json={"filters": {"status": "nope", "dataset_id": self.ds["id"]}}),
                           422)
        bare = self.c.post("/api/v1/models", json=blazeface(self.face["id"], name="no file")).json()
        self.assertProblem(self.c.post("/api/v1/models/%s/runs" % bare["id"],
                                       json={"filters": {"dataset_id": self.ds["id"]}}), 409)
        self.assertProblem(self.c.post("/api/v1/models/00000000-0000-4000-8000-000000000000/runs",
                                       json={"filters": {"dataset_id": self.ds["id"]}}), 404)
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="r@example.com")["api_key"])
        self.assertProblem(rival.post(path, json={"filters": {"dataset_id": self.ds["id"]}}), 404)

        s = self.member_session("a@example.com", "annotator")
        self.assertProblem(s.post(path, json={"filters": {"dataset_id": self.ds["id"]}}), 403)

        # Accepting: ids or min_score, well-formed; another team's item is not found.
        accept = "/api/v1/items/%s/predictions/accept" % "00000000-0000-4000-8000-000000000000"
        item = self.item("x.png")
        mine = "/api/v1/items/%s/predictions/accept" % item
        self.assertProblem(self.c.post(mine, json={}), 422, "min_score")
        self.assertProblem(self.c.post(mine, json={"ids": ["nope"]}), 422, "ids[0]")
        self.assertProblem(self.c.post(mine, json={"min_score": 2}), 422, "min_score")
        self.assertProblem(self.c.post(mine, json={"min_score": 0.5, "extra": 1}), 422, "extra")
        self.assertEqual(self.c.post(mine, json={"min_score": 0.5}).json(), {"accepted": []})
        self.assertProblem(self.c.post(accept, json={"min_score": 0.5}), 404)
        self.assertProblem(rival.post(mine, json={"min_score": 0.5}), 404)

        # Live inference: the item is required and must be the team's; an annotator may not.
        live = "/api/v1/models/%s/infer" % m["id"]
        self.assertProblem(self.c.post(live, json={}), 422, "item_id")
        self.assertProblem(self.c.post(live, json={"item_id": "nope"}), 422, "item_id")
        self.assertProblem(self.c.post(live, json={"item_id": "00000000-0000-4000-8000-000000000000"}), 404)
        self.assertProblem(rival.post(live, json={"item_id": "00000000-0000-4000-8000-000000000000"}), 404)
        self.assertProblem(s.post(live, json={"item_id": "00000000-0000-4000-8000-000000000000"}), 403)
        self.assertProblem(self.c.post("/api/v1/models/%s/infer" % bare["id"],
                                       json={"item_id": "00000000-0000-4000-8000-000000000000"}), 409)
        self.assertEqual(self.query("SELECT count(*) FROM jobs WHERE kind LIKE 'models.run%'")[0][0], "0")


if __name__ == "__main__":
    unittest.main()
