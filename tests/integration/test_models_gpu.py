"""GPU models: a run of a model of queue gpu waits while no GPU worker is alive and says so in its job
status ("waiting_for"); a worker whose NVML finds a GPU (a stand-in NVML library built with the unit
tests, tests/unit/worker/fake_nvml.c) announces the GPU with its memory used and free, consumes queue
gpu on its own, and takes the waiting run at once — which, with an ONNX Runtime built without CUDA,
fails saying so rather than running elsewhere."""
# ctest-fixtures: model_files
# ctest-timeout: 300

import os
import time
import unittest

import loupe_harness as lh
from test_models_infer import ASTRONAUT, BLAZEFACE, ORT, blazeface

lh.require_services(binaries=("louped", "loupe-worker"))

FAKE_NVML = os.path.join(os.environ.get("LOUPE_BUILD_DIR") or "", "tests", "unit", "worker", "libfake_nvml.so")


class ModelsGpuTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        for path in (ORT, BLAZEFACE, ASTRONAUT, FAKE_NVML):
            if not os.path.isfile(path):
                lh.skip("%s is missing (model_files_setup fetches the models; the unit tests build the "
                        "stand-in NVML)" % path)
        self.start_team()

    def test_gpu_run_waits_for_a_gpu_worker(self):
        # a CPU worker (no NVML, whatever this machine has) makes the item ready
        self.start_worker({"worker_queues": "system,media,cpu", "nvml_library": "", "onnx_runtime_path": ORT})
        ds = self.c.post("/api/v1/datasets", json={"name": "Crew"}).json()
        face = self.c.post("/api/v1/classes", json={"name": "Face", "annotation_types": ["bounding_box"]}).json()
        it = self.c.post("/api/v1/datasets/%s/items" % ds["id"],
                         json={"name": "astronaut.png", "slots": [{"name": "0", "type": "image"}]}).json()
        with open(ASTRONAUT, "rb") as f:
            r = self.c.put("/api/v1/items/%s/slots/0/file" % it["id"], data=f.read(),
                           headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 202, r.text)
        lh.wait_until(lambda: self.c.get("/api/v1/items/" + it["id"]).json()["status"] == "ready", timeout=60,
                      interval=0.2, message="the item to be ready")

        m = self.c.post("/api/v1/models", json=blazeface(face["id"], queue="gpu"))
        self.assertEqual(m.status, 201, m.text)
        m = m.json()
        with open(BLAZEFACE, "rb") as f:
            r = self.c.put("/api/v1/models/%s/file" % m["id"], data=f.read(),
                           headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 200, r.text)
        r = self.c.post("/api/v1/models/%s/runs" % m["id"], json={"filters": {"dataset_id": ds["id"]}})
        self.assertEqual(r.status, 202, r.text)
        job = r.json()["job"]
        self.assertEqual(job["kind"], "models.run.gpu")

        # no GPU worker: the run stays queued and says why
        time.sleep(1.0)
        j = self.c.get("/api/v1/jobs/" + job["id"]).json()
        self.assertEqual((j["status"], j["queue"], j["attempts"]), ("queued", "gpu", 0), j)
        self.assertIn("no GPU worker is alive", j["waiting_for"])
        # a job whose queue has a live worker waits for nothing
        echo = self.c.post("/api/v1/system/echo", json={"message": "hi"}).json()
        done = lh.wait_until(lambda: (lambda e: e if e["status"] == "succeeded" else None)(
            self.c.get("/api/v1/jobs/" + echo["id"]).json()), timeout=30, message="the echo job")
        self.assertIsNone(done["waiting_for"])

        # a worker with a GPU appears: it says so, consumes queue gpu without being told, and takes the run
        self.start_worker({"worker_queues": "system", "nvml_library": FAKE_NVML, "onnx_runtime_path": ORT,
                           "worker_heartbeat": "200ms"})

        def gpu_worker():
            for w in self.c.get("/api/v1/workers").json()["workers"]:
                if w["gpus"]:
                    return w
            return None
        w = lh.wait_until(gpu_worker, timeout=30, message="the GPU worker's heartbeat")
        self.assertIn("gpu", w["queues"])
        g = w["gpus"][0]
        self.assertEqual((g["index"], g["name"], g["memory_bytes"]), (0, "Fake GPU A100", 16 << 30))
        self.assertGreaterEqual(g["memory_used_bytes"], 1 << 20)
        self.assertEqual(g["memory_used_bytes"] + g["memory_free_bytes"], 16 << 30)
        # memory used is read at every heartbeat
        used = g["memory_used_bytes"]
        lh.wait_until(lambda: gpu_worker()["gpus"][0]["memory_used_bytes"] > used, timeout=30,
                      message="a later heartbeat's GPU memory")

        def attempted():
            j = self.c.get("/api/v1/jobs/" + job["id"]).json()
            return j if j["attempts"] >= 1 and j["error"] else None
        j = lh.wait_until(attempted, timeout=60, interval=0.2, message="the GPU worker to take the run")
        # this ONNX Runtime has no CUDA: a clear error, not a run on the CPU
        self.assertIn("CUDA execution provider", j["error"], j)
        if j["status"] == "queued":  # waiting to be retried: a GPU worker is alive now
            self.assertIsNone(j["waiting_for"], j)
        self.assertEqual(self.c.get("/api/v1/items/%s/predictions" % it["id"]).json()["predictions"], [])


if __name__ == "__main__":
    unittest.main()
