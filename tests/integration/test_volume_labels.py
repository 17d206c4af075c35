"""NIfTI label maps through the real louped, loupe-worker, PostgreSQL and RabbitMQ: polygons and a
mask drawn on axial slices of a volume slot are exported (format nifti) as a label map whose header
carries the uploaded file's affine exactly and whose voxels lie where the slice convention puts
them; the archive imported into a fresh dataset holding the same volume gives masks and a raster
layer per slice, and exported again it gives the same voxels. A label map on another grid is a
problem naming the item, and nothing is written."""
# ctest-timeout: 600

import gzip
import io
import struct
import zipfile

import loupe_harness as lh
import media_testlib as mt
import test_media_volumes as tmv

lh.require_services(("louped", "loupe-worker"))

NX, NY, NZ = tmv.SHAPE
MASK_ID = "4f58cca2-e174-4564-b242-1d17042f1b01"


def header(raw):
    """(dims, datatype, sform rows, magic) of a NIfTI-1 file, read with struct alone."""
    dims = struct.unpack_from("<4h", raw, 40)
    datatype = struct.unpack_from("<h", raw, 70)[0]
    srow = struct.unpack_from("<12f", raw, 280)
    return dims, datatype, [list(srow[0:4]), list(srow[4:8]), list(srow[8:12])], raw[344:348]


def voxel(raw, i, j, k):
    """The label at stored index (i, j, k)."""
    offset = int(struct.unpack_from("<f", raw, 108)[0])
    return raw[offset + i + NX * (j + NY * k)]


