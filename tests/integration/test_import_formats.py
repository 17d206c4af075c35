# ctest-timeout: 900
"""Import round trips per format through the real louped, loupe-worker, PostgreSQL and RabbitMQ:
a dataset is exported (POST /api/v1/exports) as Pascal VOC, YOLO (detect and segment), CVAT XML
and semantic masks, and each archive is imported (POST /api/v1/imports with its storage_key) into a
second dataset holding the same items with their sizes; what comes back is compared with what was
sent, by each format's documented rule (docs/FORMATS.md, Import readers)."""

import loupe_harness as lh

lh.require_services()

W, H = 64, 48


def pt(x, y):
    return {"x": x, "y": y}


class RoundTripCase(lh.LoupeTestCase):
    """A team with a worker, a source dataset holding item a.jpg (self.a) and a target dataset holding
    the same item to import into; self.cat is a class of `types`."""
    types = ["bounding_box", "polygon", "ellipse", "line", "keypoint", "tag", "mask", "raster_layer"]

    def setUp(self):
        super().setUp()
        self.start_team()
        self.worker = self.start_worker()
        self.src = self.dataset("Source")
        self.dst = self.dataset("Again")
        self.cat = self.klass("cat", self.types)
        self.a = self.item(self.src, "a.jpg", "/p")
        self.item(self.dst, "a.jpg", "/p")  # the items to import into, with their sizes

    def dataset(self, name):
        r = self.c.post("/api/v1/datasets", json={"name": name})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def klass(self, name, types):
        r = self.c.post("/api/v1/classes", json={"name": name, "annotation_types": types})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def item(self, ds, name, path):
        r = self.c.post("/api/v1/datasets/%s/items" % ds, json={"name": name, "path": path, "slots": [
            {"name": "0", "type": "image", "width": W, "height": H}]})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def round_trip(self, fmt, variant=None, skip_invalid=False, expect="succeeded", class_map=None):
        """Exports the source dataset, imports the archive into the target (replacing what an earlier
        round put there) and returns (import, the target item's annotations)."""
        body = {"format": fmt, "filters": {"dataset_id": self.src}}
        if variant:
            body["options"] = {"variant": variant}
        r = self.c.post("/api/v1/exports", json=body)
        self.assertEqual(r.status, 202, r.text)
        e = r.json()
        e = lh.wait_until(lambda: (lambda x: x if x["status"] in ("succeeded", "failed") else None)(
            self.c.get("/api/v1/exports/" + e["id"]).json()), timeout=180, interval=0.1, message="export")
        self.assertEqual(e["status"], "succeeded", e)
        options = {"mode": "replace", "skip_invalid": skip_invalid}
        if class_map:
            options["class_map"] = class_map
        r = self.c.post("/api/v1/imports", json={"format": fmt, "dataset_id": self.dst, "options": options,
                                                  "storage_key": "exports/%s/%s.zip" % (self.team, e["id"])})
        self.assertEqual(r.status, 201, r.text)
        m = r.json()
        r = self.c.post("/api/v1/imports/%s/start" % m["id"])
        self.assertEqual(r.status, 202, r.text)
        m = lh.wait_until(lambda: (lambda x: x if x["status"] in ("succeeded", "failed") else None)(
            self.c.get("/api/v1/imports/" + m["id"]).json()), timeout=180, interval=0.1, message="import")
        self.assertEqual(m["status"], expect, m)
        r = self.c.get("/api/v1/items", query={"dataset_id": self.dst})
        item = [i for i in r.json()["items"] if i["name"] == "a.jpg"][0]
        anns = self.c.get("/api/v1/items/%s/annotations" % item["id"]).json()["annotations"]
        return m, anns

    def kinds(self, anns, kind):
        return [a[kind] for a in anns if kind in a]


