"""Whole-slide images: a slide (here a tiled pyramidal TIFF described as Aperio's SVS) is read
through libvips' OpenSlide loader, level by level, into the DeepZoom pyramid, and its tiles are
right at every level; the slot says what OpenSlide found (vendor, microns per pixel). A generic
tiled pyramidal TIFF, which libvips leaves to its TIFF loader, tiles right as well."""
# ctest-timeout: 600

import math
import struct
import unittest

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg", "vips", purpose="to make the test slide")

W, H = 1600, 1200


def add_description(path, text):
    """Gives the first directory of a little-endian classic TIFF the ImageDescription text: the
    directory is rewritten at the end of the file with the tag added (nothing else moves)."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    assert data[:4] == b"II*\0", "not a little-endian classic TIFF"
    ifd = struct.unpack_from("<I", data, 4)[0]
    n = struct.unpack_from("<H", data, ifd)[0]
    entries = [bytes(data[ifd + 2 + 12 * i:ifd + 14 + 12 * i]) for i in range(n)]
    next_ifd = struct.unpack_from("<I", data, ifd + 2 + 12 * n)[0]
    entries = [e for e in entries if struct.unpack_from("<H", e)[0] != 270]
    text = text.encode() + b"\0"
    data += b"\0" * (len(data) % 2)
    entries.append(struct.pack("<HHII", 270, 2, len(text), len(data)))
    data += text + b"\0" * (len(text) % 2)
    entries.sort(key=lambda e: struct.unpack_from("<H", e)[0])
    struct.pack_into("<I", data, 4, len(data))
    data += struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", next_ifd)
    with open(path, "wb") as f:
        f.write(data)


def add_associated(path, name, width, height, rgb):
    """Appends to a little-endian classic TIFF an uncompressed RGB strip directory of one colour,
    described as Aperio describes its associated images ("…\r\n<name> <w>x<h>"), chained after
    the last directory: OpenSlide lists it as the associated image `name`."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    ifd = struct.unpack_from("<I", data, 4)[0]
    while True:  # the last directory's "next" field
        n = struct.unpack_from("<H", data, ifd)[0]
        link = ifd + 2 + 12 * n
        ifd = struct.unpack_from("<I", data, link)[0]
        if ifd == 0:
            break
    data += b"\0" * (len(data) % 2)
    pixels_at = len(data)
    data += bytes(rgb) * (width * height)
    text = ("Aperio Image Library v10.0.51\n%s %dx%d" % (name, width, height)).encode() + b"\0"
    data += b"\0" * (len(data) % 2)
    text_at = len(data)
    data += text + b"\0" * (len(text) % 2)
    bits_at = len(data)
    data += struct.pack("<HHH", 8, 8, 8)
    data += b"\0" * (len(data) % 2)
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 3, bits_at), (259, 3, 1, 1), (262, 3, 1, 2),
               (270, 2, len(text), text_at), (273, 4, 1, pixels_at), (277, 3, 1, 3), (278, 4, 1, height),
               (279, 4, 1, width * height * 3), (284, 3, 1, 1)]
    new_ifd = len(data)
    data += struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        data += struct.pack("<HHI", tag, kind, count)
        data += struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
    data += struct.pack("<I", 0)
    struct.pack_into("<I", data, link, new_ifd)
    with open(path, "wb") as f:
        f.write(data)


