"""Hostile and broken files: each ends its item in `error` with a reason a person can act on, and
the worker goes on serving later jobs — also after a decode that had to be killed at job_timeout."""
# ctest-timeout: 600

import os
import struct
import unittest
import zlib

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg", "vips", purpose="to make the test files")


class BadInputTest(mt.MediaTestCase):
    def good_jpeg(self):
        return mt.two_band_jpeg(self.path("good.jpg"), 64, 48)

    def assert_error(self, item, *phrases):
        self.assertEqual(item["status"], "error", item)
        for p in phrases:
            self.assertIn(p, item["error"], item)

    def test_bad_files_end_in_error_and_the_worker_carries_on(self):
        os.makedirs(self.path("tmp"))
        self.start_stack(worker_settings={"worker_tmp_dir": self.path("tmp")})
        good = self.good_jpeg()
        with open(good, "rb") as f:
            jpeg = f.read()

        _, item = self.upload_and_wait("empty.jpg", b"")
        self.assert_error(item, "empty")

        _, item = self.upload_and_wait("truncated.jpg", jpeg[: len(jpeg) // 2])
        self.assertEqual(item["status"], "error", item)
        self.assertTrue(item["error"].strip().endswith((".", ")")) or len(item["error"]) > 10, item)

        # wrong extension, wrong content: a video uploaded as a photo
        video = self.path("clip.mp4")
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-t", "1", "-c:v", "libx264",
                  "-pix_fmt", "yuv420p", video)
        _, item = self.upload_and_wait("photo.jpg", video)
        self.assert_error(item, "not a supported image format")

        # a PNG header declaring 100000 × 100000: refused before decoding
        _, item = self.upload_and_wait("bomb.png", mt.png_header_only(100000, 100000))
        self.assert_error(item, "100000", "image_max_pixels")

        # a text file named .mp4
        _, item = self.upload_and_wait("notes.mp4", b"this is not a video\n" * 50, slot_type="video")
        self.assertEqual(item["status"], "error", item)

        # a video file with no video stream
        audio = self.path("sound.mp4")
        mt.ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", audio)
        _, item = self.upload_and_wait("sound.mp4", audio, slot_type="video")
        self.assert_error(item, "no video stream")

        # the worker is still there and still works; a PNG named .jpg is judged by its content
        png = self.path("real.png")
        mt.ffmpeg("-f", "lavfi", "-i", "color=c=green:s=40x30", "-frames:v", "1", png)
        _, item = self.upload_and_wait("actually-png.jpg", png)
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual(item["slots"][0]["format"], "png")
        # a polyglot: that PNG with an HTML page and a ZIP archive appended is judged as the PNG it
        # starts with, and its original is served so that no browser runs it as a page
        with open(png, "rb") as f:
            poly = f.read() + b"<html><script>alert(document.cookie)</script></html>" + \
                b"PK\x05\x06" + bytes(18)
        poly_id, item = self.upload_and_wait("polyglot.png", poly, content_type="text/html")
        self.assertEqual((item["status"], item["slots"][0]["format"]), ("ready", "png"), item)
        _, r = self.follow("/api/v1/items/%s/slots/0/original" % poly_id)
        self.assertEqual(r.body, poly)
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertNotIn("html", (r.header("Content-Type") or "").lower())
        _, item = self.upload_and_wait("good.jpg", good)
        self.assertEqual(item["status"], "ready", item)
        self.assertTrue(all(w.alive() for w in self.workers))

        # the jobs succeeded: the files were judged, the items say why they are unusable
        rows = self.query("SELECT status, count(*) FROM jobs WHERE kind = 'media.normalize' GROUP BY status")
        self.assertEqual(rows, [["succeeded", "9"]], rows)
        # nothing left behind in the temporary directory of the worker
        self.assertEqual([n for n in os.listdir(self.path("tmp")) if n.startswith("loupe-media-")], [])

    def test_a_hanging_decode_is_stopped_at_job_timeout(self):
        # job_timeout 2 s: a 20000 × 20000 PNG (400 megapixels of zeros, 0.4 MB on disk) passes the
        # header check but takes far longer than that to decode and tile
        self.start_stack(worker_settings={"job_timeout": "2s"})
        side = 20000
        z = zlib.compressobj(9)
        row = b"\x00" * (side + 1)
        idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()

        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)) +
               chunk(b"IDAT", idat) + chunk(b"IEND", b""))
        def children():
            out = mt.run("ps", "-eo", "ppid=,pid=").decode().split()
            return [out[i + 1] for i in range(0, len(out), 2) if out[i] == str(self.workers[0].pid)]
        item_id = self.make_item("huge.png")
        self.put_file(item_id, png)
        hung = mt.wait(children, timeout=60, message="the worker to start its decoder")
        item = self.wait_item(item_id, timeout=60)
        self.assert_error(item, "job_timeout")

        _, item = self.upload_and_wait("after.jpg", self.good_jpeg())
        self.assertEqual(item["status"], "ready", item)
        self.assertTrue(all(w.alive() for w in self.workers))
        # the killed decoder did not outlive its job: the next one ran on a fresh decoder
        now = children()
        self.assertEqual(len(now), 1, "the worker should have one decoder: %s" % now)
        self.assertNotIn(hung[0], now)


if __name__ == "__main__":
    unittest.main()
