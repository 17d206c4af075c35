"""Models served over HTTP (runtime http), with model servers written here on a loopback address that
net_allow lets through: a KServe v2 server gets the preprocessed tensor and answers tensors that the
boxes_scores_classes decoder turns into a known box, stored by a batch run and answered by live
inference (on an item and on an image body); a V7-style server gets the image as a PNG and answers
the box itself; a 500 then a 200 is retried; a slow server fails the run and the live inference with
a sentence naming it and model_http_timeout; a model the server does not have is refused naming the
spec member; an endpoint on a refused address is a 422 naming endpoint.url at registration. Live
inferences waiting on a slow server, or on a queue no worker consumes, hold no HTTP thread (other
requests answer at once), a client gone while its request waits leaves nothing behind, and louped
stops with requests waiting."""
# ctest-timeout: 300

import base64
import json
import os
import socket
import struct
import threading
import time
import unittest
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import loupe_harness as lh
from media_testlib import png_grey
from test_models_infer import ImageItems

lh.require_services(binaries=("louped", "loupe-worker"))

HOST = "127.0.0.2"  # inside net_allow below; 127.0.0.1 is not
NET = {"net_allow": HOST + "/32"}
W, H = 320, 240  # the items' image
SIDE = 64        # the model's input


# The KServe models the server has: each one's input (the outputs and answers are the same).
INPUTS = {"/v2/models/det": {"name": "images", "datatype": "FP32", "shape": [-1, 3, SIDE, SIDE]},
          "/v2/models/det8": {"name": "images", "datatype": "UINT8", "shape": [SIDE, SIDE, 3]},
          "/v2/models/det16": {"name": "images", "datatype": "FP16", "shape": [-1, 3, SIDE, SIDE]}}


