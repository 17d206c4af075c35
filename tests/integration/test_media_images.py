"""Images through the whole pipeline: upload → media.normalize in loupe-worker → ready, then the
derived files: EXIF orientation applied, colour converted to 8-bit sRGB, real dimensions on the
slot, thumbnail/preview/original redirects, and DeepZoom tiles cut from the pyramid."""
# ctest-timeout: 600

import os
import re
import unittest

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg", "ffprobe", "vips", "vipsheader", purpose="to make and check the test images")


class ImageTest(mt.MediaTestCase):
    def setUp(self):
        super().setUp()
        # a small pyramid threshold so a 1600 × 1200 image gets tiles
        self.start_stack(settings={"image_pyramid_pixels": "1000000", "thumbnail_size": "128",
                                   "preview_size": "512"})

    def test_exif_orientation_and_derived_files(self):
        # stored 400 × 300, red on top; EXIF orientation 6 = turn 90° clockwise to display
        src = mt.two_band_jpeg(self.path("band.jpg"), 400, 300, top="red", bottom="blue")
        with open(src, "rb") as f:
            data = mt.with_exif_orientation(f.read(), 6)
        item_id, item = self.upload_and_wait("rotated.jpg", data, content_type="image/jpeg")
        self.assertEqual(item["status"], "ready", item)
        self.assertIsNone(item["error"])
        slot = item["slots"][0]
        self.assertEqual((slot["width"], slot["height"]), (300, 400), slot)   # upright size
        self.assertEqual(slot["format"], "jpeg")
        media = self.slot_media(item_id)
        self.assertEqual(media["status"], "ready")
        self.assertEqual(media["media"]["orientation"], 6)
        self.assertEqual(media["media"]["rotation"], 90)
        self.assertEqual((media["media"]["stored_width"], media["media"]["stored_height"]), (400, 300))
        self.assertIsNone(media["tiles"], "a 0.12 MP image gets no pyramid")

        # thumbnail: portrait, 128 on the long side, red on the right after turning clockwise
        loc, r = self.follow("/api/v1/items/%s/slots/0/thumbnail" % item_id, expect_prefix=self.daemon.url + "/files/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.content_type, "image/jpeg")
        self.assertIn("immutable", r.header("Cache-Control"))
        thumb = mt.save(self.sandbox.work_dir, "thumb.jpg", r.body)
        self.assertEqual((int(mt.header(thumb, "width")), int(mt.header(thumb, "height"))), (96, 128))
        left, right = mt.pixel(thumb, 10, 64), mt.pixel(thumb, 86, 64)
        self.assertGreater(left[2], 150, "left half should be blue: %s" % left)
        self.assertGreater(right[0], 150, "right half should be red: %s" % right)
        self.assertIsNone(r.header("Content-Disposition"))

        # preview: never enlarged
        _, r = self.follow("/api/v1/items/%s/slots/0/preview" % item_id)
        prev = mt.save(self.sandbox.work_dir, "prev.jpg", r.body)
        self.assertEqual((int(mt.header(prev, "width")), int(mt.header(prev, "height"))), (300, 400))

        # original: the exact bytes uploaded
        _, r = self.follow("/api/v1/items/%s/slots/0/original" % item_id)
        self.assertEqual(r.body, data)

    def test_16bit_png_and_cmyk_jpeg_become_8bit_srgb(self):
        png16 = self.path("deep.png")
        mt.ffmpeg("-f", "lavfi", "-i", "color=c=0x3060C0:s=320x240", "-frames:v", "1", "-pix_fmt", "rgb48be", png16)
        self.assertEqual(mt.header(png16, "format"), "ushort")
        item_id, item = self.upload_and_wait("deep.png", png16, content_type="image/png")
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual((item["slots"][0]["width"], item["slots"][0]["height"]), (320, 240))
        self.assertEqual(item["slots"][0]["format"], "png")
        media = self.slot_media(item_id)
        self.assertEqual(media["media"]["bits"], 16)
        _, r = self.follow("/api/v1/items/%s/slots/0/preview" % item_id)
        prev = mt.save(self.sandbox.work_dir, "deep-prev.jpg", r.body)
        self.assertEqual(mt.header(prev, "format"), "uchar")
        self.assertEqual(mt.header(prev, "interpretation"), "srgb")
        px = mt.pixel(prev, 160, 120)
        for got, want in zip(px, (0x30, 0x60, 0xC0)):
            self.assertLess(abs(got - want), 12, px)

        # CMYK: convert a red JPEG with libvips' built-in CMYK profile
        rgb = mt.two_band_jpeg(self.path("rgb.jpg"), 200, 100, top="red", bottom="red")
        cmyk = self.path("cmyk.jpg")
        mt.run("vips", "icc_export", rgb, cmyk, "--output-profile", "cmyk")
        self.assertEqual(mt.header(cmyk, "interpretation"), "cmyk")
        item_id, item = self.upload_and_wait("cmyk.jpg", cmyk, content_type="image/jpeg")
        self.assertEqual(item["status"], "ready", item)
        media = self.slot_media(item_id)
        self.assertEqual(media["media"]["interpretation"], "cmyk")
        _, r = self.follow("/api/v1/items/%s/slots/0/thumbnail" % item_id)
        th = mt.save(self.sandbox.work_dir, "cmyk-thumb.jpg", r.body)
        self.assertEqual(mt.header(th, "interpretation"), "srgb")
        self.assertEqual(int(mt.header(th, "bands")), 3)
        red = mt.pixel(th, 60, 30)
        self.assertGreater(red[0], 180, red)
        self.assertLess(red[1], 90, red)
        self.assertLess(red[2], 90, red)

    def test_large_image_gets_deepzoom_tiles(self):
        big = self.path("big.jpg")
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1600x1200", "-frames:v", "1", "-q:v", "3", big)
        item_id, item = self.upload_and_wait("big.jpg", big, content_type="image/jpeg")
        self.assertEqual(item["status"], "ready", item)
        media = self.slot_media(item_id)
        self.assertIsNotNone(media["tiles"], media)
        dzi_url = media["tiles"]["dzi"]
        self.assertEqual(dzi_url, "/api/v1/items/%s/slots/0/tiles/image.dzi" % item_id)
        r = self.client.get(dzi_url)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.content_type, "application/xml")
        self.assertIn('TileSize="254"', r.text)
        self.assertIn('Overlap="1"', r.text)
        self.assertRegex(r.text, r'Width="1600"')
        self.assertRegex(r.text, r'Height="1200"')
        top = 11  # ceil(log2(1600))
        base = dzi_url[:-len(".dzi")] + "_files"

        r = self.client.get("%s/%d/0_0.jpg" % (base, top))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.content_type, "image/jpeg")
        tile = mt.save(self.sandbox.work_dir, "tile.jpg", r.body)
        self.assertEqual((int(mt.header(tile, "width")), int(mt.header(tile, "height"))), (255, 255))
        etag = r.header("ETag")
        self.assertTrue(etag)
        r2 = self.client.get("%s/%d/0_0.jpg" % (base, top), headers={"If-None-Match": etag})
        self.assertEqual(r2.status, 304)

        # the tile equals the same region of the original within JPEG tolerance
        _, _, tile_rgb = mt.rgb_of(tile, self.sandbox.work_dir)
        crop = self.path("crop.png")
        mt.run("vips", "crop", big, crop, "0", "0", "255", "255")
        _, _, crop_rgb = mt.rgb_of(crop, self.sandbox.work_dir)
        self.assertLess(mt.mean_abs_diff(tile_rgb, crop_rgb), 6)

        r = self.client.get("%s/0/0_0.webp" % base)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.content_type, "image/webp")
        webp = mt.save(self.sandbox.work_dir, "l0.webp", r.body)
        self.assertEqual((int(mt.header(webp, "width")), int(mt.header(webp, "height"))), (1, 1))

        self.assertProblem(self.client.get("%s/%d/99_0.jpg" % (base, top)), 404)
        self.assertProblem(self.client.get("%s/%d/0_0.png" % (base, top)), 404)
        self.assertProblem(self.client.get("%s/%d/0_0.jpg" % (base, top + 1)), 404)
        # frames are for videos
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/frames/0" % item_id), 404)


if __name__ == "__main__":
    unittest.main()
