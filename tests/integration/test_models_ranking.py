"""Active learning over real batch runs (docs/MODELS.md "Active learning"): a tiny ONNX model built
here (a "colour classifier" that gives one box, a score per label — the softmax of the image's mean
colour — and that mean colour as its embedding) runs over uniform images of known colours; the
ranking route orders the items exactly as computed by hand from their stored predictions'
probabilities and embeddings (least confidence, margin, entropy, k-center greedy novelty). BlazeFace,
which gives one score per face and no embedding, ranks with the (s, 1 − s) distribution and the
built-in descriptor. A workflow sampling stage by entropy with random_share 0 takes exactly the top
N. Bad strategies, unfinished runs, other models' runs, another team and too low a role are refused."""
# ctest-fixtures: model_files
# ctest-timeout: 300

import math
import struct
import unittest
import zlib

import loupe_harness as lh
import onnx_writer as ow
from test_models_infer import ASTRONAUT, BLAZEFACE, ORT, ImageItems, blazeface

lh.require_services(binaries=("louped", "loupe-worker"))

LABELS = ["red", "green", "blue"]
GAIN = 4.0  # logits = GAIN × mean colour (0–1)


# ---- a tiny ONNX model ----------------------------------------------------------------------

def colour_model():
    """x [1, 3, 8, 8] → boxes [1, 4] (the whole tensor), scores [1, 3] = softmax(GAIN × mean colour),
    mean [1, 3] (the embedding)."""
    reduce = ow.attr_ints("axes", [2, 3]) + ow.attr_int("keepdims", 0)
    return ow.model([ow.node("ReduceMean", ["x"], ["mean"], reduce),
                     ow.node("Mul", ["mean", "gain"], ["logits"]),
                     ow.node("Softmax", ["logits"], ["scores"], ow.attr_int("axis", 1)),
                     ow.node("Identity", ["box"], ["boxes"])],
                    "colour", [ow.tensor("gain", [1], [GAIN]), ow.tensor("box", [1, 4], [0, 0, 8, 8])],
                    [("x", [1, 3, 8, 8])], [("boxes", [1, 4]), ("scores", [1, 3]), ("mean", [1, 3])])


def colour_png(rgb, width=16, height=12):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# ---- the scores, by hand ----------------------------------------------------------------------

def uncertainty(q):
    s = sum(q)
    p = sorted((v / s for v in q), reverse=True)
    p2 = p[1] if len(p) > 1 else 0.0
    h = -sum(v * math.log(v) for v in p if v > 0)
    return {"least_confidence": 1 - p[0], "margin": 1 - (p[0] - p2),
            "entropy": h / math.log(len(p)) if len(p) > 1 else 0.0}


def item_scores(preds):
    """The most uncertain prediction's scores; 0 without predictions."""
    out = {"least_confidence": 0.0, "margin": 0.0, "entropy": 0.0}
    for p in preds:
        q = p["probabilities"] if p["probabilities"] else [p["score"], 1 - p["score"]]
        for k, v in uncertainty(q).items():
            out[k] = max(out[k], v)
    return out


def kcenter(embeddings):
    """item ids in k-center greedy order from the centroid, with their novelty."""
    ids = sorted(embeddings)
    n, d = len(ids), len(embeddings[ids[0]])
    centroid = [sum(embeddings[i][k] for i in ids) / n for k in range(d)]
    near = {i: math.dist(embeddings[i], centroid) for i in ids}
    order = []
    while near:
        best = max(near, key=lambda i: (near[i], [-ord(c) for c in i]))
        order.append((best, near.pop(best)))
        for i in near:
            near[i] = min(near[i], math.dist(embeddings[i], embeddings[best]))
    return order


def mix64(z):
    """splitmix64, as the worker's random projection hashes (i, j)."""
    m = (1 << 64) - 1
    z = (z + 0x9e3779b97f4a7c15) & m
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & m
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & m
    return z ^ (z >> 31)


def project(v, k):
    """v projected to k values with the ±1 signs of mix64((j << 32) ^ i), scaled to unit length."""
    out = [sum(x if mix64((j << 32) ^ i) >> 63 else -x for i, x in enumerate(v)) for j in range(k)]
    norm = math.sqrt(sum(x * x for x in out))
    return [x / norm for x in out] if norm > 0 else out


def colour_body(name):
    return {"name": name, "task": "detect", "runtime": "onnx",
            "input": {"width": 8, "height": 8, "resize": "stretch"},
            "output": {"decoder": "boxes_scores_classes",
                       "names": {"boxes": "boxes", "scores": "scores", "embedding": "mean"}},
            "labels": LABELS, "score_threshold": 0, "nms_iou": 0.5}


