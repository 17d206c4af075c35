"""Volume slots: a NIfTI upload becomes the normalized RAS+ volume with its slot metadata in Darwin's
shape, windowed slices of every plane are served on demand with the voxel where the documented
convention puts it, the volume itself is served signed with byte ranges, and hostile files end in an
item error with a sentence while the worker carries on."""
# ctest-timeout: 600

import gzip
import json
import struct

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("vips", purpose="to read the slices")

SHAPE = (32, 24, 16)
# stored L→R: i grows toward the patient's left (x negated), 2 mm × 1.5 mm × 3 mm
AFFINE = [[-2.0, 0, 0, 30.0], [0, 1.5, 0, -10.0], [0, 0, 3.0, 5.0]]
BLOCK = (range(4, 8), range(10, 14), range(6, 10))  # a bright 4×4×4 block, in stored indices


def nifti(shape=SHAPE, affine=AFFINE, dims=None, value=1000, truncate=None):
    """A NIfTI-1 single file of int16 voxels: 0 except the bright block."""
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    dim = list(dims or (3,) + tuple(shape)) + [1] * 4
    struct.pack_into("<8h", h, 40, *dim[:8])
    struct.pack_into("<hh", h, 70, 4, 16)
    struct.pack_into("<8f", h, 76, 1.0, 2.0, 1.5, 3.0, 1, 1, 1, 1)
    struct.pack_into("<fff", h, 108, 352.0, 1.0, 0.0)
    struct.pack_into("<hh", h, 252, 0, 1)  # qform 0, sform 1 (scanner)
    struct.pack_into("<12f", h, 280, *(v for row in affine for v in row))
    h[344:348] = b"n+1\0"
    nx, ny, nz = shape
    vox = bytearray(nx * ny * nz * 2)
    for k in BLOCK[2]:
        for j in BLOCK[1]:
            for i in BLOCK[0]:
                struct.pack_into("<h", vox, 2 * (i + nx * (j + ny * k)), value)
    data = bytes(h) + b"\0\0\0\0" + bytes(vox)
    return data[:truncate] if truncate else data


