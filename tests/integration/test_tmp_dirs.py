"""Temporary directories never outlive their process. A worker's work directory
(<worker_tmp_dir>/loupe-decoder-XXXXXX) and memory-backed scratch directory
(<worker_scratch_dir>/loupe-decoder-XXXXXX) go when it stops normally, with whatever is in them; a
worker killed with SIGKILL mid-job leaves them, and the next worker to start removes them while its
own stay until it stops; a worker that starts beside a running one never touches the running one's.
louped's media cache directory (<media_cache_dir>/node-XXXXXX) goes the same ways."""
# ctest-timeout: 600

import os
import unittest

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg", purpose="to make the test images")

LOCK = ".loupe-lock"


class TmpDirsTest(mt.MediaTestCase):
    def setUp(self):
        super().setUp()
        self.tmp_dir = self.path("worker-tmp")
        os.makedirs(self.tmp_dir)
        self.cache_dir = self.path("media-cache")

    def stack(self, settings=None):
        s = {"worker_tmp_dir": self.tmp_dir, "media_cache_dir": self.cache_dir}
        s.update(settings or {})
        self.settings = s
        return self.start_stack(settings=s)

    def pools(self, parent, prefix="loupe-decoder-"):
        return sorted(n for n in os.listdir(parent) if n.startswith(prefix)) if os.path.isdir(parent) else []

    def pool_pair(self):
        """(work directory, scratch directory) of the one worker that made them."""
        work, scratch = self.pools(self.tmp_dir), self.pools(self.sandbox.scratch_dir)
        self.assertEqual((len(work), len(scratch)), (1, 1), (work, scratch))
        for parent, name in ((self.tmp_dir, work[0]), (self.sandbox.scratch_dir, scratch[0])):
            self.assertTrue(os.path.isfile(os.path.join(parent, name, LOCK)), (parent, name))
        return os.path.join(self.tmp_dir, work[0]), os.path.join(self.sandbox.scratch_dir, scratch[0])

    def image(self, name="up.jpg", w=160, h=120):
        with open(mt.two_band_jpeg(self.path(name), w, h), "rb") as f:
            return f.read()

    def wait_consuming(self, worker):
        mt.wait(lambda: "consuming from RabbitMQ" in worker.log(), timeout=30,
                message="the worker to start consuming")

    def test_normal_stop_removes_both_directories(self):
        self.stack()
        item_id, item = self.upload_and_wait("a.jpg", self.image())
        self.assertEqual(item["status"], "ready", item)
        work, scratch = self.pool_pair()
        # what a job could leave in them (an interrupted job's files) goes with them
        os.makedirs(os.path.join(work, "loupe-media-left", "out"))
        with open(os.path.join(work, "loupe-media-left", "out", "frame.jpg"), "wb") as f:
            f.write(b"x" * 100)
        with open(os.path.join(scratch, "series.nii"), "wb") as f:
            f.write(b"y" * 100)

        # a second worker starting beside the first sweeps both directories, and keeps the first's;
        # it makes its own pair as it starts (its decoder starts ahead of its first job) and
        # removes them when it stops
        second = self.start_worker(self.settings)
        self.wait_consuming(second)
        self.assertIn(os.path.basename(work), self.pools(self.tmp_dir))
        self.assertIn(os.path.basename(scratch), self.pools(self.sandbox.scratch_dir))
        self.assertEqual((len(self.pools(self.tmp_dir)), len(self.pools(self.sandbox.scratch_dir))), (2, 2))
        self.assertNotIn("stopped processes left", second.log())
        self.assertEqual(second.stop(), 0)
        self.assertEqual(self.pool_pair(), (work, scratch))

        self.assertEqual(self.workers[0].stop(), 0)
        self.assertEqual(os.listdir(self.tmp_dir), [])
        self.assertEqual(os.listdir(self.sandbox.scratch_dir), [])

    def test_killed_worker_directories_removed_by_the_next(self):
        self.stack()
        item_id = self.put_slow_image()
        worker = self.workers[0]

        def mid_job():
            pools = self.pools(self.tmp_dir)
            return pools and self.pools(os.path.join(self.tmp_dir, pools[0]), "loupe-media-")
        mt.wait(mid_job, timeout=60, message="the worker to start on the job")
        work, scratch = self.pool_pair()
        with open(os.path.join(scratch, "left.nii"), "wb") as f:  # memory a dead worker would hold on to
            f.write(b"z" * 4096)
        worker.kill()  # SIGKILL, mid-job
        self.assertTrue(os.path.isdir(work) and os.path.isdir(scratch))

        nxt = self.start_worker(self.settings)
        self.workers.append(nxt)
        item = self.wait_item(item_id, timeout=180)
        self.assertEqual(item["status"], "ready", item)
        # the dead worker's directories are gone, the new one's are there (it did the job)
        self.assertFalse(os.path.exists(work))
        self.assertFalse(os.path.exists(scratch))
        new_work, new_scratch = self.pool_pair()
        self.assertNotEqual((new_work, new_scratch), (work, scratch))
        log = nxt.log()
        self.assertIn("removed 1 loupe-decoder-* directory", log)
        self.assertIn("left in %s" % self.tmp_dir, log)
        self.assertIn("left in %s" % self.sandbox.scratch_dir, log)
        self.assertNotIn("left.nii", log)  # counts and bytes, never names

        self.assertEqual(nxt.stop(), 0)
        self.assertEqual(os.listdir(self.tmp_dir), [])
        self.assertEqual(os.listdir(self.sandbox.scratch_dir), [])

    def test_media_cache_directory_of_louped(self):
        self.stack(settings={"image_pyramid_pixels": "10000"})
        item_id, item = self.upload_and_wait("tiled.jpg", self.image(w=400, h=300))
        self.assertEqual(item["status"], "ready", item)
        tile = "/api/v1/items/%s/slots/0/tiles/image_files/0/0_0.jpg" % item_id

        def served(client):
            return lambda: client.get(tile).status == 200
        mt.wait(served(self.client), timeout=30, message="a tile")
        nodes = self.pools(self.cache_dir, "node-")
        self.assertEqual(len(nodes), 1, nodes)
        first = os.path.join(self.cache_dir, nodes[0])
        self.assertTrue(os.path.isfile(os.path.join(first, LOCK)))
        self.assertGreater(len(os.listdir(first)), 1)  # the pyramid's copy

        # killed: its directory stays until the next louped makes its cache
        self.daemon.kill()
        self.assertTrue(os.path.isdir(first))
        second = self.start_louped(self.settings)
        client = second.client(api_key=self.boot["api_key"])
        mt.wait(served(client), timeout=30, message="a tile from the second louped")
        self.assertFalse(os.path.exists(first))
        nodes = self.pools(self.cache_dir, "node-")
        self.assertEqual(len(nodes), 1, nodes)
        self.assertIn("removed 1 node-* directory", second.log())

        # stopped: its directory goes
        self.assertEqual(second.stop(), 0)
        self.assertEqual(self.pools(self.cache_dir, "node-"), [])


if __name__ == "__main__":
    unittest.main()