def sampling_workflow(dataset_id, config):
    return {"name": "Unsure first", "dataset_ids": [dataset_id],
            "stages": [{"id": "in", "type": "dataset"}, {"id": "pick", "type": "sampling", "config": config},
                       {"id": "label", "type": "annotate", "config": {"assignees": "any"}},
                       {"id": "skip", "type": "discard"}, {"id": "done", "type": "complete"}],
            "edges": [{"from": "in", "port": "next", "to": "pick"},
                      {"from": "pick", "port": "sampled", "to": "label"},
                      {"from": "pick", "port": "rest", "to": "skip"},
                      {"from": "label", "port": "done", "to": "done"}]}


class ModelsRankingTest(ImageItems, lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_model_team("Colours")

    def worker(self):
        return self.start_worker({"worker_queues": "system,media,cpu", "onnx_runtime_path": ORT})

    def model(self, body, onnx):
        m = self.c.post("/api/v1/models", json=body)
        self.assertEqual(m.status, 201, m.text)
        m = m.json()
        r = self.c.put("/api/v1/models/%s/file" % m["id"], data=onnx,
                       headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 200, r.text)
        return m

    def start_run(self, model_id):
        r = self.c.post("/api/v1/models/%s/runs" % model_id, json={"filters": {"dataset_id": self.ds["id"]}})
        self.assertEqual(r.status, 202, r.text)
        return r.json()["job"]["id"]

    def finish(self, job_id):
        def done():
            j = self.c.get("/api/v1/jobs/" + job_id).json()
            return j if j["status"] in ("succeeded", "failed") else None
        j = lh.wait_until(done, timeout=120, interval=0.2, message="run %s to finish" % job_id)
        self.assertEqual(j["status"], "succeeded", j)
        return j

    def ranking(self, model_id, run_id, strategy, size=2):
        """Every page of the ranking, following next."""
        path = "/api/v1/models/%s/runs/%s/ranking" % (model_id, run_id)
        out, after = [], None
        while True:
            q = {"strategy": strategy, "page[size]": str(size)}
            if after:
                q["page[after]"] = after
            r = self.c.get(path, query=q)
            self.assertEqual(r.status, 200, r.text)
            body = r.json()
            out += body["ranking"]
            if not body["next"]:
                return out
            after = body["next"].split("page%5Bafter%5D=")[1]

    def colour_model(self, name="colours"):
        return self.model(colour_body(name), colour_model())

    COLOURS = {"red": (255, 0, 0), "olive": (200, 150, 0), "grey": (100, 100, 100), "blue": (20, 50, 255),
               "orange": (255, 128, 0), "dusk": (60, 60, 90), "teal": (0, 140, 120)}

    def test_ranking_by_each_strategy(self):
        first = self.worker()
        items = {name: self.item(name + ".png", colour_png(rgb)) for name, rgb in self.COLOURS.items()}
        self.item("no-file.png")
        for it in items.values():
            self.wait_ready(it)
        m = self.colour_model()
        first.kill()
        run = self.start_run(m["id"])
        # queued (no worker): no ranking yet
        self.assertProblem(self.c.get("/api/v1/models/%s/runs/%s/ranking" % (m["id"], run),
                                      query={"strategy": "entropy"}), 409)
        self.worker()
        job = self.finish(run)
        self.assertEqual((job["result"]["items"], job["result"]["skipped"]), (8, 1), job)

        # the stored predictions: one box each, its probabilities the softmax of the mean colour
        preds, scores = {}, {}
        for name, it in items.items():
            preds[it] = self.c.get("/api/v1/items/%s/predictions" % it).json()["predictions"]
            self.assertEqual(len(preds[it]), 1, preds[it])
            p = preds[it][0]
            rgb = self.COLOURS[name]
            z = [math.exp(GAIN * c / 255) for c in rgb]
            for got, want in zip(p["probabilities"], [v / sum(z) for v in z]):
                self.assertAlmostEqual(got, want, places=4)
            self.assertEqual(p["label"], LABELS[max(range(3), key=lambda k: (p["probabilities"][k], -k))])
            self.assertAlmostEqual(p["score"], max(p["probabilities"]), places=6)
            scores[it] = item_scores(preds[it])

        for strategy in ("least_confidence", "margin", "entropy"):
            ranked = self.ranking(m["id"], run, strategy)
            want = sorted(items.values(), key=lambda i: (-round(scores[i][strategy], 6), i))
            self.assertEqual([r["item_id"] for r in ranked], want, strategy)
            self.assertEqual([r["rank"] for r in ranked], list(range(1, len(items) + 1)))
            for r in ranked:
                for k in ("least_confidence", "margin", "entropy"):
                    self.assertAlmostEqual(r[k], scores[r["item_id"]][k], places=5)
                self.assertEqual((r["slot"], r["detections"], r["embedding_source"]), ("0", 1, "model"))
        # grey is the most uncertain: all three labels alike
        self.assertEqual(self.ranking(m["id"], run, "entropy")[0]["item_id"], items["grey"])

        # novelty: k-center greedy over the model's embeddings (the mean colour, unit length)
        stored = {r[0]: [float(v) for v in r[1].strip("{}").split(",")] for r in self.query(
            "SELECT item_id, embedding::text FROM model_run_items WHERE run_id = '%s'" % run)}
        for name, it in items.items():
            v = [c / 255 for c in self.COLOURS[name]]
            norm = math.sqrt(sum(c * c for c in v))
            for got, want in zip(stored[it], [c / norm for c in v]):
                self.assertAlmostEqual(got, want, places=5)
        order = kcenter(stored)
        ranked = self.ranking(m["id"], run, "novelty", size=3)
        self.assertEqual([r["item_id"] for r in ranked], [i for i, _ in order])
        for r, (_, novelty) in zip(ranked, order):
            self.assertAlmostEqual(r["novelty"], novelty, places=4)
        self.assertEqual(sorted(r["novelty"] for r in ranked)[::-1], [r["novelty"] for r in ranked])

        # bad asks
        path = "/api/v1/models/%s/runs/%s/ranking" % (m["id"], run)
        self.assertProblem(self.c.get(path), 400, "strategy")
        self.assertProblem(self.c.get(path, query={"strategy": "loss"}), 400, "strategy")
        self.assertProblem(self.c.get(path, query={"strategy": "entropy", "page[size]": "0"}), 400)
        other = self.colour_model("other")
        self.assertProblem(self.c.get("/api/v1/models/%s/runs/%s/ranking" % (other["id"], run),
                                      query={"strategy": "entropy"}), 404)
        self.assertProblem(self.c.get("/api/v1/models/%s/runs/%s/ranking" % (m["id"], m["id"]),
                                      query={"strategy": "entropy"}), 404)
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="r@example.com")["api_key"])
        self.assertProblem(rival.get(path, query={"strategy": "entropy"}), 404)
        s = self.member_session("a@example.com", "annotator")
        self.assertProblem(s.get(path, query={"strategy": "entropy"}), 403)

        # a sampling stage by entropy, random_share 0: exactly the top 3 of the batch
        r = self.c.post("/api/v1/workflows", json=sampling_workflow(
            self.ds["id"], {"top": 3, "score": "entropy", "model_id": m["id"], "random_share": 0}))
        self.assertEqual(r.status, 201, r.text)
        wf = r.json()
        r = self.c.post("/api/v1/workflows/%s/enter" % wf["id"], json={"filters": {"dataset_id": self.ds["id"]}})
        self.assertEqual(r.status, 200, r.text)
        placed = {row[0]: row[1] for row in self.query(
            "SELECT item_id, stage FROM tasks WHERE workflow_id = '%s'" % wf["id"])}
        want = sorted(items.values(), key=lambda i: (-round(scores[i]["entropy"], 6), i))[:3]
        self.assertEqual(sorted(i for i, st in placed.items() if st == "label"), sorted(want))
        self.assertGreaterEqual(len(placed), len(items))

        # bad sampling configs name the field
        for config, field in (({"top": 3, "score": "entropy"}, "stages[1].config.model_id"),
                              ({"top": 3, "score": "loss", "model_id": m["id"]}, "stages[1].config.score"),
                              ({"top": 3, "score": "margin", "model_id": m["id"], "random_share": 2},
                               "stages[1].config.random_share"),
                              ({"top": 3, "score": "margin", "model_id": "m1"}, "stages[1].config.model_id"),
                              ({"top": 3, "model_id": m["id"]}, "stages[1].config.model_id")):
            self.assertProblem(self.c.post("/api/v1/workflows", json=sampling_workflow(self.ds["id"], config)), 422,
                               field)
        # a model that is not the team's: another team's, or none
        theirs = rival.post("/api/v1/models", json=colour_body("theirs"))
        self.assertEqual(theirs.status, 201, theirs.text)
        spare = self.c.post("/api/v1/datasets", json={"name": "Spare"}).json()["id"]
        for model_id in (theirs.json()["id"], "00000000-0000-4000-8000-000000000000"):
            body = sampling_workflow(spare, {"top": 3, "score": "entropy", "model_id": model_id})
            self.assertProblem(self.c.post("/api/v1/workflows", json=body), 422, "stages[1].config.model_id")

    def test_blazeface_ranks_with_the_descriptor(self):
        """One score per face: p = (s, 1 − s); no embedding output: the built-in descriptor."""
        self.worker()
        face = self.c.post("/api/v1/classes", json={"name": "Face", "annotation_types": ["bounding_box"]}).json()
        with open(ASTRONAUT, "rb") as f:
            astronaut = self.item("astronaut.png", f.read())
        grey = self.item("grey.png", colour_png((128, 128, 128), 64, 48))
        red = self.item("red.png", colour_png((250, 10, 10), 64, 48))
        for it in (astronaut, grey, red):
            self.wait_ready(it)
        with open(BLAZEFACE, "rb") as f:
            m = self.model(blazeface(face["id"]), f.read())
        run = self.start_run(m["id"])
        self.finish(run)
        preds = self.c.get("/api/v1/items/%s/predictions" % astronaut).json()["predictions"]
        self.assertEqual(len(preds), 1, preds)
        self.assertIsNone(preds[0]["probabilities"])
        want = item_scores(preds)
        ranked = self.ranking(m["id"], run, "entropy")
        self.assertEqual([r["item_id"] for r in ranked][0], astronaut)
        self.assertEqual([r["detections"] for r in ranked], [1, 0, 0])
        self.assertAlmostEqual(ranked[0]["entropy"], want["entropy"], places=5)
        self.assertAlmostEqual(ranked[0]["least_confidence"], want["least_confidence"], places=5)
        self.assertAlmostEqual(ranked[0]["margin"], want["margin"], places=5)
        self.assertEqual([r["embedding_source"] for r in ranked], ["descriptor"] * 3)
        # the descriptor of a uniform image: its one colour bin, no gradient
        emb = self.query("SELECT embedding::text FROM model_run_items WHERE item_id = '%s'" % red)[0][0]
        values = [float(v) for v in emb.strip("{}").split(",")]
        self.assertEqual(len(values), 72)
        self.assertAlmostEqual(values[16 * 3 + 4 * 0 + 0], 1.0, places=5)
        self.assertAlmostEqual(sum(abs(v) for v in values), 1.0, places=5)
        # novelty: the photograph is farthest from the two flat images' centroid pull
        ranked = self.ranking(m["id"], run, "novelty")
        self.assertEqual(sorted(r["item_id"] for r in ranked), sorted([astronaut, grey, red]))
        self.assertEqual(sorted((r["novelty"] for r in ranked), reverse=True), [r["novelty"] for r in ranked])
        self.assertEqual(self.c.get("/api/v1/jobs/" + run).json()["result"]["novelty"],
                         {"items": 3, "dims": 72, "embedding_dims": 72})

    def test_novelty_memory_is_bounded(self):
        """Embeddings over model_novelty_max_bytes are ranked on a random projection of them to fewer values:
        5 descriptors of 72 values (1,440 bytes) within 1,024 bytes are 51 values each; the run's result says so
        and the novelty order is k-center greedy over those projections."""
        self.start_worker({"worker_queues": "system,media,cpu", "onnx_runtime_path": ORT,
                           "model_novelty_max_bytes": "1k"})
        face = self.c.post("/api/v1/classes", json={"name": "Face", "annotation_types": ["bounding_box"]}).json()
        colours = [(250, 10, 10), (10, 250, 10), (128, 128, 128), (200, 150, 0), (20, 50, 255)]
        items = [self.item("c%d.png" % i, colour_png(rgb, 64, 48)) for i, rgb in enumerate(colours)]
        for it in items:
            self.wait_ready(it)
        with open(BLAZEFACE, "rb") as f:
            m = self.model(blazeface(face["id"]), f.read())
        run = self.start_run(m["id"])
        job = self.finish(run)
        self.assertEqual(job["result"]["novelty"], {"items": 5, "dims": 51, "embedding_dims": 72})
        stored = {r[0]: [float(v) for v in r[1].strip("{}").split(",")] for r in self.query(
            "SELECT item_id, embedding::text FROM model_run_items WHERE run_id = '%s'" % run)}
        order = kcenter({i: project(v, 51) for i, v in stored.items()})
        ranked = self.ranking(m["id"], run, "novelty")
        self.assertEqual([r["item_id"] for r in ranked], [i for i, _ in order])
        for r, (_, novelty) in zip(ranked, order):
            self.assertAlmostEqual(r["novelty"], novelty, places=4)


if __name__ == "__main__":
    unittest.main()
