"""Models whose shapes are not boxes, run by loupe-worker through ONNX Runtime: PP-OCR's text detector
(a real DB model) registered as text_detect finds each line of a generated image of three lines of
text at known places as a polygon; instance masks become polygons, keypoints a skeleton named after
the class's skeleton, a classifier's best labels tags — each stored, listed and accepted into an
annotation of its type. The masks, keypoints and classifier models are ONNX graphs written here
that give fixed outputs, so the decoders' results are known by hand.
ONNX Runtime and the PP-OCR model are fetched into the build tree by the fixture
integration/model_files_setup (tests/integration/models/install.sh)."""
# ctest-fixtures: model_files
# ctest-timeout: 300

import os
import shutil
import subprocess
import unittest

import loupe_harness as lh
from onnx_writer import constant_model
from test_models_infer import iou

lh.require_services(binaries=("louped", "loupe-worker"))

FILES = os.environ.get("LOUPE_MODEL_FILES") or ""
ORT = os.path.join(FILES, "lib", "libonnxruntime.so.1")
PPOCR = os.path.join(FILES, "ppocr_det.onnx")

# ---- images -------------------------------------------------------------------------------------


def vips(*args):
    return subprocess.run(("vips",) + tuple(str(a) for a in args), check=True, capture_output=True,
                          text=True).stdout


def text_image(work, lines, width, height):
    """A PNG (bytes) of black text lines on white, each (text, x, y) drawn from (x, y); the boxes
    of their ink {x, y, w, h}."""
    page = os.path.join(work, "page.v")
    vips("black", page, width, height)
    vips("linear", page, page + ".w.v", 1, 255, "--uchar")
    os.replace(page + ".w.v", page)
    boxes = []
    for i, (text, x, y) in enumerate(lines):
        line = os.path.join(work, "line%d.v" % i)
        vips("text", line, text, "--font", "DejaVu Sans Bold 40", "--dpi", 72)
        left, top, w, h = (int(v) for v in vips("find_trim", line, "--background", 0).split())
        boxes.append({"x": x + left, "y": y + top, "w": w, "h": h})
        vips("invert", line, line + ".i.v")
        vips("insert", page, line + ".i.v", page + ".n.v", x, y)
        os.replace(page + ".n.v", page)
    out = os.path.join(work, "page.png")
    vips("colourspace", page, out, "srgb")
    with open(out, "rb") as f:
        return f.read(), boxes


def polygon_box(polygon):
    xs = [p["x"] for path in polygon["paths"] for p in path]
    ys = [p["y"] for path in polygon["paths"] for p in path]
    return {"x": min(xs), "y": min(ys), "w": max(xs) - min(xs), "h": max(ys) - min(ys)}


def pts(*xy):
    return [{"x": xy[i], "y": xy[i + 1]} for i in range(0, len(xy), 2)]


class ModelsShapesTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        if not os.path.isfile(ORT):
            lh.skip("%s is missing (the fixture integration/model_files_setup fetches it)" % ORT)
        if not shutil.which("vips"):
            lh.skip("the vips command (libvips) is not installed: the test images cannot be made")
        self.start_team()
        self.ds = self.c.post("/api/v1/datasets", json={"name": "Shapes"}).json()
        self.start_worker({"worker_queues": "system,media,cpu", "onnx_runtime_path": ORT})

    def klass(self, name, types, **more):
        body = {"name": name, "annotation_types": types}
        body.update(more)
        r = self.c.post("/api/v1/classes", json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def item(self, name, data):
        it = self.c.post("/api/v1/datasets/%s/items" % self.ds["id"],
                         json={"name": name, "slots": [{"name": "0", "type": "image"}]}).json()
        r = self.c.put("/api/v1/items/%s/slots/0/file" % it["id"], data=data,
                       headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 202, r.text)

        def ready():
            body = self.c.get("/api/v1/items/" + it["id"]).json()
            self.assertNotEqual(body["status"], "error", body)
            return body if body["status"] == "ready" else None
        lh.wait_until(ready, timeout=60, interval=0.2, message="item %s to be ready" % it["id"])
        return it["id"]

    def blank(self, name, width, height):
        path = os.path.join(self.sandbox.work_dir, name + ".png")
        vips("black", path, width, height, "--bands", 3)
        with open(path, "rb") as f:
            return self.item(name, f.read())

    def model(self, body, onnx):
        r = self.c.post("/api/v1/models", json=body)
        self.assertEqual(r.status, 201, r.text)
        m = r.json()
        r = self.c.put("/api/v1/models/%s/file" % m["id"], data=onnx,
                       headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 200, r.text)
        return m

    def run_model(self, model_id, item_id):
        r = self.c.post("/api/v1/models/%s/runs" % model_id, json={"filters": {"item_ids": [item_id]}})
        self.assertEqual(r.status, 202, r.text)
        job_id = r.json()["job"]["id"]

        def done():
            j = self.c.get("/api/v1/jobs/" + job_id).json()
            return j if j["status"] in ("succeeded", "failed") else None
        j = lh.wait_until(done, timeout=120, interval=0.2, message="run %s to finish" % job_id)
        self.assertEqual(j["status"], "succeeded", j)
        return self.c.get("/api/v1/items/%s/predictions?model_id=%s" % (item_id, model_id)).json()["predictions"]

    def accept(self, item_id, body):
        r = self.c.post("/api/v1/items/%s/predictions/accept" % item_id, json=body)
        self.assertEqual(r.status, 200, r.text)
        return r.json()["accepted"]

    def test_ppocr_text_lines_become_polygons(self):
        if not os.path.isfile(PPOCR):
            lh.skip("%s is missing (the fixture integration/model_files_setup fetches it)" % PPOCR)
        text = self.klass("Text", ["polygon"])
        png, lines = text_image(self.sandbox.work_dir, [("QUICK BROWN FOX", 40, 60), ("Loupe 2026", 300, 200),
                                                        ("jumps over the lazy dog", 60, 360)], 640, 480)
        page = self.item("page.png", png)
        with open(PPOCR, "rb") as f:
            onnx = f.read()
        m = self.model({"name": "PP-OCR det", "task": "text_detect", "runtime": "onnx",
                        "input": {"width": 640, "height": 480, "mean": [0.485, 0.456, 0.406],
                                  "std": [0.229, 0.224, 0.225]},
                        "output": {"decoder": "text_polygons", "binary_threshold": 0.3, "unclip_ratio": 1.5},
                        "labels": ["text"], "class_map": {"text": text}, "score_threshold": 0.6}, onnx)
        preds = self.run_model(m["id"], page)
        self.assertEqual(len(preds), len(lines), preds)
        for line in lines:
            best = max(preds, key=lambda p: iou(polygon_box(p["polygon"]), line))
            self.assertGreaterEqual(iou(polygon_box(best["polygon"]), line), 0.5, (line, best["polygon"]))
            self.assertEqual((best["type"], best["label"], best["class_id"]), ("polygon", "text", text))
            self.assertEqual(len(best["polygon"]["paths"]), 1)
            self.assertEqual(len(best["polygon"]["paths"][0]), 4)
            self.assertGreaterEqual(best["score"], 0.6)

        # live inference answers the same polygons; accepting makes them polygon annotations
        r = self.c.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": page})
        self.assertEqual(r.status, 200, r.text)
        live = sorted(r.json()["predictions"], key=lambda p: p["polygon"]["paths"][0][0]["y"])
        stored = sorted(preds, key=lambda p: p["polygon"]["paths"][0][0]["y"])
        for a, b in zip(live, stored):
            for pa, pb in zip(a["polygon"]["paths"][0], b["polygon"]["paths"][0]):
                self.assertAlmostEqual(pa["x"], pb["x"], places=3)
                self.assertAlmostEqual(pa["y"], pb["y"], places=3)
        self.assertEqual(len(self.accept(page, {"min_score": 0.5})), 3)
        anns = self.c.get("/api/v1/items/%s/annotations" % page).json()["annotations"]
        self.assertEqual(sorted(a["polygon"]["paths"][0][0]["x"] for a in anns),
                         sorted(p["polygon"]["paths"][0][0]["x"] for p in preds))
        self.assertTrue(all(a["source"] == "model" and a["class_id"] == text for a in anns), anns)

    def test_masks_become_polygons(self):
        cat = self.klass("Cat", ["polygon"])
        item = self.blank("cat", 16, 16)
        mask = [0.0] * 16
        for i in (1 * 4 + 1, 1 * 4 + 2, 2 * 4 + 1):  # an L of cells (1,1) (2,1) (1,2) of a 4 × 4 mask
            mask[i] = 0.9
        onnx = constant_model([1, 3, 8, 8], [("masks", [1, 1, 4, 4], mask), ("boxes", [1, 4], [2, 2, 6, 6]),
                                             ("scores", [1], [0.9]), ("classes", [1], [0])])
        m = self.model({"name": "seg", "task": "segment", "runtime": "onnx",
                        "input": {"width": 8, "height": 8, "resize": "stretch"},
                        "output": {"decoder": "masks", "names": {"masks": "masks", "boxes": "boxes",
                                                                 "scores": "scores", "classes": "classes"}},
                        "labels": ["cat"], "class_map": {"cat": cat}}, onnx)
        preds = self.run_model(m["id"], item)
        self.assertEqual(len(preds), 1, preds)
        # grid corner (u, v) → tensor (2u, 2v) → the 16 × 16 image (4u, 4v)
        want = {"paths": [pts(4, 4, 12, 4, 12, 8, 8, 8, 8, 12, 4, 12)]}
        self.assertEqual((preds[0]["type"], preds[0]["polygon"]), ("polygon", want))
        live = self.c.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": item}).json()["predictions"]
        self.assertEqual([(p["label"], p["polygon"]) for p in live], [("cat", want)])
        self.assertEqual(len(self.accept(item, {"ids": [preds[0]["id"]]})), 1)
        ann = self.c.get("/api/v1/items/%s/annotations" % item).json()["annotations"][0]
        self.assertEqual((ann["polygon"], ann["class_id"], ann["source"]), (want, cat, "model"))
        self.assertAlmostEqual(ann["confidence"], 0.9, places=5)

    def test_keypoints_take_the_class_skeleton(self):
        pose = self.klass("Pose", ["skeleton"],
                          skeleton={"nodes": [{"name": "head"}, {"name": "tail"}], "edges": [[0, 1]]})
        item = self.blank("pose", 16, 16)
        onnx = constant_model([1, 3, 8, 8], [("keypoints", [1, 1, 2, 3], [2, 2, 0.9, 4, 6, 0.2]),
                                             ("boxes", [1, 1, 4], [0, 0, 4, 4]), ("scores", [1, 1], [0.8])])
        m = self.model({"name": "pose", "task": "keypoints", "runtime": "onnx",
                        "input": {"width": 8, "height": 8, "resize": "stretch"},
                        "output": {"decoder": "keypoints", "keypoints_count": 2},
                        "labels": ["animal"], "class_map": {"animal": pose}}, onnx)
        preds = self.run_model(m["id"], item)
        self.assertEqual(len(preds), 1, preds)
        want = {"nodes": [{"name": "head", "x": 4, "y": 4, "occluded": False},
                          {"name": "tail", "x": 8, "y": 12, "occluded": True}]}
        self.assertEqual((preds[0]["type"], preds[0]["skeleton"]), ("skeleton", want))
        self.assertEqual(len(self.accept(item, {"min_score": 0.5})), 1)
        ann = self.c.get("/api/v1/items/%s/annotations" % item).json()["annotations"][0]
        self.assertEqual((ann["skeleton"], ann["class_id"]), (want, pose))

    def test_classifier_tags_the_item(self):
        night = self.klass("Night", ["tag"])
        item = self.blank("scene", 20, 10)
        onnx = constant_model([1, 3, 4, 4], [("logits", [1, 3], [1, 2, 3])])
        m = self.model({"name": "scene", "task": "classify", "runtime": "onnx",
                        "input": {"width": 4, "height": 4},
                        "output": {"decoder": "logits", "softmax": True, "top_k": 2},
                        "labels": ["day", "dusk", "night"], "class_map": {"night": night}, "score_threshold": 0.2},
                       onnx)
        preds = self.run_model(m["id"], item)
        # softmax of 1, 2, 3: 0.090, 0.245, 0.665 — the two best over 0.2
        self.assertEqual([(p["label"], p["type"], p["tag"], p["class_id"]) for p in preds],
                         [("night", "tag", {}, night), ("dusk", "tag", {}, None)])
        self.assertAlmostEqual(preds[0]["score"], 0.665241, places=5)
        self.assertAlmostEqual(preds[1]["score"], 0.244728, places=5)
        # only the label with a class becomes an annotation: the item's tag
        got = self.accept(item, {"min_score": 0})
        self.assertEqual([a["prediction_id"] for a in got], [preds[0]["id"]])
        ann = self.c.get("/api/v1/items/%s/annotations" % item).json()["annotations"]
        self.assertEqual([(a["tag"], a["class_id"]) for a in ann], [({}, night)])

    def test_decoder_options_registered(self):
        """Each decoder's options are written out with their defaults; another decoder's option, or a
        role it does not have, is a 422 naming it."""
        base = {"name": "m", "runtime": "onnx", "input": {"width": 64, "height": 64}, "labels": ["x"]}
        defaults = {
            ("segment", "masks"): {"mask_layout": "image", "mask_threshold": 0.5, "mask_sigmoid": False,
                                   "box_format": "xyxy", "max_detections": 100},
            ("keypoints", "keypoints"): {"keypoints_count": 17, "keypoint_threshold": 0.5},
            ("text_detect", "text_polygons"): {"binary_threshold": 0.3, "unclip_ratio": 1.5, "min_size": 3,
                                               "max_detections": 100},
            ("classify", "logits"): {"softmax": False, "top_k": 1},
        }
        for (task, decoder), want in defaults.items():
            output = {"decoder": decoder}
            if decoder == "keypoints":
                output["keypoints_count"] = 17
            r = self.c.post("/api/v1/models", json=dict(base, task=task, output=output))
            self.assertEqual(r.status, 201, r.text)
            got = r.json()["output"]
            self.assertEqual({k: got[k] for k in want}, want, got)
        bad = dict(base, task="segment", output={"decoder": "masks", "top_k": 2, "mask_layout": "rle",
                                                 "names": {"probability_map": "p"}})
        for field in ("output.top_k", "output.mask_layout", "output.names.probability_map"):
            self.assertProblem(self.c.post("/api/v1/models", json=bad), 422, field)
        self.assertProblem(self.c.post("/api/v1/models", json=dict(base, task="keypoints",
                                                                   output={"decoder": "keypoints"})),
                           422, "output.keypoints_count")

    def test_outputs_that_do_not_fit_fail_the_run(self):
        item = self.blank("x", 8, 8)
        onnx = constant_model([1, 3, 4, 4], [("logits", [1, 2], [1, 2])])
        m = self.model({"name": "three labels", "task": "classify", "runtime": "onnx",
                        "input": {"width": 4, "height": 4}, "output": {"decoder": "logits"},
                        "labels": ["a", "b", "c"]}, onnx)
        r = self.c.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": item})
        body = self.assertProblem(r, 422)
        self.assertIn("3 labels", body["detail"])


if __name__ == "__main__":
    unittest.main()