class VolumeLabelsTest(mt.MediaTestCase):
    def dataset(self, slug):
        r = self.client.post("/api/v1/datasets", json={"name": slug, "slug": slug})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def volume_in(self, dataset_id):
        """An item head.nii.gz with the test volume, in dataset_id, ready."""
        r = self.client.post("/api/v1/datasets/%s/items" % dataset_id,
                             json={"name": "head.nii.gz", "path": "/ct", "slots": [{"name": "0", "type": "volume"}]})
        self.assertEqual(r.status, 201, r.text)
        item_id = r.json()["id"]
        self.put_file(item_id, gzip.compress(tmv.nifti()))
        self.assertEqual(self.wait_item(item_id)["status"], "ready")
        return item_id

    def export(self, dataset_id, variant=None):
        body = {"format": "nifti", "filters": {"dataset_id": dataset_id}}
        if variant:
            body["options"] = {"variant": variant}
        r = self.client.post("/api/v1/exports", json=body)
        self.assertEqual(r.status, 202, r.text)
        e = lh.wait_until(lambda: (lambda x: x if x["status"] in ("succeeded", "failed") else None)(
            self.client.get("/api/v1/exports/" + r.json()["id"]).json()), timeout=180, interval=0.1,
            message="export")
        self.assertEqual(e["status"], "succeeded", e)
        _, d = self.follow("/api/v1/exports/%s/download" % e["id"])
        self.assertEqual(d.status, 200)
        return e, zipfile.ZipFile(io.BytesIO(d.body))

    def import_into(self, dataset_id, export_id, class_map, expect="succeeded"):
        team = self.client.get("/api/v1/me").json()["team"]["id"]
        r = self.client.post("/api/v1/imports", json={"format": "nifti", "dataset_id": dataset_id,
                                                       "storage_key": "exports/%s/%s.zip" % (team, export_id),
                                                       "options": {"mode": "replace", "class_map": class_map}})
        self.assertEqual(r.status, 201, r.text)
        m = r.json()
        r = self.client.post("/api/v1/imports/%s/start" % m["id"])
        self.assertEqual(r.status, 202, r.text)
        m = lh.wait_until(lambda: (lambda x: x if x["status"] in ("succeeded", "failed") else None)(
            self.client.get("/api/v1/imports/" + m["id"]).json()), timeout=180, interval=0.1, message="import")
        self.assertEqual(m["status"], expect, m)
        return m

    def test_export_import_round_trip(self):
        self.start_stack()
        src = self.dataset_id
        item = self.volume_in(src)
        r = self.client.post("/api/v1/classes", json={"name": "lesion", "annotation_types": ["polygon", "mask"]})
        self.assertEqual(r.status, 201, r.text)
        lesion = r.json()["id"]
        r = self.client.post("/api/v1/classes", json={"name": "organ", "annotation_types": ["mask", "raster_layer"]})
        self.assertEqual(r.status, 201, r.text)
        organ = r.json()["id"]
        # a square on axial slices 7 and 8 (pixels x 24..27, y 10..13), held
        square = {"polygon": {"paths": [[{"x": 24, "y": 10}, {"x": 28, "y": 10}, {"x": 28, "y": 14},
                                         {"x": 24, "y": 14}]]}}
        # a mask on slice 3: pixels x 2..4 of row y 5
        dense = [0, 5 * NX + 2, 1, 3, 0, NX * NY - (5 * NX + 5)]
        r = self.client.post("/api/v1/items/%s/annotations/batch" % item, json={"create": [
            {"class_id": lesion, "slot": "0", "ranges": [[7, 9]], "frames": {"7": dict(square, keyframe=True)}},
            {"id": MASK_ID, "class_id": organ, "slot": "0", "ranges": [[3, 4]],
             "frames": {"3": {"keyframe": True, "mask": {}}}},
            {"class_id": organ, "slot": "0", "ranges": [[3, 4]], "frames": {"3": {"keyframe": True, "raster_layer": {
                "dense_rle": dense, "total_pixels": NX * NY, "mask_annotation_ids_mapping": {MASK_ID: 1}}}}}]})
        self.assertEqual(r.status, 200, r.text)

        e, z = self.export(src)
        self.assertEqual(sorted(z.namelist()), ["class_mapping.csv", "labels/ct/head.nii.gz"])
        self.assertEqual(z.read("class_mapping.csv").decode(),
                         'index,class,color\n0,background,#000000\n1,"lesion",#888888\n2,"organ",#888888\n')
        self.assertEqual(e["stats"]["annotations"]["written"], {"polygon": 1, "mask": 1}, e["stats"])
        raw = gzip.decompress(z.read("labels/ct/head.nii.gz"))
        dims, datatype, srow, magic = header(raw)
        # the uploaded file's grid and affine, exactly (stored L->R)
        self.assertEqual((dims, datatype, magic), ((3, NX, NY, NZ), 2, b"n+1\0"))
        self.assertEqual(srow, tmv.AFFINE)
        # axial pixel (x, y) of slice k is RAS voxel (x, ny-1-y, k); stored i is nx-1-x
        self.assertEqual(voxel(raw, NX - 1 - 24, NY - 1 - 10, 7), 1)
        self.assertEqual(voxel(raw, NX - 1 - 27, NY - 1 - 13, 8), 1)
        self.assertEqual(voxel(raw, NX - 1 - 28, NY - 1 - 10, 7), 0)
        self.assertEqual(voxel(raw, NX - 1 - 24, NY - 1 - 10, 9), 0)
        self.assertEqual(voxel(raw, NX - 1 - 2, NY - 1 - 5, 3), 2)
        self.assertEqual(voxel(raw, NX - 1 - 4, NY - 1 - 5, 3), 2)
        offset = int(struct.unpack_from("<f", raw, 108)[0])
        self.assertEqual(sum(1 for v in raw[offset:] if v), 2 * 16 + 3)
        # the bright block of the volume sits at the same stored indices as in the upload (i 4..7)
        self.assertEqual(offset + NX * NY * NZ, len(raw))

        # into a fresh dataset holding the same volume: masks and a raster layer per slice
        dst = self.dataset("again")
        again = self.volume_in(dst)
        m = self.import_into(dst, e["id"], {"__raster_layer__": organ})
        self.assertEqual(m["counts"]["annotations"]["created"], 3, m)
        anns = self.client.get("/api/v1/items/%s/annotations" % again).json()["annotations"]
        layers = [a for a in anns if "frames" in a and any("raster_layer" in f for f in a["frames"].values())]
        self.assertEqual(len(layers), 1, anns)
        self.assertEqual(sorted(layers[0]["frames"]), ["3", "7", "8"])
        e2, z2 = self.export(dst)
        self.assertEqual(gzip.decompress(z2.read("labels/ct/head.nii.gz")), raw)
        # in RAS+ order: the normalized affine, the same voxels reversed along i
        _, z3 = self.export(dst, variant="ras")
        ras = gzip.decompress(z3.read("labels/ct/head.nii.gz"))
        _, _, srow, _ = header(ras)
        self.assertEqual([[round(v, 4) for v in row] for row in srow],
                         [[2.0, 0, 0, 30.0 - 62.0], [0, 1.5, 0, -10.0], [0, 0, 3.0, 5.0]])
        self.assertEqual(voxel(ras, 24, NY - 1 - 10, 7), 1)
        self.assertEqual(voxel(ras, 2, NY - 1 - 5, 3), 2)

    def test_label_map_on_another_grid_is_refused(self):
        self.start_stack()
        self.volume_in(self.dataset_id)
        r = self.client.post("/api/v1/classes", json={"name": "organ", "annotation_types": ["mask"]})
        self.assertEqual(r.status, 201, r.text)
        wrong = tmv.nifti(shape=(NX, NY, NZ - 1))  # one slice short
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("class_mapping.csv", "index,class,color\n1,organ,#00ff00\n")
            z.writestr("labels/ct/head.nii", wrong)
        r = self.client.post("/api/v1/imports", json={"format": "nifti", "dataset_id": self.dataset_id})
        self.assertEqual(r.status, 201, r.text)
        m = r.json()
        r = self.client.put("/api/v1/imports/%s/file" % m["id"], data=buf.getvalue(),
                            headers={"Content-Type": "application/zip"})
        self.assertEqual(r.status, 200, r.text)
        r = self.client.post("/api/v1/imports/%s/start" % m["id"])
        self.assertEqual(r.status, 202, r.text)
        m = lh.wait_until(lambda: (lambda x: x if x["status"] in ("succeeded", "failed") else None)(
            self.client.get("/api/v1/imports/" + m["id"]).json()), timeout=180, interval=0.1, message="import")
        problems = [p for p in m["problems"] if p["file"] == "labels/ct/head.nii"]
        self.assertEqual(len(problems), 1, m)
        self.assertIn("32x24x15", problems[0]["message"])
        self.assertIn("head.nii.gz", problems[0]["message"])
        self.assertEqual(m["counts"]["annotations"]["created"], 0, m)
        self.assertFalse(m["written"], m)