class ModelServer:
    """A model server on HOST speaking KServe v2 (/v2/models/det…) and V7-style (/v7/classes,
    /v7/infer). plan(...) scripts the next infer answers: a status, or ("sleep", seconds)."""

    def __init__(self):
        self.requests = []
        self._plan = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, doc):
                body = json.dumps(doc).encode() if not isinstance(doc, bytes) else doc
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the caller gave up (a timeout)

            def do_GET(self):
                with server._lock:
                    server.requests.append(("GET", self.path, None))
                if self.path in INPUTS:
                    self.answer(200, {"name": self.path.split("/")[-1], "versions": ["1"], "platform": "test",
                                      "inputs": [INPUTS[self.path]],
                                      "outputs": [{"name": "boxes", "datatype": "FP32", "shape": [-1, 4]},
                                                  {"name": "scores", "datatype": "FP32", "shape": [-1]},
                                                  {"name": "classes", "datatype": "INT64", "shape": [-1]}]})
                elif self.path in ("/v7/classes", "/v7seg/classes", "/v7tag/classes"):
                    self.answer(200, [{"name": "face", "type": "bounding_box"}, {"name": "hat", "type": "polygon"}])
                else:
                    self.answer(404, {"error": "no model at " + self.path})

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"null")
                with server._lock:
                    server.requests.append(("POST", self.path, body))
                    step = server._plan.pop(0) if server._plan else 200
                if isinstance(step, tuple):
                    time.sleep(step[1])
                    step = 200
                if step != 200:
                    return self.answer(step, {"error": "the model server is having a bad day"})
                if self.path[:-len("/infer")] in INPUTS:
                    # two candidates: a box in normalized xyxy (kept) and one under the threshold
                    self.answer(200, {"model_name": "det", "outputs": [
                        {"name": "scores", "shape": [2], "datatype": "FP32", "data": [0.9, 0.1]},
                        {"name": "classes", "shape": [2], "datatype": "INT64", "data": [0, 0]},
                        {"name": "boxes", "shape": [2, 4], "datatype": "FP32",
                         "data": [[0.25, 0.5, 0.75, 1.0], [0, 0, 0.1, 0.1]]}]})
                elif self.path == "/v7/infer":
                    self.answer(200, {"status": "succeeded", "results": [
                        {"name": "face", "label": "face", "confidence": 0.95,
                         "bounding_box": {"x": 40, "y": 30, "w": 100, "h": 50}},
                        {"name": "hat", "confidence": 0.99, "polygon": {"path": [{"x": 1, "y": 1}, {"x": 9, "y": 9}]}},
                        {"name": "face", "confidence": 0.2, "bounding_box": {"x": 0, "y": 0, "w": 5, "h": 5}}]})
                elif self.path == "/v7seg/infer":
                    self.answer(200, {"status": "succeeded", "results": [
                        {"name": "hat", "confidence": 0.9,
                         "polygon": {"path": [{"x": 10, "y": 20}, {"x": 400, "y": 20}, {"x": 50, "y": 80}]}},
                        {"name": "face", "confidence": 0.8, "bounding_box": {"x": 40, "y": 30, "w": 100, "h": 50}}]})
                elif self.path == "/v7tag/infer":
                    self.answer(200, {"status": "succeeded", "results": [
                        {"name": "face", "confidence": 0.4, "tag": {}}, {"name": "hat", "confidence": 0.7},
                        {"name": "face", "confidence": 0.9}]})
                else:
                    self.answer(404, {"error": "no model at " + self.path})

        self.httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://%s:%d" % (HOST, self.httpd.server_address[1])
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def plan(self, *steps):
        with self._lock:
            self._plan.extend(steps)

    def posts(self, path):
        with self._lock:
            return [b for m, p, b in self.requests if m == "POST" and p == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


class ModelsHttpTest(ImageItems, lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.server = ModelServer()
        self.addCleanup(self.server.close)
        self.start_team(NET)
        self.ds = self.c.post("/api/v1/datasets", json={"name": "Frames"}).json()
        self.face = self.c.post("/api/v1/classes", json={"name": "Face", "annotation_types": ["bounding_box"]}).json()

    def worker(self, **settings):
        s = {"worker_queues": "system,media,cpu", "model_http_timeout": "5s"}
        s.update(NET)
        s.update(settings)
        return self.start_worker(s)

    def grey_item(self, name="grey.png"):
        item_id = self.item(name, png_grey(W, H))
        self.wait_ready(item_id)
        return item_id

    def kserve(self, **over):
        body = {"name": "det", "task": "detect", "runtime": "http",
                "endpoint": {"protocol": "kserve_v2", "url": self.server.url, "model_name": "det"},
                "input": {"width": SIDE, "height": SIDE, "resize": "stretch", "name": "images"},
                "output": {"decoder": "boxes_scores_classes", "box_format": "xyxy_norm",
                           "names": {"boxes": "boxes", "scores": "scores", "classes": "classes"}},
                "labels": ["face"], "class_map": {"face": self.face["id"]}, "score_threshold": 0.5}
        body.update(over)
        r = self.c.post("/api/v1/models", json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def v7(self):
        r = self.c.post("/api/v1/models", json={
            "name": "byom", "task": "detect", "runtime": "http",
            "endpoint": {"protocol": "v7_byom", "url": self.server.url + "/v7"},
            "input": {"width": SIDE, "height": SIDE}, "output": {"decoder": "boxes_scores_classes"},
            "labels": ["face"], "class_map": {"face": self.face["id"]}, "score_threshold": 0.5})
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def run_job(self, model_id, item_id, client=None, status="succeeded"):
        r = (client or self.c).post("/api/v1/models/%s/runs" % model_id, json={"filters": {"item_ids": [item_id]}})
        self.assertEqual(r.status, 202, r.text)
        job_id = r.json()["job"]["id"]

        def done():
            j = self.c.get("/api/v1/jobs/" + job_id).json()
            return j if j["status"] in ("succeeded", "failed") else None
        j = lh.wait_until(done, timeout=120, interval=0.2, message="run %s to finish" % job_id)
        self.assertEqual(j["status"], status, j)
        return j

    def predictions(self, item_id):
        return self.c.get("/api/v1/items/%s/predictions" % item_id).json()["predictions"]

    def test_kserve_batch_and_live(self):
        worker = self.worker()
        item = self.grey_item()
        m = self.kserve()
        self.assertIsNone(m["upload_url"])
        job = self.run_job(m["id"], item)
        self.assertEqual((job["result"]["items"], job["result"]["predictions"]), (1, 1), job)
        preds = self.predictions(item)
        self.assertEqual(len(preds), 1, preds)
        p = preds[0]
        self.assertEqual((p["label"], p["class_id"], p["run_id"]), ("face", self.face["id"], job["id"]))
        self.assertAlmostEqual(p["score"], 0.9, places=5)
        for k, v in {"x": 80, "y": 120, "w": 160, "h": 120}.items():
            self.assertAlmostEqual(p["bounding_box"][k], v, places=3)

        # The server asked about its model once, then got the preprocessed tensor: FP32 [1, 3, 64, 64],
        # stretched grey 128/255.
        self.assertEqual([r[:2] for r in self.server.requests if r[0] == "GET"], [("GET", "/v2/models/det")])
        sent = self.server.posts("/v2/models/det/infer")
        self.assertEqual(len(sent), 1)
        inp = sent[0]["inputs"][0]
        self.assertEqual((inp["name"], inp["datatype"], inp["shape"]), ("images", "FP32", [1, 3, SIDE, SIDE]))
        self.assertEqual(len(inp["data"]), 3 * SIDE * SIDE)
        self.assertAlmostEqual(inp["data"][0], 128 / 255, places=4)

        # Live inference on the item answers the same box, storing nothing.
        r = self.c.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": item})
        self.assertEqual(r.status, 200, r.text)
        live = r.json()["predictions"]
        self.assertEqual(len(live), 1, live)
        for k in ("x", "y", "w", "h"):
            self.assertAlmostEqual(live[0]["bounding_box"][k], p["bounding_box"][k], places=3)

        # … and on an image sent as the body: the box in that image's pixels.
        r = self.c.post("/api/v1/models/%s/infer" % m["id"], data=png_grey(200, 100),
                        headers={"Content-Type": "image/png"})
        self.assertEqual(r.status, 200, r.text)
        size = r.json()["image"]  # decoded no smaller than the model's input needs
        self.assertAlmostEqual(size["width"] / size["height"], 2, places=1)
        self.assertGreaterEqual(size["height"], SIDE)
        self.assertEqual(len(r.json()["predictions"]), 1, r.text)
        box = r.json()["predictions"][0]["bounding_box"]
        for k, v in {"x": 0.25, "w": 0.5}.items():
            self.assertAlmostEqual(box[k] / size["width"], v, places=2)
        for k, v in {"y": 0.5, "h": 0.5}.items():
            self.assertAlmostEqual(box[k] / size["height"], v, places=2)
        self.assertEqual(len(self.predictions(item)), 1)
        self.assertEqual(self.query("SELECT count(*) FROM predictions")[0][0], "1")
        # both answers reached their caller, and the worker does not say otherwise (a direct reply is
        # never "routed", so asking the broker to return it unroutable made it report each one lost)
        self.assertNotIn("was not delivered", worker.log())

        # A 500, then a 200: tried again, the run succeeds.
        self.server.plan(500)
        before = len(self.server.posts("/v2/models/det/infer"))
        job = self.run_job(m["id"], item)
        self.assertEqual(job["result"]["predictions"], 1, job)
        self.assertEqual(len(self.server.posts("/v2/models/det/infer")), before + 2)

    def test_v7_batch_and_live(self):
        self.worker()
        item = self.grey_item()
        m = self.v7()
        job = self.run_job(m["id"], item)
        preds = self.predictions(item)
        self.assertEqual(len(preds), 1, preds)  # hat is not a label of the model; 0.2 is under the threshold
        self.assertEqual((preds[0]["label"], preds[0]["class_id"], preds[0]["run_id"]),
                         ("face", self.face["id"], job["id"]))
        self.assertEqual(preds[0]["bounding_box"], {"x": 40, "y": 30, "w": 100, "h": 50})
        self.assertAlmostEqual(preds[0]["score"], 0.95, places=5)
        # The server got the image as a PNG of the decoded pixels, and was asked for its classes first.
        self.assertIn(("GET", "/v7/classes", None), self.server.requests)
        sent = self.server.posts("/v7/infer")
        self.assertEqual(len(sent), 1)
        png = base64.b64decode(sent[0]["image"]["base64"])
        self.assertEqual(png_size(png), (W, H))
        raw = zlib.decompress(png[41:41 + struct.unpack(">I", png[33:37])[0]])
        self.assertEqual(raw[:4], b"\x00\x80\x80\x80")

        r = self.c.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": item})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([x["bounding_box"] for x in r.json()["predictions"]], [preds[0]["bounding_box"]])

        # A model whose label the server does not have: the run fails naming it.
        bad = self.c.post("/api/v1/models", json={
            "name": "byom", "task": "detect", "runtime": "http",
            "endpoint": {"protocol": "v7_byom", "url": self.server.url + "/v7"},
            "input": {"width": SIDE, "height": SIDE}, "output": {"decoder": "boxes_scores_classes"},
            "labels": ["cat"]}).json()
        j = self.run_job(bad["id"], item, status="failed")
        self.assertIn("\"cat\" is not one of the model server's classes", j["error"])

    def test_kserve_uint8_and_fp16_inputs(self):
        """A UINT8 input without a batch (Triton's image models) gets the pixels as they are, in the
        layout it names; an FP16 input the tensor as FP32 would; a UINT8 model whose spec scales the
        pixels fails naming input.scale."""
        self.worker()
        item = self.grey_item()
        raw = {"width": SIDE, "height": SIDE, "resize": "stretch", "name": "images", "layout": "NHWC",
               "scale": 1, "mean": [0], "std": [1]}
        m8 = self.kserve(name="u8", endpoint={"protocol": "kserve_v2", "url": self.server.url, "model_name": "det8"},
                         input=raw)
        job = self.run_job(m8["id"], item)
        self.assertEqual(job["result"]["predictions"], 1, job)
        inp = self.server.posts("/v2/models/det8/infer")[0]["inputs"][0]
        self.assertEqual((inp["datatype"], inp["shape"]), ("UINT8", [SIDE, SIDE, 3]))
        self.assertEqual(len(inp["data"]), 3 * SIDE * SIDE)
        self.assertEqual(set(inp["data"]), {128})  # the grey image's pixels, whole numbers
        box = [p for p in self.predictions(item) if p["run_id"] == job["id"]][0]["bounding_box"]
        for k, v in {"x": 80, "y": 120, "w": 160, "h": 120}.items():
            self.assertAlmostEqual(box[k], v, places=3)

        m16 = self.kserve(name="f16", endpoint={"protocol": "kserve_v2", "url": self.server.url,
                                                "model_name": "det16"})
        job = self.run_job(m16["id"], item)
        self.assertEqual(job["result"]["predictions"], 1, job)
        inp = self.server.posts("/v2/models/det16/infer")[0]["inputs"][0]
        self.assertEqual((inp["datatype"], inp["shape"]), ("FP16", [1, 3, SIDE, SIDE]))
        self.assertAlmostEqual(inp["data"][0], 128 / 255, places=4)

        scaled = self.kserve(name="u8 scaled", endpoint={"protocol": "kserve_v2", "url": self.server.url,
                                                        "model_name": "det8"}, input=dict(raw, scale=1 / 255))
        j = self.run_job(scaled["id"], item, status="failed")
        self.assertIn("UINT8", j["error"])
        self.assertIn("scale", j["error"])

    def test_v7_segment_and_classify(self):
        """V7-style servers for segment (polygons, a box as its rectangle) and classify (tags) models."""
        self.worker()
        item = self.grey_item()
        hat = self.c.post("/api/v1/classes", json={"name": "Hat", "annotation_types": ["polygon"]}).json()
        tagged = self.c.post("/api/v1/classes", json={"name": "Scene", "annotation_types": ["tag"]}).json()
        seg = self.c.post("/api/v1/models", json={
            "name": "byom seg", "task": "segment", "runtime": "http",
            "endpoint": {"protocol": "v7_byom", "url": self.server.url + "/v7seg"},
            "input": {"width": SIDE, "height": SIDE}, "output": {"decoder": "masks"},
            "labels": ["hat", "face"], "class_map": {"hat": hat["id"], "face": hat["id"]}, "score_threshold": 0.5})
        self.assertEqual(seg.status, 201, seg.text)
        job = self.run_job(seg.json()["id"], item)
        preds = sorted(self.predictions(item), key=lambda p: -p["score"])
        self.assertEqual([(p["label"], p["type"]) for p in preds], [("hat", "polygon"), ("face", "polygon")])
        self.assertEqual(preds[0]["run_id"], job["id"])
        self.assertEqual(preds[0]["polygon"]["paths"], [[{"x": 10, "y": 20}, {"x": W, "y": 20}, {"x": 50, "y": 80}]])
        self.assertEqual(preds[1]["polygon"]["paths"], [[{"x": 40, "y": 30}, {"x": 140, "y": 30}, {"x": 140, "y": 80},
                                                          {"x": 40, "y": 80}]])
        # accepted, a predicted polygon is a polygon annotation
        r = self.c.post("/api/v1/items/%s/predictions/accept" % item, json={"ids": [preds[0]["id"]]})
        self.assertEqual(r.status, 200, r.text)
        anns = self.c.get("/api/v1/items/%s/annotations" % item).json()["annotations"]
        self.assertEqual([(a["class_id"], a["polygon"]["paths"]) for a in anns], [(hat["id"], preds[0]["polygon"]["paths"])])

        cls = self.c.post("/api/v1/models", json={
            "name": "byom tags", "task": "classify", "runtime": "http",
            "endpoint": {"protocol": "v7_byom", "url": self.server.url + "/v7tag"},
            "input": {"width": SIDE, "height": SIDE}, "output": {"decoder": "logits", "top_k": 5},
            "labels": ["face", "hat"], "class_map": {"face": tagged["id"]}, "score_threshold": 0.5})
        self.assertEqual(cls.status, 201, cls.text)
        r = self.c.post("/api/v1/models/%s/infer" % cls.json()["id"], json={"item_id": item})
        self.assertEqual(r.status, 200, r.text)
        live = r.json()["predictions"]
        self.assertEqual([(p["label"], p["class_id"], round(p["score"], 5)) for p in live],
                         [("face", tagged["id"], 0.9), ("hat", None, 0.7)])
        self.assertIn("tag", live[0])

    def test_slow_server_times_out(self):
        self.worker(model_http_timeout="1s", model_http_retries=0)
        item = self.grey_item()
        m = self.kserve()
        once = self.start_louped(dict(NET, job_max_attempts=1)).client(api_key=self.boot["api_key"])
        self.server.plan(("sleep", 3))
        j = self.run_job(m["id"], item, client=once, status="failed")
        self.assertIn("model server %s/v2/models/det/infer did not answer within 1000 ms (model_http_timeout)"
                      % self.server.url, j["error"])
        self.assertEqual(self.predictions(item), [])

        # Live inference says the same, as a 504.
        self.server.plan(("sleep", 3))
        body = self.assertProblem(self.c.post("/api/v1/models/%s/infer" % m["id"], json={"item_id": item}), 504)
        self.assertIn("did not answer within 1000 ms (model_http_timeout)", body["detail"])

    def test_server_refusing_and_misfits(self):
        self.worker(model_http_retries=1)
        item = self.grey_item()
        once = self.start_louped(dict(NET, job_max_attempts=1)).client(api_key=self.boot["api_key"])
        # 500 on every try: the run fails saying so, after the retry.
        m = self.kserve()
        self.server.plan(500, 500)
        j = self.run_job(m["id"], item, client=once, status="failed")
        self.assertIn("answered HTTP 500 (2 tries)", j["error"])
        # A model the server's metadata does not fit: the spec member is named.
        m2 = self.kserve(input={"width": 128, "height": SIDE, "resize": "stretch"})
        j = self.run_job(m2["id"], item, client=once, status="failed")
        self.assertIn("has %d in dimension 3 where the spec gives 128" % SIDE, j["error"])
        # No model server at all: cannot be reached.
        self.server.close()
        m3 = self.kserve(name="gone")
        body = self.assertProblem(self.c.post("/api/v1/models/%s/infer" % m3["id"], json={"item_id": item}), 503)
        self.assertIn("model server %s/v2/models/det cannot be reached (2 tries)" % self.server.url, body["detail"])

    def test_registration_checks_the_address(self):
        body = {"name": "det", "task": "detect", "runtime": "http",
                "endpoint": {"protocol": "kserve_v2", "url": "http://127.0.0.1:9/", "model_name": "det"},
                "input": {"width": SIDE, "height": SIDE}, "output": {"decoder": "boxes_scores_classes"},
                "labels": ["face"]}
        got = self.assertProblem(self.c.post("/api/v1/models", json=body), 422)
        self.assertEqual([e["field"] for e in got["errors"]], ["endpoint.url"])
        self.assertIn("127.0.0.1", got["errors"][0]["message"])
        for url in ("http://169.254.169.254/", "http://user:pw@%s/" % HOST, "http://[::1]:8000"):
            body["endpoint"]["url"] = url
            self.assertProblem(self.c.post("/api/v1/models", json=body), 422, "endpoint.url")
        # The same check on a PATCH; an allowed address and a host name pass.
        m = self.kserve()
        self.assertProblem(self.c.patch("/api/v1/models/" + m["id"], json={"endpoint": {
            "protocol": "v7_byom", "url": "http://10.1.2.3"}}), 422, "endpoint.url")
        r = self.c.patch("/api/v1/models/" + m["id"], json={"endpoint": {
            "protocol": "v7_byom", "url": "https://models.example.com"}})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.query("SELECT count(*) FROM models")[0][0], "1")

    def test_image_bodies_roles_and_teams(self):
        self.worker()
        self.grey_item()  # the broker's queues are declared and the worker consumes
        m = self.kserve()
        path = "/api/v1/models/%s/infer" % m["id"]
        self.assertProblem(self.c.post(path, data=b"hello", headers={"Content-Type": "text/plain"}), 415)
        r = self.c.post(path, data=b"not an image at all", headers={"Content-Type": "image/png"})
        self.assertIn(r.status, (415, 422), r.text)  # decoded in the sandbox, refused there
        small = self.start_louped(dict(NET, model_infer_image_max="2k")).client(api_key=self.boot["api_key"])
        self.assertProblem(small.post(path, data=png_grey(300, 300, 7) + b"\x00" * 4096,
                                      headers={"Content-Type": "image/png"}), 413)
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="r@example.com")["api_key"])
        self.assertProblem(rival.post(path, data=png_grey(8, 8), headers={"Content-Type": "image/png"}), 404)
        s = self.member_session("a@example.com", "annotator")
        self.assertProblem(s.post(path, data=png_grey(8, 8), headers={"Content-Type": "image/png"}), 403)
        # Live inference stores nothing.
        self.assertEqual(self.query("SELECT count(*) FROM predictions")[0][0], "0")

    def inputs_left(self):
        """Live inference images still noted (model_inputs) and still in storage."""
        folder = os.path.join(self.sandbox.storage_dir, "models", self.team, "inputs")
        files = os.listdir(folder) if os.path.isdir(folder) else []
        return int(self.query("SELECT count(*) FROM model_inputs")[0][0]), len(files)

    def assert_fast(self, d, model_id):
        """/healthz and an API read answer within half a second."""
        for path, client in (("/healthz", d.client()), ("/api/v1/models/" + model_id,
                                                        d.client(api_key=self.boot["api_key"]))):
            t = time.monotonic()
            r = client.get(path, timeout=5)
            self.assertEqual(r.status, 200, r.text)
            self.assertLess(time.monotonic() - t, 0.5, path)

    def test_live_inference_waits_without_an_http_thread(self):
        """A live inference is suspended while it waits for the worker's answer, its HTTP thread free:
        with two HTTP threads, eight inferences (items and image bodies) waiting on a slow model
        server, then sixteen on a queue no worker consumes, leave /healthz and the API answering
        within half a second; the answers are as before (200 with Server-Timing, the worker's own
        errors, 504 past
        model_infer_timeout, every wait ending about model_infer_timeout after it began rather than
        one after another) and the images are deleted."""
        self.worker(model_http_timeout="20s")
        item = self.grey_item()
        m = self.kserve()
        nobody = self.kserve(name="nobody", queue="gpu")  # no worker consumes gpu here
        d = self.start_louped(dict(NET, http_threads="2", model_infer_timeout="4s", model_infer_max_waiting="32"))
        key = self.boot["api_key"]
        r = d.client(api_key=key).post("/api/v1/models/%s/infer" % m["id"], json={"item_id": item})
        self.assertEqual(r.status, 200, r.text)  # the live queue is declared and consumed

        def burst(model_id, n):
            answers, path = [], "/api/v1/models/%s/infer" % model_id

            def infer(i):
                c, t = d.client(api_key=key, timeout=60), time.monotonic()
                if i % 4:
                    r = c.post(path, json={"item_id": item})
                else:
                    r = c.post(path, data=png_grey(W, H), headers={"Content-Type": "image/png"})
                answers.append((r.status, time.monotonic() - t, r))
            threads = [threading.Thread(target=infer, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            return threads, answers

        n = 8
        before = len(self.server.posts("/v2/models/det/infer"))
        self.server.plan(*[("sleep", 1)] * n)
        threads, answers = burst(m["id"], n)
        lh.wait_until(lambda: len(self.server.posts("/v2/models/det/infer")) > before, timeout=10, interval=0.05,
                      message="the model server to be asked")
        while any(t.is_alive() for t in threads):
            self.assert_fast(d, m["id"])
            time.sleep(0.2)
        self.assertEqual(len(answers), n)
        # what the worker answered (200; or, behind its own backlog of a slow server, a deadline it
        # passed: a 504 or 503 "inference failed: …"), or the wait's own 504: never the cap's 503
        self.assertTrue(set(a[0] for a in answers) <= {200, 503, 504}, [(a[0], a[2].text) for a in answers])
        for status, _, r in answers:
            if status == 503:
                self.assertTrue(r.json()["detail"].startswith("inference failed: "), r.text)
        done = [r for status, _, r in answers if status == 200]
        self.assertTrue(done, [(a[0], a[2].text) for a in answers])
        for r in done:
            self.assertEqual(len(r.json()["predictions"]), 1, r.text)
            self.assertRegex(r.header("Server-Timing") or "", r"^worker;dur=[0-9.]+")
        for status, took, r in answers:
            self.assertLess(took, 6.5, (status, r.text))
            if status == 504:  # the wait's own, or the worker's model server past the request's deadline
                self.assertTrue("model_infer_timeout" in r.json().get("hint", "") or
                                "(model_http_timeout)" in r.json()["detail"], r.text)

        n = 16
        threads, answers = burst(nobody["id"], n)
        time.sleep(0.5)
        while any(t.is_alive() for t in threads):
            self.assert_fast(d, m["id"])
            time.sleep(0.2)
        self.assertEqual([a[0] for a in answers], [504] * n, [a[2].text for a in answers])
        for _, took, r in answers:
            self.assertGreater(took, 3.5)
            self.assertLess(took, 6.5)  # side by side, not one after another
            self.assertIn("no worker of queue gpu answered within model_infer_timeout", r.json().get("hint", ""))
        lh.wait_until(lambda: self.inputs_left() == (0, 0), timeout=10, interval=0.1, message="the images to go")

    def test_suspended_client_leaving_and_shutdown(self):
        """A client that disconnects while its live inference waits leaves nothing behind once the
        wait ends (its image deleted, louped serving); louped stopped with inferences waiting answers
        or closes them, deletes their images and exits cleanly."""
        nobody = self.kserve(name="nobody", queue="gpu")
        path = "/api/v1/models/%s/infer" % nobody["id"]
        key = self.boot["api_key"]
        d = self.start_louped(dict(NET, http_threads="1", model_infer_timeout="3s", shutdown_grace="1s"))
        lh.wait_until(lambda: d.client(api_key=key).post(path, data=b"x", headers={"Content-Type": "image/png"})
                      .status == 504, timeout=30, interval=0.5, message="live inference to reach the broker")

        body = png_grey(16, 16)
        socks = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: ApiKey %s\r\nContent-Type: image/png\r\n"
                       "Content-Length: %d\r\n\r\n" % (path, key, len(body))).encode() + body)
            socks.append(s)
        lh.wait_until(lambda: self.inputs_left() == (3, 3), timeout=10, interval=0.05, message="the images to be in")
        for s in socks:
            s.close()
        self.assert_fast(d, nobody["id"])  # one HTTP thread, three suspended requests
        lh.wait_until(lambda: self.inputs_left() == (0, 0), timeout=10, interval=0.1,
                      message="the images of the clients gone to be deleted")
        self.assert_fast(d, nobody["id"])

        answers = []

        def infer():
            try:
                r = d.client(api_key=key, timeout=30).post(path, data=body, headers={"Content-Type": "image/png"})
                answers.append(r.status)
            except OSError as e:  # closed at shutdown
                answers.append(type(e).__name__)
        threads = [threading.Thread(target=infer) for _ in range(4)]
        for t in threads:
            t.start()
        lh.wait_until(lambda: self.inputs_left() == (4, 4), timeout=10, interval=0.05, message="the images to be in")
        t = time.monotonic()
        self.assertEqual(d.stop(timeout=20), 0)
        self.assertLess(time.monotonic() - t, 8)
        for t in threads:
            t.join()
        self.assertEqual(len(answers), 4)
        self.assertTrue(all(a == 504 or isinstance(a, str) for a in answers), answers)
        self.assertEqual(self.inputs_left(), (0, 0))
        self.assertNotIn("AddressSanitizer", d.log())


if __name__ == "__main__":
    unittest.main()
