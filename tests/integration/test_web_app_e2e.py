# ctest-timeout: 900
"""The web app end to end in a real headless Chromium against a real louped and worker.

tests/e2e/app.spec.mjs: sign-in with return-to, API keys, shortcuts, the 404 page, a dataset
created, three images and a folder uploaded until ready, filters in the URL, a bulk move, axe-core
on the main screens, and the grid over 100,000 items. tests/e2e/editor.spec.mjs: a box, a polygon
with a hole, a skeleton and a brush mask drawn and saved; reload; undo/redo; a conflict from a
second browser context; offline edits; a 20,000 × 20,000 image opened from its tiles and zoomed
into a corner. tests/e2e/queues.spec.mjs: a workflow (annotate → review → complete) worked through
by an annotator and a reviewer in their own browsers — next task, submit, reject with a comment,
resubmit, approve — with the history on the item page and stage/state in the grid. Screenshots
(1280×720 and 1920×1080) are kept under the build directory (e2e-screenshots/app)."""

import os
import unittest

import loupe_harness as lh
import media_testlib as mt
import web_e2e_lib as we

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg", "vips")

BIG_ITEMS = 100000


class WebAppEndToEndTest(lh.LoupeTestCase):
    def make_images(self):
        root = os.path.join(self.sandbox.work_dir, "images")
        os.makedirs(os.path.join(root, "street"))
        for name, source in (("a", "testsrc"), ("b", "smptebars"), ("c", "rgbtestsrc")):
            mt.ffmpeg("-f", "lavfi", "-i", "%s=s=640x480" % source, "-frames:v", "1", os.path.join(root, name + ".jpg"))
        for name in ("s1", "s2"):
            mt.ffmpeg("-f", "lavfi", "-i", "mandelbrot=s=800x600", "-frames:v", "1",
                      os.path.join(root, "street", name + ".jpg"))
        return root

    def big_dataset(self):
        """A dataset of BIG_ITEMS items made in one statement (the grid only reads them)."""
        self.psql("""
            INSERT INTO datasets (team_id, name, slug) VALUES ('%s', 'Many frames', 'many-frames');
            WITH d AS (SELECT id, team_id FROM datasets WHERE slug = 'many-frames'),
            it AS (INSERT INTO items (team_id, dataset_id, name, path, status, error, annotation_count)
              SELECT d.team_id, d.id, 'frame_' || lpad(g::text, 6, '0') || '.jpg', '/cam' || (g %% 4),
                     CASE WHEN g %% 97 = 0 THEN 'error' ELSE 'registered' END,
                     CASE WHEN g %% 97 = 0 THEN 'the file is not an image' END, g %% 13
              FROM d, generate_series(1, %d) g RETURNING id)
            INSERT INTO slots (item_id, name, type, position) SELECT id, '0', 'image', 0 FROM it;
        """ % (self.team, BIG_ITEMS))
        return self.query("SELECT id FROM datasets WHERE slug = 'many-frames'")[0][0]

    def ready_item(self, client, dataset_id, name, path):
        """An item with one image slot holding the file at path, once the worker made it ready."""
        r = client.post("/api/v1/datasets/%s/items" % dataset_id, json={"name": name, "slots": [{"name": "0", "type": "image"}]})
        self.assertEqual(r.status, 201, r.text)
        item = r.json()["id"]
        with open(path, "rb") as f:
            r = client.put("/api/v1/items/%s/slots/0/file" % item, data=f.read(), headers={"Content-Type": "image/jpeg"})
        self.assertEqual(r.status, 202, r.text)
        lh.wait_until(lambda: client.get("/api/v1/items/" + item).json()["status"] in ("ready", "error"), timeout=240,
                      message="%s processed" % name)
        self.assertEqual(client.get("/api/v1/items/" + item).json()["status"], "ready")
        return item

    def big_image(self):
        """A 20,000 × 20,000 JPEG with smooth stripes (a few MB): big enough for a tile pyramid."""
        work = self.sandbox.work_dir
        stripes, grey, out = (os.path.join(work, n) for n in ("stripes.v", "grey.v", "big.jpg"))
        mt.run("vips", "sines", stripes, "20000", "20000", "--hfreq", "0.01", "--vfreq", "0.007")
        mt.run("vips", "linear", stripes, grey, "100", "128", "--uchar")
        mt.run("vips", "jpegsave", grey, out, "--Q", "60")
        os.remove(stripes)
        os.remove(grey)
        return out

    def test_app(self):
        we.require_browser_test()
        boot = self.bootstrap(team="Vision Lab", email="ada@example.com", password="correct horse battery")
        self.team = boot["team_id"]
        d = self.start_louped(settings={"web_dir": we.DIST})
        self.start_workers(1)
        env = {
            "LOUPE_E2E_URL": "http://127.0.0.1:%d" % d.port,
            "LOUPE_E2E_EMAIL": boot["email"],
            "LOUPE_E2E_PASSWORD": boot["password"],
            "LOUPE_E2E_API_KEY": boot["api_key"],
            "LOUPE_E2E_IMAGES": self.make_images(),
            "LOUPE_E2E_BIG_DATASET": self.big_dataset(),
            "LOUPE_E2E_ARTIFACTS": we.artifacts_dir("app"),
        }
        out = we.run_spec(self, "app.spec.mjs", env)
        lh._say(out[-1500:])

        client = d.client(api_key=boot["api_key"])
        r = client.post("/api/v1/datasets", json={"name": "Editor"})
        self.assertEqual(r.status, 201, r.text)
        images = env["LOUPE_E2E_IMAGES"]
        env["LOUPE_E2E_ITEM"] = self.ready_item(client, r.json()["id"], "a.jpg", os.path.join(images, "a.jpg"))
        env["LOUPE_E2E_BIG_ITEM"] = self.ready_item(client, r.json()["id"], "big.jpg", self.big_image())
        out = we.run_spec(self, "editor.spec.mjs", env)
        lh._say(out[-1500:])
        out = we.run_spec(self, "queues.spec.mjs", env)
        lh._say(out[-1500:])


if __name__ == "__main__":
    unittest.main()