class ImportFormatsTest(RoundTripCase):
    def setUp(self):
        super().setUp()
        c = self.cat
        self.dense = [0, 10 * W + 20, 1, 10, 0, W - 10, 1, 10, 0, W * H - (11 * W + 30)]
        r = self.c.post("/api/v1/items/%s/annotations/batch" % self.a, json={"create": [
            {"class_id": c, "bounding_box": {"x": 2, "y": 3, "w": 10, "h": 20}},
            {"class_id": c, "polygon": {"paths": [[pt(30, 5), pt(50, 5), pt(50, 25), pt(30, 25)]]}},
            {"class_id": c, "ellipse": {"center": pt(40, 30), "radius": pt(8, 4), "angle": 0.5}},
            {"class_id": c, "line": {"path": [pt(0, 0), pt(9, 7)]}},
            {"class_id": c, "keypoint": {"x": 3, "y": 4}},
            {"class_id": c, "tag": {}},
            {"id": "4f58cca2-e174-4564-b242-1d17042f1b01", "class_id": c, "mask": {}},
            {"class_id": c, "raster_layer": {"dense_rle": self.dense, "total_pixels": W * H,
                                             "mask_annotation_ids_mapping": {
                                                 "4f58cca2-e174-4564-b242-1d17042f1b01": 1}}}]})
        self.assertEqual(r.status, 200, r.text)

    def test_voc_yolo_cvat_mask(self):
        # VOC: every shape with an extent as the pixels its box covers (1-based inclusive read back)
        m, anns = self.round_trip("voc")
        self.assertEqual(m["problems"], [])
        boxes = sorted((b["x"], b["y"], b["w"], b["h"]) for b in self.kinds(anns, "bounding_box"))
        self.assertIn((2, 3, 10, 20), boxes)       # the box, exactly
        self.assertIn((30, 5, 20, 20), boxes)      # the polygon's box
        self.assertIn((20, 10, 10, 2), boxes)      # the mask's pixel box
        self.assertTrue(all(a["source"] == "import" for a in anns))

        # YOLO: fractions of the item's stored size, multiplied back
        m, anns = self.round_trip("yolo")
        self.assertEqual(m["problems"], [])
        boxes = sorted(tuple(round(b[k], 9) for k in "xywh") for b in self.kinds(anns, "bounding_box"))
        self.assertIn((2, 3, 10, 20), boxes)
        self.assertIn((30, 5, 20, 20), boxes)
        m, anns = self.round_trip("yolo", "segment")
        self.assertEqual(m["problems"], [])
        polys = [[(round(p["x"], 9), round(p["y"], 9)) for p in g["paths"][0]] for g in self.kinds(anns, "polygon")]
        self.assertIn([(30, 5), (50, 5), (50, 25), (30, 25)], polys)
        self.assertIn(64, [len(p) for p in polys])  # the ellipse, as the export wrote it

        # CVAT: every shape as it is, the mask through its raster layer, pixel for pixel (a new id:
        # CVAT keeps none)
        m, anns = self.round_trip("cvat")
        self.assertEqual(m["problems"], [])
        self.assertTrue(m["written"])
        masks = [a for a in anns if "mask" in a]
        self.assertEqual(len(masks), 1)
        layer = self.kinds(anns, "raster_layer")[0]
        self.assertEqual(layer["dense_rle"], self.dense)
        self.assertEqual(layer["mask_annotation_ids_mapping"], {masks[0]["id"]: 1})
        self.assertEqual(self.kinds(anns, "bounding_box"), [{"x": 2, "y": 3, "w": 10, "h": 20}])
        self.assertEqual(self.kinds(anns, "line"), [{"path": [pt(0, 0), pt(9, 7)]}])
        self.assertEqual(self.kinds(anns, "keypoint"), [{"x": 3, "y": 4}])
        e = self.kinds(anns, "ellipse")[0]
        self.assertAlmostEqual(e["angle"], 0.5, places=12)
        self.assertEqual(len(self.kinds(anns, "tag")), 1)

        # semantic masks: the raster layer again, pixel for pixel (its class is Darwin's
        # "__raster_layer__": mapped here to the team's class that holds raster layers)
        m, anns = self.round_trip("mask", class_map={"__raster_layer__": self.cat})
        self.assertEqual(m["problems"], [])
        layer = self.kinds(anns, "raster_layer")[0]
        masks = [a for a in anns if "mask" in a]
        self.assertEqual(len(masks), 1)
        # the polygon, box and ellipse are drawn into the semantic PNG with the mask, all class cat
        labels = []
        for i in range(0, len(layer["dense_rle"]), 2):
            labels += [layer["dense_rle"][i]] * layer["dense_rle"][i + 1]
        self.assertEqual(len(labels), W * H)
        for y, x in ((10, 25), (11, 20), (4, 3), (15, 40)):  # the mask, the box, the polygon
            self.assertEqual(labels[y * W + x], 1, (y, x))
        self.assertEqual(labels[47 * W + 63], 0)
        self.assertEqual(layer["mask_annotation_ids_mapping"], {masks[0]["id"]: 1})

        # instance masks: each drawn shape a mask of its class with its annotation id back
        # (instances.csv), the PNG one raster layer
        m, anns = self.round_trip("mask", "instance")
        self.assertEqual(m["problems"], [])
        masks = {a["id"]: a for a in anns if "mask" in a}
        self.assertEqual(len(masks), 4)  # the box, the polygon, the ellipse and the mask
        self.assertIn("4f58cca2-e174-4564-b242-1d17042f1b01", masks)
        self.assertEqual({a["name"] for a in masks.values()}, {"cat"})
        layer = self.kinds(anns, "raster_layer")[0]
        self.assertEqual(sorted(layer["mask_annotation_ids_mapping"]), sorted(masks))
        labels = []
        for i in range(0, len(layer["dense_rle"]), 2):
            labels += [layer["dense_rle"][i]] * layer["dense_rle"][i + 1]
        mask_label = layer["mask_annotation_ids_mapping"]["4f58cca2-e174-4564-b242-1d17042f1b01"]
        self.assertEqual(labels[10 * W + 25], mask_label)  # the mask's own pixels
        self.assertEqual(labels[4 * W + 3], layer["mask_annotation_ids_mapping"][
            [a["id"] for a in self.c.get("/api/v1/items/%s/annotations" % self.a).json()["annotations"]
             if "bounding_box" in a][0]])

    def test_yolo_pose(self):
        # a skeleton class: its nodes travel in data.yaml's kpt_names, so the skeleton reads back
        # node for node (occluded as v = 1), whether the class exists or the import creates it
        r = self.c.post("/api/v1/classes", json={"name": "person", "annotation_types": ["skeleton"], "skeleton": {
            "nodes": [{"name": "nose"}, {"name": "left eye"}, {"name": "right eye"}], "edges": [[0, 1], [0, 2]]}})
        self.assertEqual(r.status, 201, r.text)
        person = r.json()["id"]
        nodes = [{"name": "nose", "x": 10, "y": 12, "occluded": False},
                 {"name": "left eye", "x": 8, "y": 9.5, "occluded": True},
                 {"name": "right eye", "x": 12, "y": 9, "occluded": False}]
        r = self.c.post("/api/v1/items/%s/annotations/batch" % self.a, json={"create": [
            {"class_id": person, "skeleton": {"nodes": nodes}}]})
        self.assertEqual(r.status, 200, r.text)
        m, anns = self.round_trip("yolo", "pose")
        self.assertEqual(m["problems"], [])
        self.assertEqual(m["counts"]["annotations"]["created"] + m["counts"]["annotations"]["replaced"], 1)
        sk = self.kinds(anns, "skeleton")
        self.assertEqual(len(sk), 1)
        got = [{"name": n["name"], "x": round(n["x"], 9), "y": round(n["y"], 9), "occluded": n["occluded"]}
               for n in sk[0]["nodes"]]
        self.assertEqual(got, nodes)
        self.assertEqual([a["name"] for a in anns if "skeleton" in a], ["person"])

    def test_cvat_cuboid(self):
        # CVAT's <cuboid>: written with its eight corners, read back as the same two faces
        r = self.c.post("/api/v1/classes", json={"name": "crate", "annotation_types": ["cuboid"]})
        self.assertEqual(r.status, 201, r.text)
        cuboid = {"front": {"x": 1.5, "y": 2, "w": 3, "h": 4}, "back": {"x": 5, "y": 6, "w": 7.25, "h": 8}}
        r = self.c.post("/api/v1/items/%s/annotations/batch" % self.a, json={"create": [
            {"class_id": r.json()["id"], "cuboid": cuboid}]})
        self.assertEqual(r.status, 200, r.text)
        m, anns = self.round_trip("cvat")
        self.assertEqual(m["problems"], [])
        self.assertEqual(self.kinds(anns, "cuboid"), [cuboid])
        self.assertEqual([a["name"] for a in anns if "cuboid" in a], ["crate"])
