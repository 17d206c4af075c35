"""The model registry: models registered, listed, read with ETags, changed (merged, checked whole,
If-Match), deleted; every member of a bad body named in the 422; unknown decoder options refused;
an onnx model's file uploaded to its upload_url; audit rows; manage role; team isolation."""

import hashlib
import os
import threading
import time
import unittest
import uuid

import loupe_harness as lh

lh.require_services(binaries=("louped",))

PASSWORD = "a long enough password 1"


def detector(**over):
    body = {
        "name": "faces",
        "task": "detect",
        "runtime": "onnx",
        "input": {"width": 128, "height": 128, "layout": "NCHW", "resize": "letterbox", "scale": 0.00784313725,
                  "mean": [1.0], "std": [1, 1, 1], "name": "input"},
        "output": {"decoder": "ssd_anchors", "names": {"boxes": "regressors", "scores": "classificators"},
                   "strides": [8, 16], "anchors_per_cell": [2, 6], "box_scale": 128, "score_sigmoid": True},
        "labels": ["face"],
        "score_threshold": 0.6,
        "nms_iou": 0.3,
        "queue": "cpu",
    }
    body.update(over)
    return body


def kserve(**over):
    body = {
        "name": "ocr",
        "task": "text_detect",
        "runtime": "http",
        "endpoint": {"protocol": "kserve_v2", "url": "http://127.0.0.2:9000", "model_name": "det"},
        "input": {"width": 640, "height": 640},
        "output": {"decoder": "text_polygons", "binary_threshold": 0.3},
        "labels": ["text"],
    }
    body.update(over)
    return body


class ModelsTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team({"net_allow": "127.0.0.2/32"})  # the model servers below are on 127.0.0.2

    def fields(self, r, status=422):
        body = self.assertProblem(r, status)
        return sorted(e["field"] for e in body.get("errors") or [])

    def test_register_read_change_delete(self):
        r = self.c.post("/api/v1/models", json=detector())
        self.assertEqual(r.status, 201, r.text)
        m = r.json()
        self.assertEqual(r.headers["Location"], "/api/v1/models/" + m["id"])
        self.assertEqual(r.headers["ETag"], '"1"')
        self.assertEqual(m["version"], 1)
        # Defaults written out, one mean for every channel.
        self.assertEqual(m["input"]["mean"], [1.0, 1.0, 1.0])
        self.assertEqual(m["output"]["box_format"], "xyxy")
        self.assertEqual(m["output"]["max_detections"], 100)
        self.assertEqual(m["class_map"], {})
        self.assertIsNone(m["endpoint"])
        self.assertIsNone(m["file"])
        self.assertTrue(m["upload_url"].endswith("/api/v1/models/%s/file" % m["id"]), m["upload_url"])

        # The answer read back is a valid body.
        back = {k: v for k, v in m.items() if k not in ("id", "version", "file", "upload_url", "created_by",
                                                          "created_at", "updated_at")}
        r = self.c.post("/api/v1/models", json=back)
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json()["output"], m["output"])

        # ETags: If-None-Match → 304; a PATCH counts a version; a stale If-Match → 412.
        r = self.c.get("/api/v1/models/" + m["id"], headers={"If-None-Match": '"1"'})
        self.assertEqual(r.status, 304)
        r = self.c.patch("/api/v1/models/" + m["id"], json={"score_threshold": 0.7, "queue": "gpu"},
                         headers={"If-Match": '"1"'})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.json()["version"], r.json()["score_threshold"], r.json()["queue"]), (2, 0.7, "gpu"))
        self.assertEqual(r.headers["ETag"], '"2"')
        self.assertEqual(r.json()["output"]["strides"], [8, 16])  # untouched members kept
        self.assertProblem(self.c.patch("/api/v1/models/" + m["id"], json={"nms_iou": 0.2},
                                        headers={"If-Match": '"1"'}), 412)
        self.assertEqual(self.c.get("/api/v1/models/" + m["id"]).json()["nms_iou"], 0.3)
        r = self.c.get("/api/v1/models/" + m["id"], headers={"If-None-Match": '"1"'})
        self.assertEqual(r.status, 200)

        # A PATCH is checked whole: switching to http needs an endpoint.
        self.assertIn("endpoint", self.fields(self.c.patch("/api/v1/models/" + m["id"], json={"runtime": "http"})))
        r = self.c.patch("/api/v1/models/" + m["id"], json={
            "runtime": "http", "endpoint": {"protocol": "v7_byom", "url": "https://models.example.com/infer"}})
        self.assertEqual(r.status, 200, r.text)
        self.assertIsNone(r.json()["upload_url"])
        self.assertEqual(r.json()["endpoint"]["model_name"], None)
        # null removes an optional member: back to onnx.
        r = self.c.patch("/api/v1/models/" + m["id"], json={"runtime": "onnx", "endpoint": None})
        self.assertEqual(r.status, 200, r.text)

        # Listed, paged, oldest first.
        self.assertEqual(self.c.post("/api/v1/models", json=kserve()).status, 201)
        names, nxt = [], "/api/v1/models?page[size]=2"
        while nxt:
            doc = self.c.get(nxt).json()
            names += [x["name"] for x in doc["models"]]
            nxt = doc["next"]
        self.assertEqual(names, ["faces", "faces", "ocr"])

        self.assertEqual(self.c.delete("/api/v1/models/" + m["id"]).status, 204)
        self.assertProblem(self.c.get("/api/v1/models/" + m["id"]), 404)
        self.assertProblem(self.c.delete("/api/v1/models/" + m["id"]), 404)
        self.assertEqual(len(self.c.get("/api/v1/models").json()["models"]), 2)

        actions = [a for (a,) in self.query("SELECT action FROM audit_log WHERE object_type = 'model' "
                                             "AND object_id = '%s' ORDER BY id" % m["id"])]
        self.assertEqual(actions, ["model.create", "model.update", "model.update", "model.update",
                                   "model.delete"])

    def test_every_bad_member_is_named(self):
        bad = detector(task="sketch", runtime="tpu", queue="fpga", score_threshold=2, nms_iou=-1, colour="red",
                       labels=["face", "", "face"], class_map={"cat": "x", "face": "not-a-uuid"},
                       input={"width": 0, "height": 9000, "layout": "CHW", "resize": "crop"})
        self.assertEqual(self.fields(self.c.post("/api/v1/models", json=bad)),
                         ["class_map.cat", "class_map.face", "colour", "input.height", "input.layout", "input.resize",
                          "input.width", "labels[1]", "labels[2]", "nms_iou", "queue", "runtime", "score_threshold",
                          "task"])
        got = self.fields(self.c.post("/api/v1/models", json=detector(
            input={"width": 1, "height": 1, "scale": 0, "mean": [0, 0], "std": [1, 0, 1], "depth": 3})))
        self.assertEqual(got, ["input.depth", "input.mean", "input.scale", "input.std[1]"])

        # Required members.
        self.assertEqual(self.fields(self.c.post("/api/v1/models", json={})),
                         ["input", "labels", "name", "output", "runtime", "task"])

        # Decoder options: unknown ones, another decoder's, a decoder unfit for the task.
        got = self.fields(self.c.post("/api/v1/models", json=detector(output={
            "decoder": "boxes_scores_classes", "names": {"boxes": "b", "masks": "m"}, "box_format": "yxyx",
            "strides": [8], "iou_magic": 1})))
        self.assertEqual(got, ["output.box_format", "output.iou_magic", "output.names.masks", "output.strides"])
        got = self.fields(self.c.post("/api/v1/models", json=detector(output={"decoder": "masks"})))
        self.assertEqual(got, ["output.decoder"])
        got = self.fields(self.c.post("/api/v1/models", json=detector(output={
            "decoder": "ssd_anchors", "strides": [8, 0], "anchors_per_cell": [2]})))
        self.assertEqual(got, ["output.anchors_per_cell", "output.strides[1]"])
        got = self.fields(self.c.post("/api/v1/models", json=detector(output={"decoder": "ssd_anchors"})))
        self.assertEqual(got, ["output.anchors_per_cell", "output.strides"])
        got = self.fields(self.c.post("/api/v1/models", json=kserve(output={"decoder": "text_polygons",
                                                                             "unclip_ratio": 0, "min_size": -1})))
        self.assertEqual(got, ["output.min_size", "output.unclip_ratio"])

        # Endpoints: only for http, checked.
        self.assertEqual(self.fields(self.c.post("/api/v1/models", json=detector(
            endpoint={"protocol": "kserve_v2", "url": "http://x", "model_name": "m"}))), ["endpoint"])
        got = self.fields(self.c.post("/api/v1/models", json=kserve(
            endpoint={"protocol": "grpc", "url": "ftp://x", "extra": 1})))
        self.assertEqual(got, ["endpoint.extra", "endpoint.protocol", "endpoint.url"])
        self.assertEqual(self.fields(self.c.post("/api/v1/models", json=kserve(
            endpoint={"protocol": "kserve_v2", "url": "http://x"}))), ["endpoint.model_name"])

        # class_map values must be classes of this team.
        r = self.c.post("/api/v1/classes", json={"name": "Face", "annotation_types": ["bounding_box"]})
        self.assertEqual(r.status, 201, r.text)
        cls = r.json()["id"]
        self.assertEqual(self.fields(self.c.post("/api/v1/models", json=detector(
            class_map={"face": "00000000-0000-4000-8000-000000000000"}))), ["class_map.face"])
        r = self.c.post("/api/v1/models", json=detector(class_map={"face": cls}))
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json()["class_map"], {"face": cls})

        self.assertEqual(self.query("SELECT count(*) FROM models")[0][0], "1")  # nothing half written

    def test_onnx_file_upload(self):
        m = self.c.post("/api/v1/models", json=detector()).json()
        blob = b"\x08\x07" + b"not really onnx, bytes all the same" * 100
        url = m["upload_url"][m["upload_url"].index("/api/v1/"):]
        r = self.c.put(url, data=blob, headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 200, r.text)
        f = r.json()["file"]
        self.assertEqual((f["size_bytes"], f["sha256"]), (len(blob), hashlib.sha256(blob).hexdigest()))
        self.assertEqual(r.json()["version"], 2)
        key = self.query("SELECT file_key FROM models WHERE id = '%s'" % m["id"])[0][0]
        self.assertEqual(key, "models/%s/%s.onnx" % (self.team, m["id"]))

        # An http model has no file.
        h = self.c.post("/api/v1/models", json=kserve()).json()
        self.assertIsNone(h["upload_url"])
        self.assertProblem(self.c.put("/api/v1/models/%s/file" % h["id"], data=b"x",
                                      headers={"Content-Type": "application/octet-stream"}), 409)

        # Over model_max_bytes.
        d2 = self.start_louped({"model_max_bytes": "2k"})
        c2 = d2.client(api_key=self.boot["api_key"])
        self.assertProblem(c2.put(url, data=b"x" * 4096, headers={"Content-Type": "application/octet-stream"}), 413)

    def test_roles_and_teams(self):
        m = self.c.post("/api/v1/models", json=detector()).json()
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="r@example.com")["api_key"])
        for method, path, body in (("get", "/api/v1/models/" + m["id"], None),
                                   ("patch", "/api/v1/models/" + m["id"], {"nms_iou": 0.1}),
                                   ("delete", "/api/v1/models/" + m["id"], None)):
            r = getattr(rival, method)(path, **({"json": body} if body is not None else {}))
            self.assertProblem(r, 404)
        self.assertProblem(rival.put("/api/v1/models/%s/file" % m["id"], data=b"x",
                                     headers={"Content-Type": "application/octet-stream"}), 404)
        self.assertEqual(rival.get("/api/v1/models").json()["models"], [])

        # An annotator may not manage models.
        s = self.member_session("a@example.com", "annotator", PASSWORD)
        for method, path, body in (("get", "/api/v1/models", None), ("post", "/api/v1/models", detector()),
                                   ("get", "/api/v1/models/" + m["id"], None),
                                   ("patch", "/api/v1/models/" + m["id"], {"nms_iou": 0.1}),
                                   ("delete", "/api/v1/models/" + m["id"], None)):
            r = getattr(s, method)(path, **({"json": body} if body is not None else {}))
            self.assertProblem(r, 403)
        self.assertEqual(self.c.get("/api/v1/models/" + m["id"]).json()["version"], 1)

    def test_item_predictions(self):
        """Predictions are listed per item with their shape as annotations show it, by model,
        paged; another team's item is a 404. (Rows are written here as a run would write them:
        the shape blob is taken from an annotation saved through the API.)"""
        ds = self.c.post("/api/v1/datasets", json={"name": "Scenes"}).json()
        item = self.c.post("/api/v1/datasets/%s/items" % ds["id"], json={
            "name": "a.jpg", "slots": [{"name": "0", "type": "image", "width": 640, "height": 480}]}).json()
        cls = self.c.post("/api/v1/classes", json={"name": "Face", "annotation_types": ["bounding_box"]}).json()
        r = self.c.post("/api/v1/items/%s/annotations/batch" % item["id"], json={"create": [
            {"class_id": cls["id"], "slot": "0", "bounding_box": {"x": 10, "y": 20, "w": 30, "h": 40}}]})
        self.assertEqual(r.status, 200, r.text)
        m1 = self.c.post("/api/v1/models", json=detector(class_map={"face": cls["id"]})).json()
        m2 = self.c.post("/api/v1/models", json=kserve()).json()
        path = "/api/v1/items/%s/predictions" % item["id"]
        self.assertEqual(self.c.get(path).json(), {"predictions": [], "next": None})
        self.psql("INSERT INTO predictions (team_id, item_id, slot, model_id, ordinal, label, class_id, type, geom, "
                  "score, probabilities) SELECT a.team_id, a.item_id, a.slot, '%s', n, 'face', a.class_id, a.type, "
                  "a.geom, 0.5 + n / 10.0, ARRAY[1.0]::real[] FROM annotations a, generate_series(0, 2) n"
                  % m1["id"])
        self.psql("INSERT INTO predictions (team_id, item_id, slot, model_id, ordinal, label, type, data, score) "
                  "VALUES ('%s', '%s', '0', '%s', 0, 'text', 'tag', '{}', 0.25)" % (self.team, item["id"], m2["id"]))
        got, nxt = [], path + "?page[size]=2"
        while nxt:
            doc = self.c.get(nxt).json()
            got += doc["predictions"]
            nxt = doc["next"]
        self.assertEqual(len(got), 4)
        first = got[0]
        self.assertEqual((first["model_id"], first["label"], first["class_id"], first["type"], first["slot"]),
                         (m1["id"], "face", cls["id"], "bounding_box", "0"))
        self.assertEqual(first["bounding_box"], {"x": 10, "y": 20, "w": 30, "h": 40})
        self.assertEqual((first["score"], first["probabilities"], first["run_id"]), (0.5, [1.0], None))
        self.assertEqual(got[3]["class_id"], None)
        self.assertNotIn("bounding_box", got[3])
        only = self.c.get(path, query={"model_id": m2["id"]}).json()["predictions"]
        self.assertEqual([p["label"] for p in only], ["text"])
        self.assertProblem(self.c.get(path, query={"model_id": "nope"}), 400)

        # A deleted model's predictions are not shown; another team's item is not found.
        self.assertEqual(self.c.delete("/api/v1/models/" + m2["id"]).status, 204)
        self.assertEqual(len(self.c.get(path).json()["predictions"]), 3)
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="r@example.com")["api_key"])
        self.assertProblem(rival.get(path), 404)
        self.assertProblem(self.c.get("/api/v1/items/00000000-0000-4000-8000-000000000000/predictions"), 404)

    def test_live_inference_images_left_behind_are_swept(self):
        """An image of live inference whose louped stopped mid-request (its row of model_inputs and its
        object in storage, planted here) is deleted when a louped starts, once older than
        model_input_max_age; a younger one is kept."""
        old, young = str(uuid.uuid4()), str(uuid.uuid4())
        folder = os.path.join(self.sandbox.storage_dir, "models", self.team, "inputs")
        os.makedirs(folder, exist_ok=True)
        for name in (old, young):
            with open(os.path.join(folder, name), "wb") as f:
                f.write(b"\x89PNG left behind")
        self.psql("INSERT INTO model_inputs (id, team_id, created_at) VALUES ('%s', '%s', now() - interval '2 hours'), "
                  "('%s', '%s', now())" % (old, self.team, young, self.team))
        self.start_louped({"model_input_max_age": "1h"})
        lh.wait_until(lambda: not os.path.exists(os.path.join(folder, old)), timeout=30, interval=0.1,
                      message="the old image to be swept")
        self.assertTrue(os.path.exists(os.path.join(folder, young)))
        self.assertEqual(self.query("SELECT id FROM model_inputs"), [[young]])

    def test_live_inferences_waiting_at_once_are_capped(self):
        """Live inferences waiting for a worker at once are capped per node (model_infer_max_waiting) and
        per team (model_infer_max_waiting_team): to a model whose queue has no worker, a team's requests
        past its share, and anyone's past the node's, get 503 with Retry-After at once naming the cap;
        the rest wait, side by side, until model_infer_timeout. The one HTTP thread serves other
        requests meanwhile (the waits are suspended), and the images of every request are deleted."""
        d = self.start_louped({"net_allow": "127.0.0.2/32", "http_threads": "1", "model_infer_timeout": "3s",
                               "model_infer_max_waiting": "3", "model_infer_max_waiting_team": "2"})
        rival = self.bootstrap(team="Rivals", email="r@example.com")["api_key"]
        paths = {}
        for key in (self.boot["api_key"], rival):
            m = d.client(api_key=key).post("/api/v1/models", json=kserve(queue="gpu")).json()  # no gpu worker
            paths[key] = "/api/v1/models/%s/infer" % m["id"]
        png = b"\x89PNG\r\n\x1a\n not decoded by louped"
        c = d.client(api_key=self.boot["api_key"])
        # the broker's topology is declared once louped is up: the first answer is the timeout
        lh.wait_until(lambda: c.post(paths[self.boot["api_key"]], data=png, headers={"Content-Type": "image/png"})
                      .status == 504, timeout=30, interval=0.5, message="live inference to reach the broker")
        answers = []

        def infer(key):
            r = d.client(api_key=key, timeout=60).post(paths[key], data=png, headers={"Content-Type": "image/png"})
            answers.append((key, r.status, time.monotonic() - t0, r))
        t0 = time.monotonic()
        threads = [threading.Thread(target=infer, args=(self.boot["api_key"],)) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1)  # the team's share waits; then the rival team comes
        threads += [threading.Thread(target=infer, args=(rival,)) for _ in range(2)]
        for t in threads[4:]:
            t.start()
        time.sleep(0.5)
        for _ in range(3):
            t = time.monotonic()
            self.assertEqual(d.client().get("/healthz").status, 200)
            self.assertEqual(c.get("/api/v1/models").status, 200)
            self.assertLess(time.monotonic() - t, 0.5)
        for t in threads:
            t.join()
        self.assertEqual(len(answers), 6)

        def got(key, status):
            return [(at, r) for k, s, at, r in answers if k == key and s == status]
        self.assertEqual((len(got(self.boot["api_key"], 504)), len(got(self.boot["api_key"], 503))), (2, 2), answers)
        self.assertEqual((len(got(rival, 504)), len(got(rival, 503))), (1, 1), answers)
        for key, cap in ((self.boot["api_key"], "(model_infer_max_waiting_team)"), (rival, "(model_infer_max_waiting)")):
            for at, r in got(key, 503):
                self.assertEqual(r.header("Retry-After"), "1")
                self.assertIn(cap, r.json()["detail"])
                self.assertLess(at, 2.0)
        # the waits ran side by side: each ended a whole wait after it began
        for at, r in got(self.boot["api_key"], 504):
            self.assertTrue(2.8 < at < 4.5, (at, r.text))
        # the images of every request are gone with them
        lh.wait_until(lambda: self.query("SELECT count(*) FROM model_inputs") == [["0"]], timeout=10, interval=0.1,
                      message="the images' notes to go")


if __name__ == "__main__":
    unittest.main()
