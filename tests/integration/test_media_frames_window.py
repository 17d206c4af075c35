"""Windows of consecutive exact frames in one response (GET …/slots/{slot}/frames?from=&count=&size=):
frame k of a window that crosses keyframes of the frame source equals the single-frame route's
frame k and the ffmpeg tool's own decode; the sprite's layout header, caching and bad input."""
# ctest-timeout: 600

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg", "ffprobe", "vipsheader", purpose="to make and check the test videos")

W, H = 320, 240
# JPEG at quality 95 against ffmpeg's own decode: mean absolute difference per channel
SAME = 3.0


def header_fields(value):
    return {k.strip(): int(v) for k, v in (p.split("=") for p in value.split(";"))}


class FramesWindowTest(mt.MediaTestCase):
    def setUp(self):
        super().setUp()
        self.start_stack(settings={"frame_window_max": "32"})
        src = self.path("cfr.mp4")
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=%dx%d:rate=25" % (W, H), "-t", "2", "-c:v", "libx264",
                  "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", src)
        self.ref = mt.ffmpeg("-i", src, "-f", "rawvideo", "-pix_fmt", "rgb24", "-fps_mode", "passthrough", "-")
        self.item_id, item = self.upload_and_wait("cfr.mp4", src, slot_type="video", content_type="video/mp4")
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual(item["slots"][0]["frame_count"], 50)
        self.base = "/api/v1/items/%s/slots/0/frames" % self.item_id

    def window(self, **query):
        q = {"quality": "95"}
        q.update({k: str(v) for k, v in query.items()})
        return self.client.get(self.base, query=q)

    def test_window_frames_are_the_exact_frames(self):
        # frames 5..24: the frame source has a keyframe every 12 frames, so this crosses two
        r = self.window(**{"from": 5, "count": 20, "size": 320})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.content_type, "image/jpeg")
        self.assertEqual(header_fields(r.headers["Loupe-Frame-Window"]),
                         {"from": 5, "count": 20, "columns": 8, "width": W, "height": H})
        sw, sh, sheet = mt.rgb_of(r.body, self.sandbox.work_dir, "window")
        self.assertEqual((sw, sh), (8 * W, 3 * H))
        size = W * H * 3
        for i in range(20):
            n = 5 + i
            col, row = i % 8, i // 8
            tile = b"".join(sheet[((row * H + y) * sw + col * W) * 3:((row * H + y) * sw + (col + 1) * W) * 3]
                            for y in range(H))
            ffmpeg_n = self.ref[n * size:(n + 1) * size]
            mine = mt.mean_abs_diff(tile, ffmpeg_n)
            self.assertLess(mine, SAME, "window frame %d differs from ffmpeg's by %.2f" % (n, mine))
            other = self.ref[(n + 1) * size:(n + 2) * size]
            self.assertGreater(mt.mean_abs_diff(tile, other), mine, "window frame %d is closer to frame %d" % (n, n + 1))
            single = self.client.get("%s/%d" % (self.base, n), query={"quality": "95", "format": "jpeg"})
            self.assertEqual(single.status, 200, single.text)
            _, _, one = mt.rgb_of(single.body, self.sandbox.work_dir, "single")
            self.assertLess(mt.mean_abs_diff(tile, one), SAME, "window frame %d differs from the frame route's" % n)
        # cached like a single frame: the same window is not sent again
        etag = r.headers["ETag"]
        again = self.client.get(self.base, query={"from": "5", "count": "20", "size": "320", "quality": "95"},
                                headers={"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertNotEqual(self.window(**{"from": 6, "count": 20, "size": 320}).headers["ETag"], etag)

    def test_size_fits_the_long_side_and_the_last_frames(self):
        r = self.window(**{"from": 47, "count": 3, "size": 160})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(header_fields(r.headers["Loupe-Frame-Window"]),
                         {"from": 47, "count": 3, "columns": 3, "width": 160, "height": 120})
        sw, sh, _ = mt.rgb_of(r.body, self.sandbox.work_dir, "small")
        self.assertEqual((sw, sh), (480, 120))
        # never enlarged past the video
        r = self.window(**{"from": 0, "count": 1, "size": 1000})
        self.assertEqual(header_fields(r.headers["Loupe-Frame-Window"])["width"], W)

    def test_bad_windows(self):
        for query, field in [({}, "from"), ({"from": "x"}, "from"), ({"from": -1}, "from"),
                             ({"from": 0, "count": 0}, "count"), ({"from": 0, "count": 33}, "count"),
                             ({"from": 0, "size": 8}, "size"), ({"from": 0, "size": 5000}, "size"),
                             ({"from": 0, "quality": 0}, "quality")]:
            self.assertProblem(self.client.get(self.base, query={k: str(v) for k, v in query.items()}), 422, field)
        body = self.assertProblem(self.window(**{"from": 50}), 422, "from")
        self.assertIn("50 frames", str(body))
        body = self.assertProblem(self.window(**{"from": 40, "count": 20}), 422, "count")
        self.assertIn("50 frames", str(body))
        rival = self.daemon.client(api_key=self.bootstrap(team="Rivals", email="rival@example.com")["api_key"])
        self.assertProblem(rival.get(self.base, query={"from": "0", "count": "2"}), 404)
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/nope/frames" % self.item_id,
                                           query={"from": "0"}), 404)