class SlideTest(mt.MediaTestCase):
    def test_svs_label_and_macro_kept(self):
        """A slide's associated label and macro images become derived files of their own, as they are."""
        self.start_stack(settings={"image_pyramid_pixels": "1000000"})
        src = self.path("scan.png")
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=%dx%d" % (W, H), "-frames:v", "1", src)
        slide = self.path("labelled.svs")
        mt.run("vips", "tiffsave", src, slide, "--tile", "--pyramid", "--compression", "jpeg", "--Q", "95",
               "--tile-width", "256", "--tile-height", "256")
        add_description(slide, "Aperio Image Library v10.0.51\r\n%dx%d [0,0 %dx%d] (256x256) JPEG/RGB Q=95|AppMag = 20|"
                               "MPP = 0.2500" % (W, H, W, H))
        add_associated(slide, "label", 120, 80, (220, 30, 30))
        add_associated(slide, "macro", 200, 60, (30, 30, 220))
        item_id, item = self.upload_and_wait("labelled.svs", slide)
        self.assertEqual(item["status"], "ready", item)
        media = self.slot_media(item_id)
        self.assertEqual(media["media"]["vendor"], "aperio", media)
        self.assertAlmostEqual(media["media"]["mpp_x"], 0.25, places=4)
        for name, size, colour in (("label", (120, 80), (220, 30, 30)), ("macro", (200, 60), (30, 30, 220))):
            self.assertIsNotNone(media["files"][name], (name, media["files"]))
            got = mt.fetch(media["files"][name]["url"])
            self.assertEqual(got.status, 200, name)
            path = mt.save(self.sandbox.work_dir, name + ".jpg", got.body)
            self.assertEqual((int(mt.header(path, "width")), int(mt.header(path, "height"))), size, name)
            self.assertLess(max(abs(a - b) for a, b in zip(mt.pixel(path, size[0] // 2, size[1] // 2), colour)), 24, name)


    def test_slides_tile_at_every_level(self):
        self.start_stack(settings={"image_pyramid_pixels": "1000000"})
        src = self.path("scan.png")
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=%dx%d" % (W, H), "-frames:v", "1", src)
        for name, description in (("slide.svs", "Aperio Image Library v10.0.51\r\n%dx%d [0,0 %dx%d] (256x256) "
                                   "JPEG/RGB Q=95|AppMag = 20|MPP = 0.4990" % (W, H, W, H)),
                                  ("generic.tif", None)):
            with self.subTest(name):
                self.check_slide(src, name, description)

    def check_slide(self, src, name, description):
        slide = self.path(name)
        mt.run("vips", "tiffsave", src, slide, "--tile", "--pyramid", "--compression", "jpeg", "--Q", "95",
               "--tile-width", "256", "--tile-height", "256")
        if description:
            add_description(slide, description)
        item_id, item = self.upload_and_wait(name, slide)
        self.assertEqual(item["status"], "ready", item)
        media = self.slot_media(item_id)
        self.assertEqual((media["width"], media["height"]), (W, H))
        if description:
            self.assertEqual(media["format"], "wsi", media)
            self.assertEqual(media["media"]["loader"], "openslideload", media)
            self.assertEqual(media["media"]["vendor"], "aperio", media)
            self.assertAlmostEqual(media["media"]["mpp_x"], 0.499, places=4)
            self.assertAlmostEqual(media["media"]["mpp_y"], 0.499, places=4)
        else:
            self.assertEqual(media["media"]["loader"], "tiffload", media)
        self.assertIsNone(media["files"]["label"])  # neither slide carries associated images

        base = media["tiles"]["dzi"][:-len(".dzi")] + "_files"
        top = math.ceil(math.log2(max(W, H)))
        for level in range(top + 1):
            scale = 2 ** (top - level)
            lw, lh_ = math.ceil(W / scale), math.ceil(H / scale)
            cols, rows = math.ceil(lw / 254), math.ceil(lh_ / 254)
            for col, row in ((0, 0), (cols - 1, rows - 1)):
                r = self.client.get("%s/%d/%d_%d.jpg" % (base, level, col, row))
                self.assertEqual(r.status, 200, (level, col, row, r.text))
                tile = mt.save(self.sandbox.work_dir, "%s%d_%d_%d.jpg" % (name, level, col, row), r.body)
                x0, y0 = max(col * 254 - 1, 0), max(row * 254 - 1, 0)
                tw = min(lw, col * 254 + 255) - x0
                th = min(lh_, row * 254 + 255) - y0
                self.assertEqual((int(mt.header(tile, "width")), int(mt.header(tile, "height"))), (tw, th),
                                 (level, col, row))
                if tw < 32 or th < 32:
                    continue
                # the same region of the source scaled to this level, within JPEG and filter tolerance
                ref = self.path("ref%d.png" % level)
                mt.run("vips", "resize", src, ref, str(lw / W), "--vscale", str(lh_ / H))
                crop = self.path("crop%d_%d_%d.png" % (level, col, row))
                mt.run("vips", "crop", ref, crop, str(x0), str(y0), str(tw), str(th))
                _, _, a = mt.rgb_of(tile, self.sandbox.work_dir, "tile")
                _, _, b = mt.rgb_of(crop, self.sandbox.work_dir, "crop")
                self.assertLess(mt.mean_abs_diff(a, b), 20, (level, col, row))
        r = self.client.get("%s/%d/0_0.jpg" % (base, top + 1))
        self.assertEqual(r.status, 404)


if __name__ == "__main__":
    unittest.main()