class VolumeTest(mt.MediaTestCase):
    def slice_pixels(self, item_id, plane, index, points, window="500,1000"):
        r = self.client.get("/api/v1/items/%s/slots/0/volume/%s/%d?window=%s&format=jpeg&quality=100"
                            % (item_id, plane, index, window))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Content-Type"), "image/jpeg")
        path = mt.save(self.sandbox.work_dir, "%s-%d.jpg" % (plane, index), r.body)
        return path, [mt.pixel(path, x, y)[0] for x, y in points]

    def test_nifti_upload_metadata_slices_and_volume(self):
        self.start_stack()
        item_id, item = self.upload_and_wait("head.nii.gz", gzip.compress(nifti()), slot_type="volume")
        self.assertEqual(item["status"], "ready", item)
        slot = item["slots"][0]
        self.assertEqual((slot["format"], slot["width"], slot["height"], slot["frame_count"]), ("nifti", 32, 24, 16))

        media = self.slot_media(item_id)
        meta = media["media"]
        self.assertEqual(meta["shape"], [32, 24, 16])
        self.assertEqual(meta["pixdim"], [2.0, 1.5, 3.0])
        self.assertEqual(meta["orientation"], "RAS")
        self.assertEqual(meta["primary_plane"], "AXIAL")
        self.assertEqual(meta["plane_map"], {"0": "AXIAL"})
        self.assertEqual(meta["slices"], {"axial": 16, "coronal": 24, "sagittal": 32})
        # i reversed: the new affine's x column is +2 and its origin the old voxel 31
        self.assertEqual([[round(v, 4) for v in row] for row in meta["affine"][:3]],
                         [[2.0, 0, 0, 30.0 - 62.0], [0, 1.5, 0, -10.0], [0, 0, 3.0, 5.0]])
        self.assertEqual(meta["original_affine"][0][0], -2.0)
        self.assertEqual([w["name"] for w in meta["windows"]], ["auto", "full"])
        self.assertEqual(meta["histogram"]["max"], 1000)
        self.assertEqual(sum(meta["histogram"]["counts"]), 32 * 24 * 16)
        self.assertTrue(media["slices"].endswith("/volume/{plane}/{index}"), media)

        # the volume: signed, an uncompressed NIfTI-1 (volume_gzip_level 0, the default) of the
        # same size, byte ranges honoured
        loc, r = self.follow("/api/v1/items/%s/slots/0/volume" % item_id)
        self.assertEqual(r.status, 200)
        self.assertTrue(loc.split("?")[0].endswith("/volume-ras.nii"), loc)
        raw = r.body
        self.assertEqual(len(raw), 352 + 32 * 24 * 16 * 2)
        self.assertEqual(struct.unpack_from("<i", raw, 0)[0], 348)
        self.assertEqual(list(struct.unpack_from("<4h", raw, 40)), [3, 32, 24, 16])
        part = mt.fetch(loc, headers={"Range": "bytes=0-99"})
        self.assertEqual(part.status, 206)
        self.assertEqual(part.body, r.body[:100])

        # the block (stored i 4..7) is at RAS i 24..27, j 10..13, k 6..9
        path, (inside, outside) = self.slice_pixels(item_id, "axial", 7, [(25, 23 - 11), (5, 23 - 11)])
        self.assertEqual((mt.header(path, "width"), mt.header(path, "height")), ("32", "24"))
        self.assertGreater(inside, 200)
        self.assertLess(outside, 40)
        path, (inside, outside) = self.slice_pixels(item_id, "coronal", 11, [(26, 15 - 7), (26, 15 - 1)])
        self.assertEqual((mt.header(path, "width"), mt.header(path, "height")), ("32", "16"))
        self.assertGreater(inside, 200)
        self.assertLess(outside, 40)
        path, (inside, outside) = self.slice_pixels(item_id, "sagittal", 25, [(12, 15 - 8), (2, 15 - 8)])
        self.assertEqual((mt.header(path, "width"), mt.header(path, "height")), ("24", "16"))
        self.assertGreater(inside, 200)
        self.assertLess(outside, 40)
        # a slice without the block is dark, and a window centred far above shows nothing either
        _, (v,) = self.slice_pixels(item_id, "axial", 1, [(25, 12)])
        self.assertLess(v, 40)
        _, (v,) = self.slice_pixels(item_id, "axial", 7, [(25, 12)], window="5000,100")
        self.assertLess(v, 40)
        # presets by name; repeated requests revalidate
        r = self.client.get("/api/v1/items/%s/slots/0/volume/axial/7?window=full" % item_id)
        self.assertEqual(r.status, 200, r.text)
        etag = r.header("ETag")
        r = self.client.get("/api/v1/items/%s/slots/0/volume/axial/7?window=full" % item_id,
                            headers={"If-None-Match": etag})
        self.assertEqual(r.status, 304)

        # bad requests name what is wrong
        for path, status, field in (("axial/16", 404, None), ("oblique/0", 404, None), ("axial/x", 404, None),
                                    ("axial/0?window=lung", 422, "window"), ("axial/0?window=40,0", 422, "window"),
                                    ("axial/0?format=png", 400, "format")):
            r = self.client.get("/api/v1/items/%s/slots/0/volume/%s" % (item_id, path))
            self.assertEqual(r.status, status, (path, r.text))
            if field:
                self.assertEqual(r.json()["errors"][0]["field"], field, r.text)
        img_id, img = self.upload_and_wait("photo.jpg", mt.two_band_jpeg(self.path("p.jpg"), 32, 24))
        r = self.client.get("/api/v1/items/%s/slots/0/volume/axial/0" % img_id)
        self.assertEqual(r.status, 404, r.text)
        self.assertIn("only for volumes", r.text)

    def test_annotations_on_a_volume_slot_use_axial_frames(self):
        self.start_stack()
        item_id, item = self.upload_and_wait("head.nii", nifti(), slot_type="volume")
        self.assertEqual(item["status"], "ready", item)
        r = self.client.post("/api/v1/classes", json={"name": "lesion", "annotation_types": ["polygon"]})
        self.assertEqual(r.status, 201, r.text)
        cls = r.json()["id"]
        square = {"polygon": {"paths": [[{"x": 24, "y": 10}, {"x": 28, "y": 10}, {"x": 28, "y": 14},
                                         {"x": 24, "y": 14}]]}}
        body = {"create": [{"class_id": cls, "slot": "0", "ranges": [[7, 8]],
                            "frames": {"7": dict(square, keyframe=True)}}]}
        r = self.client.post("/api/v1/items/%s/annotations/batch" % item_id, json=body)
        self.assertEqual(r.status, 200, r.text)
        r = self.client.get("/api/v1/items/%s/annotations" % item_id, query={"slot": "0", "frames": "7..7"})
        self.assertEqual(r.status, 200, r.text)
        lines = [json.loads(line) for line in r.text.splitlines()]  # a header, then one line per frame
        self.assertEqual((lines[1]["frame"], len(lines[1]["annotations"])), (7, 1), r.text)
        self.assertEqual(lines[1]["annotations"][0]["polygon"], square["polygon"])
        # frames are axial slices: the volume has 16, so frame 16 is outside it
        body["create"][0]["frames"] = {"16": dict(square, keyframe=True)}
        body["create"][0]["ranges"] = [[16, 17]]
        r = self.client.post("/api/v1/items/%s/annotations/batch" % item_id, json=body)
        self.assertEqual(r.status, 422, r.text)
        self.assertIn("16", r.text)

    def test_hostile_volumes_end_in_error_and_the_worker_carries_on(self):
        self.start_stack(worker_settings={"volume_max_voxels": "100000"})
        cases = [
            ("huge.nii", nifti(dims=(3, 30000, 30000, 30000), truncate=352), ["over the limit", "volume_max_side"]),
            ("many.nii", nifti(shape=(64, 64, 64)), ["262144 voxels", "volume_max_voxels"]),
            ("truncated.nii.gz", gzip.compress(nifti(truncate=2000)), ["ends before its voxel data"]),
            ("text.nii", b"this is not a volume\n" * 40, ["not NIfTI"]),
            ("two-file.nii", nifti().replace(b"n+1\0", b"ni1\0", 1), ["single-file NIfTI"]),
        ]
        for name, data, phrases in cases:
            _, item = self.upload_and_wait(name, data, slot_type="volume")
            self.assertEqual(item["status"], "error", (name, item))
            for p in phrases:
                self.assertIn(p, item["error"], (name, item))
        _, item = self.upload_and_wait("fine.nii", nifti(), slot_type="volume")
        self.assertEqual(item["status"], "ready", item)
        self.assertTrue(all(w.alive() for w in self.workers))


if __name__ == "__main__":
    import unittest
    unittest.main()
