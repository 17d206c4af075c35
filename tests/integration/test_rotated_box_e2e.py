# ctest-timeout: 900
"""Rotated boxes in the browser editors, end to end in a real headless Chromium against a real louped
and worker.

tests/e2e/rotated.spec.mjs on a 640×480 image: a class without rotated_box draws none; R and a drag
draw a box, its rotation knob dragged with Shift turns it to 30°, a click inside its upright bounds
but outside the turned rectangle selects nothing and one inside selects it, its edge handle resizes
it in its own frame, undo and redo; after a reload the same box with its angle. On a 4 s 320×240
video: a rotated box drawn on frame 0 and turned to 90° on frame 50; frame 25 shows 45°, also after
a reload. Screenshots (1280×720 and 1920×1080) are kept under the build directory
(e2e-screenshots/rotated)."""

import os
import unittest

import loupe_harness as lh
import media_testlib as mt
import web_e2e_lib as we

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg")


class RotatedBoxEndToEndTest(lh.LoupeTestCase):
    def ready_item(self, client, dataset, name, kind, path, content_type):
        """An item with one slot of kind holding the file at path, once the worker made it ready."""
        r = client.post("/api/v1/datasets/%s/items" % dataset, json={"name": name, "slots": [{"name": "0", "type": kind}]})
        self.assertEqual(r.status, 201, r.text)
        item = r.json()["id"]
        with open(path, "rb") as f:
            r = client.put("/api/v1/items/%s/slots/0/file" % item, data=f.read(), headers={"Content-Type": content_type})
        self.assertEqual(r.status, 202, r.text)
        lh.wait_until(lambda: client.get("/api/v1/items/" + item).json()["status"] in ("ready", "error"), timeout=300,
                      message="%s processed" % name)
        got = client.get("/api/v1/items/" + item).json()
        self.assertEqual(got["status"], "ready", got)
        return item

    def test_rotated_boxes(self):
        we.require_browser_test()
        boot = self.bootstrap(team="Vision Lab", email="ada@example.com", password="correct horse battery")
        d = self.start_louped(settings={"web_dir": we.DIST})
        self.start_workers(1)
        client = d.client(api_key=boot["api_key"])
        r = client.post("/api/v1/datasets", json={"name": "Signs"})
        self.assertEqual(r.status, 201, r.text)
        dataset = r.json()["id"]
        work = self.sandbox.work_dir
        picture = os.path.join(work, "street.jpg")
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc=s=640x480", "-frames:v", "1", picture)
        image = self.ready_item(client, dataset, "street.jpg", "image", picture, "image/jpeg")
        clip = os.path.join(work, "road.mp4")
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast",
                  "-g", "30", "-pix_fmt", "yuv420p", clip)
        video = self.ready_item(client, dataset, "road.mp4", "video", clip, "video/mp4")
        self.assertEqual(client.get("/api/v1/items/" + video).json()["slots"][0]["frame_count"], 120)
        env = {
            "LOUPE_E2E_URL": "http://127.0.0.1:%d" % d.port,
            "LOUPE_E2E_EMAIL": boot["email"],
            "LOUPE_E2E_PASSWORD": boot["password"],
            "LOUPE_E2E_API_KEY": boot["api_key"],
            "LOUPE_E2E_ITEM": image,
            "LOUPE_E2E_VIDEO_ITEM": video,
            "LOUPE_E2E_ARTIFACTS": we.artifacts_dir("rotated"),
        }
        out = we.run_spec(self, "rotated.spec.mjs", env)
        lh._say(out[-1500:])


if __name__ == "__main__":
    unittest.main()
