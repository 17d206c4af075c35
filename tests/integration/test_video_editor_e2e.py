# ctest-timeout: 900
"""The video editor end to end in a real headless Chromium against a real louped and worker.

tests/e2e/video.spec.mjs on a 20 s 640×360 30 fps H.264 video with sound: plays 10 s and counts
the frames shown late (none may be), draws a box on frame 0 and moves it on frame 50 (two
keyframes), sees the box on frame 25 interpolated, drags a keyframe on the timeline with the shape
following live, drags a box past the frame's edge (drawn inside the frame only), splits and merges
the track, undoes, hides the track from frame 60 and shows it again from 80, watches the HLS
renditions through hls.js (with sound) and returns to the frame watched, and after a reload finds
everything kept. On a second, 20 s 854×480 video (two renditions): watch mode by the keyboard (W,
Space, arrows pausing on exact frames, W back to annotating that frame), the other quality picked
by hand while playing, and the browser's own HLS in a page without Media Source Extensions. Screenshots
(1280×720 and 1920×1080) are kept under the build directory (e2e-screenshots/video)."""

import os
import unittest

import loupe_harness as lh
import media_testlib as mt
import web_e2e_lib as we

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg")


class VideoEditorEndToEndTest(lh.LoupeTestCase):
    def video_item(self, client, dataset, name, size, preset):
        """A ready item of a 20 s 30 fps H.264 video of size with an AAC track (GOP 60); the item."""
        video = os.path.join(self.sandbox.work_dir, name)
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=%s:rate=30" % size, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                  "-t", "20", "-c:v", "libx264", "-preset", preset, "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac", video)
        r = client.post("/api/v1/datasets/%s/items" % dataset, json={"name": name, "slots": [{"name": "0", "type": "video"}]})
        self.assertEqual(r.status, 201, r.text)
        item = r.json()["id"]
        with open(video, "rb") as f:
            r = client.put("/api/v1/items/%s/slots/0/file" % item, data=f.read(), headers={"Content-Type": "video/mp4"})
        self.assertEqual(r.status, 202, r.text)
        lh.wait_until(lambda: client.get("/api/v1/items/" + item).json()["status"] in ("ready", "error"), timeout=300,
                      message="%s processed" % name)
        got = client.get("/api/v1/items/" + item).json()
        self.assertEqual(got["status"], "ready", got)
        self.assertEqual(got["slots"][0]["frame_count"], 600)
        return item

    def test_video_editor(self):
        we.require_browser_test()
        boot = self.bootstrap(team="Vision Lab", email="ada@example.com", password="correct horse battery")
        d = self.start_louped(settings={"web_dir": we.DIST})
        self.start_workers(1)
        client = d.client(api_key=boot["api_key"])
        r = client.post("/api/v1/datasets", json={"name": "Videos"})
        self.assertEqual(r.status, 201, r.text)
        dataset = r.json()["id"]
        item = self.video_item(client, dataset, "street.mp4", "640x360", "veryfast")
        # a second video to watch: 854×480, so it has both renditions (1080p and 360p)
        watch_item = self.video_item(client, dataset, "tram.mp4", "854x480", "ultrafast")
        env = {
            "LOUPE_E2E_URL": "http://127.0.0.1:%d" % d.port,
            "LOUPE_E2E_EMAIL": boot["email"],
            "LOUPE_E2E_PASSWORD": boot["password"],
            "LOUPE_E2E_API_KEY": boot["api_key"],
            "LOUPE_E2E_VIDEO_ITEM": item,
            "LOUPE_E2E_WATCH_ITEM": watch_item,
            "LOUPE_E2E_ARTIFACTS": we.artifacts_dir("video"),
        }
        out = we.run_spec(self, "video.spec.mjs", env)
        lh._say(out[-1500:])


if __name__ == "__main__":
    unittest.main()
