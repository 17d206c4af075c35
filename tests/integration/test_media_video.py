"""Videos through the whole pipeline: probe, frame index, poster, scrubber sprite and (for long
GOPs) a short-GOP mezzanine made by loupe-worker; then exact frames from louped compared pixel by
pixel with the same frames decoded independently by the ffmpeg tool — constant and variable frame
rate, rotated by the display matrix, stepping forwards, jumping and going back."""
# ctest-timeout: 600

import os
import unittest

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg", "ffprobe", "vipsheader", purpose="to make and check the test videos")

W, H = 320, 240
# JPEG at quality 95 against ffmpeg's own decode: mean absolute difference per channel
SAME = 3.0


class VideoTest(mt.MediaTestCase):
    def setUp(self):
        super().setUp()
        self.start_stack(settings={"thumbnail_size": "128", "preview_size": "256"})

    def make(self, name, *args):
        path = self.path(name)
        mt.ffmpeg(*args, path)
        return path

    def reference(self, path):
        """Every frame of path as RGB24 (autorotated), as the ffmpeg tool decodes it."""
        return mt.ffmpeg("-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-fps_mode", "passthrough", "-")

    def frame(self, item_id, n, **query):
        q = {"quality": "95"}
        q.update(query)
        r = self.client.get("/api/v1/items/%s/slots/0/frames/%d" % (item_id, n), query=q)
        self.assertEqual(r.status, 200, r.text)
        return r

    def check_frames(self, item_id, ref, width, height, order):
        size = width * height * 3
        count = len(ref) // size
        for n in order:
            r = self.frame(item_id, n)
            self.assertEqual(r.content_type, "image/jpeg")
            w, h, got = mt.rgb_of(r.body, self.sandbox.work_dir, "frame")
            self.assertEqual((w, h), (width, height))
            mine = mt.mean_abs_diff(got, ref[n * size:(n + 1) * size])
            self.assertLess(mine, SAME, "frame %d differs from ffmpeg's frame %d by %.2f" % (n, n, mine))
            other = n + 1 if n + 1 < count else n - 1
            theirs = mt.mean_abs_diff(got, ref[other * size:(other + 1) * size])
            self.assertGreater(theirs, mine, "frame %d is closer to frame %d than to itself" % (n, other))

    def test_constant_rate_frames_and_thumbnails(self):
        src = self.make("cfr.mp4", "-f", "lavfi", "-i", "testsrc2=size=%dx%d:rate=25" % (W, H), "-t", "2",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p")
        item_id, item = self.upload_and_wait("cfr.mp4", src, slot_type="video", content_type="video/mp4")
        self.assertEqual(item["status"], "ready", item)
        slot = item["slots"][0]
        self.assertEqual((slot["width"], slot["height"], slot["frame_count"], slot["rotation"]), (W, H, 50, 0))
        self.assertAlmostEqual(slot["fps"], 25.0, places=3)
        self.assertEqual(slot["format"], "mp4")
        media = self.slot_media(item_id)
        self.assertEqual(media["media"]["codec"], "h264")
        self.assertFalse(media["media"]["variable_frame_rate"])
        # the frame source is always the worker's own copy, even for a GOP this short
        self.assertEqual(media["media"]["mezzanine"]["codec"], "h264")
        # ...so frames never need the original: gone from storage, frames still come
        originals = os.path.join(self.sandbox.storage_dir, "originals")
        removed = 0
        for dirpath, _, names in os.walk(originals):
            for n in names:
                os.unlink(os.path.join(dirpath, n))
                removed += 1
        self.assertGreater(removed, 0)
        self.assertEqual(media["frames"], "/api/v1/items/%s/slots/0/frames/{n}" % item_id)
        self.assertGreaterEqual(media["sprite_layout"]["count"], 2)
        self.assertIsNotNone(media["files"]["sprite"])

        ref = self.reference(src)
        self.assertEqual(len(ref), 50 * W * H * 3)
        self.check_frames(item_id, ref, W, H, [0, 1, 2, 3, 37, 12, 49, 48, 20, 21])

        # poster thumbnail at most 128 on the long side
        _, r = self.follow("/api/v1/items/%s/slots/0/thumbnail" % item_id)
        self.assertEqual(r.status, 200)
        th = mt.save(self.sandbox.work_dir, "poster.jpg", r.body)
        self.assertEqual((int(mt.header(th, "width")), int(mt.header(th, "height"))), (128, 96))

        # format by Accept or ?format=, caching by ETag
        r = self.client.get("/api/v1/items/%s/slots/0/frames/5" % item_id, headers={"Accept": "image/webp,*/*"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.content_type, "image/webp")
        self.assertIn("Accept", r.header("Vary"))
        r = self.frame(item_id, 5, format="webp")
        self.assertEqual(r.content_type, "image/webp")
        r = self.frame(item_id, 5, format="jpeg")
        self.assertEqual(r.content_type, "image/jpeg")
        r2 = self.client.get("/api/v1/items/%s/slots/0/frames/5" % item_id, query={"quality": "95", "format": "jpeg"},
                             headers={"If-None-Match": r.header("ETag")})
        self.assertEqual(r2.status, 304)

        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/frames/50" % item_id), 404)
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/frames/-1" % item_id), 404)
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/frames/abc" % item_id), 404)
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/frames/1" % item_id,
                                           query={"format": "bmp"}), 400, field="format")
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/frames/1" % item_id,
                                           query={"quality": "0"}), 400, field="quality")
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/9/frames/1" % item_id), 404)
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/tiles/image.dzi" % item_id), 404)

    def test_variable_rate_rotated_and_long_gop(self):
        # variable frame rate: 10 frames at 25/s, then 10/s
        vfr = self.make("vfr.mkv", "-f", "lavfi", "-i", "testsrc2=size=%dx%d:rate=25:duration=2" % (W, H),
                        "-vf", "setpts='if(lt(N,10),N/25,0.4+(N-10)/10)/TB'", "-fps_mode", "vfr",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "12")
        ref = self.reference(vfr)
        count = len(ref) // (W * H * 3)
        item_id, item = self.upload_and_wait("vfr.mkv", vfr, slot_type="video")
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual(item["slots"][0]["frame_count"], count)
        self.assertTrue(self.slot_media(item_id)["media"]["variable_frame_rate"])
        self.check_frames(item_id, ref, W, H, [15, 16, 2, 9, 10, 11, count - 1, 0])

        # rotated by the display matrix: shown upright as H × W
        cfr = self.make("plain.mp4", "-f", "lavfi", "-i", "testsrc2=size=%dx%d:rate=25" % (W, H), "-t", "1",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p")
        rot = self.make("rot.mp4", "-i", cfr, "-c", "copy", "-metadata:s:v", "rotate=90")
        item_id, item = self.upload_and_wait("rot.mp4", rot, slot_type="video")
        self.assertEqual(item["status"], "ready", item)
        slot = item["slots"][0]
        # ffprobe states the display matrix's angle counter-clockwise; slots state it clockwise
        ccw = int(float(mt.run("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                               "stream_side_data=rotation", "-of", "csv=p=0", rot).decode().split()[0]))
        self.assertEqual((slot["width"], slot["height"], slot["rotation"]), (H, W, (360 - ccw) % 360))
        self.assertIn(slot["rotation"], (90, 270))
        self.check_frames(item_id, self.reference(rot), H, W, [0, 7, 3])

        # one keyframe in 3 s: served from a short-GOP mezzanine, still frame-exact
        long_gop = self.make("long.mp4", "-f", "lavfi", "-i", "testsrc2=size=%dx%d:rate=25" % (W, H), "-t", "3",
                             "-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-pix_fmt", "yuv420p")
        item_id, item = self.upload_and_wait("long.mp4", long_gop, slot_type="video")
        self.assertEqual(item["status"], "ready", item)
        media = self.slot_media(item_id)
        self.assertEqual(media["media"]["max_gop"], 75)
        self.assertIsNotNone(media["media"]["mezzanine"], media["media"])
        self.assertLessEqual(media["media"]["mezzanine"]["gop"], 12)
        self.check_frames(item_id, self.reference(long_gop), W, H, [70, 3, 40, 41, 74, 0])


if __name__ == "__main__":
    unittest.main()
