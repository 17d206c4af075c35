# ctest-timeout: 900
"""Rotated boxes through the real louped, loupe-worker, PostgreSQL and RabbitMQ: create, read and
update a rotated_box through the annotations API (field errors named "rotated_box.w"; a class must
list rotated_box to hold one), server-side interpolation of a video track at a middle frame (the
angle along the shorter arc), and an export + import round trip in every format (docs/FORMATS.md):
Darwin, COCO, Pascal VOC (roLabelImg's robndbox), YOLO OBB, CVAT XML (rotation in degrees) and the
semantic masks (drawn from the corners)."""

import json
import math

import loupe_harness as lh
import test_annotations as ta
import test_import_formats as tif
import test_video_annotations as tv

lh.require_services()

W, H = tif.W, tif.H
TYPES = ["bounding_box", "rotated_box", "polygon", "raster_layer", "mask"]


def corners(b):
    """The four corners of a rotated box (docs/GEOMETRY.md), top-left first, clockwise on screen."""
    c, s = math.cos(b["angle"]), math.sin(b["angle"])
    cx, cy = b["x"] + b["w"] / 2, b["y"] + b["h"] / 2
    return [(cx + dx * c - dy * s, cy + dx * s + dy * c)
            for dx, dy in ((-b["w"] / 2, -b["h"] / 2), (b["w"] / 2, -b["h"] / 2),
                           (b["w"] / 2, b["h"] / 2), (-b["w"] / 2, b["h"] / 2))]


class ApiTest(ta.AnnCase):
    def test_create_read_update(self):
        cls = self.make_class("plate", types=["rotated_box", "bounding_box"])
        box = {"x": 10.5, "y": 20, "w": 30.25, "h": 8, "angle": -7.25}  # any finite angle, kept as sent
        r = self.create({"class_id": cls["id"], "rotated_box": box})
        aid = r.json()["created"][0]
        got = self.by_id()[aid]
        self.assertEqual(ta.strip(got), {"rotated_box": box})
        # stored compactly: the box of the row is the exact extent of the corners
        xs, ys = zip(*corners(box))
        rows = self.query("SELECT bbox::text FROM annotations WHERE id = '%s'" % aid)
        self.assertEqual(len(rows), 1)
        stored = [float(v) for v in rows[0][0].replace("(", "").replace(")", "").split(",")]
        for got_v, want in zip(stored, (max(xs), max(ys), min(xs), min(ys))):
            self.assertAlmostEqual(got_v, want, places=9)

        moved = {"x": 1, "y": 2, "w": 3, "h": 4, "angle": 0.5}
        r = self.batch({"update": [{"id": aid, "class_id": cls["id"], "rotated_box": moved}]})
        self.assertEqual(r.status, 200, r.text)
        got = self.by_id()[aid]
        self.assertEqual(got["rotated_box"], moved)
        self.assertEqual(got["version"], 2)
        self.assertNotIn("bounding_box", got)

    def test_bad_boxes_name_their_field(self):
        cls = self.make_class("plate", types=["rotated_box"])
        boxes_only = self.make_class("boxes", types=["bounding_box"])
        good = {"x": 0, "y": 0, "w": 1, "h": 1, "angle": 0}
        cases = [
            ({"rotated_box": dict(good, w=-1)}, "create[0].rotated_box.w"),
            ({"rotated_box": dict(good, h=-0.5)}, "create[0].rotated_box.h"),
            ({"rotated_box": {k: v for k, v in good.items() if k != "angle"}}, "create[0].rotated_box.angle"),
            ({"rotated_box": dict(good, angle="0")}, "create[0].rotated_box.angle"),
            # finite members whose far edge or turned corner is not a number (exports wrote 0 there)
            ({"rotated_box": dict(good, x=1.7e308, w=1.7e308)}, "create[0].rotated_box.w"),
            ({"rotated_box": dict(good, x=0.5e308, w=1.2e308, h=1.7e308, angle=math.pi / 4)}, "create[0].rotated_box"),
            # a class of axis-aligned boxes does not take a rotated one, and the other way round
            ({"class_id": boxes_only["id"], "rotated_box": good}, "create[0].rotated_box"),
            ({"bounding_box": {"x": 0, "y": 0, "w": 1, "h": 1}}, "create[0].bounding_box"),
        ]
        for members, field in cases:
            with self.subTest(field=field, members=members):
                a = {"class_id": cls["id"]}
                a.update(members)
                self.assertProblem(self.batch({"create": [a]}), 422, field)
        self.assertEqual(self.annotations()["annotations"], [])


class VideoTest(tv.VideoCase):
    def test_interpolated_at_a_middle_frame(self):
        cls = self.make_class("plate", types=["rotated_box"])
        a = {"x": 0, "y": 0, "w": 10, "h": 20, "angle": 0}
        b = {"x": 100, "y": 50, "w": 30, "h": 40, "angle": math.radians(190)}
        r = self.create({"class_id": cls["id"], "slot": "cam", "ranges": [[0, 11]], "interpolated": True,
                         "frames": {"0": {"keyframe": True, "rotated_box": a},
                                    "10": {"keyframe": True, "rotated_box": b}}}, item=self.video)
        aid = r.json()["created"][0]
        head, rows = self.frames({"slot": "cam", "frames": "4..6"})
        got = self.at(rows, 5, aid)
        self.assertFalse(got["keyframe"])
        mid = got["rotated_box"]
        for k, v in (("x", 50), ("y", 25), ("w", 20), ("h", 30)):
            self.assertAlmostEqual(mid[k], v, places=9, msg=(k, mid))
        # 0 -> 190 degrees goes the short way round: -85 degrees half-way, not +95
        self.assertAlmostEqual(mid["angle"], math.radians(-85), places=9)
        self.assertAlmostEqual(self.at(rows, 4, aid)["rotated_box"]["angle"], math.radians(-68), places=9)


    def test_keyframes_of_extreme_angles_interpolate_to_finite_numbers(self):
        # any finite angle is kept as sent; keyframes whose difference overflows a double still
        # interpolate to numbers (the NDJSON once carried "angle":-nan), every line strict JSON
        cls = self.make_class("plate", types=["rotated_box"])
        a = {"x": 0, "y": 0, "w": 10, "h": 20, "angle": 1.7e308}
        b = {"x": 100, "y": 0, "w": 10, "h": 20, "angle": -1.7e308}
        r = self.create({"class_id": cls["id"], "slot": "cam", "ranges": [[0, 11]], "interpolated": True,
                         "frames": {"0": {"keyframe": True, "rotated_box": a}, "10": {"keyframe": True, "rotated_box": b}}},
                        item=self.video)
        aid = r.json()["created"][0]
        r = self.c.get("/api/v1/items/%s/annotations" % self.video["id"], query={"slot": "cam", "frames": "0..10"})
        self.assertEqual(r.status, 200, r.text)

        def refuse(constant):
            raise ValueError("not a number in the answer: %s" % constant)
        rows = [json.loads(line, parse_constant=refuse) for line in r.text.splitlines()[1:]]
        for frame in range(11):
            box = self.at(rows, frame, aid)["rotated_box"]
            self.assertTrue(all(math.isfinite(box[k]) for k in ("x", "y", "w", "h", "angle")), (frame, box))

    def test_viewport_meets_a_turning_box(self):
        # a 10 x 10 square turning a quarter turn: both keyframes cover [95, 105]^2, but half-way its
        # corners reach 100 +- 7.07, so a viewport right of x = 105 must still find it
        cls = self.make_class("plate", types=["rotated_box"])
        sq = {"x": 95, "y": 95, "w": 10, "h": 10}
        r = self.create({"class_id": cls["id"], "slot": "cam", "ranges": [[0, 11]], "interpolated": True,
                         "frames": {"0": {"keyframe": True, "rotated_box": dict(sq, angle=0)},
                                    "10": {"keyframe": True, "rotated_box": dict(sq, angle=math.pi / 2)}}},
                        item=self.video)
        aid = r.json()["created"][0]
        head, rows = self.frames({"slot": "cam", "frames": "5..5"})
        xs, ys = zip(*corners(self.at(rows, 5, aid)["rotated_box"]))
        self.assertGreater(max(xs), 106)
        doc = self.annotations(item=self.video, query={"bbox": "105.5,99,107,101"})
        self.assertEqual([a["id"] for a in doc["annotations"]], [aid])
        doc = self.annotations(item=self.video, query={"bbox": "108,99,110,101"})
        self.assertEqual(doc["annotations"], [])


class FormatsTest(tif.RoundTripCase):
    types = TYPES
    BOX = {"x": 20, "y": 12, "w": 16, "h": 8, "angle": 0.5}     # inside the 64 x 48 image
    FLAT = {"x": 2, "y": 30, "w": 10, "h": 6, "angle": 0}       # a rotated box that is not turned

    def setUp(self):
        super().setUp()
        r = self.c.post("/api/v1/items/%s/annotations/batch" % self.a, json={"create": [
            {"class_id": self.cat, "rotated_box": self.BOX}, {"class_id": self.cat, "rotated_box": self.FLAT}]})
        self.assertEqual(r.status, 200, r.text)

    def assertRbox(self, got, want, places=9):
        for k in ("x", "y", "w", "h", "angle"):
            self.assertAlmostEqual(got[k], want[k], places=places, msg=(k, got, want))

    def test_darwin_coco_voc_exact(self):
        for fmt in ("darwin", "coco", "voc"):
            with self.subTest(fmt):
                m, anns = self.round_trip(fmt)
                self.assertEqual(m["problems"], [])
                self.assertEqual(sorted(self.kinds(anns, "rotated_box"), key=lambda b: b["x"]),
                                 [self.FLAT, self.BOX])
                self.assertEqual(self.kinds(anns, "bounding_box"), [])

    def test_yolo_obb(self):
        m, anns = self.round_trip("yolo", "obb")
        self.assertEqual(m["problems"], [])
        got = sorted(self.kinds(anns, "rotated_box"), key=lambda b: b["x"])
        self.assertEqual(len(got), 2)
        self.assertRbox(got[0], self.FLAT)
        self.assertRbox(got[1], self.BOX)
        # detect writes the extent, segment the corners
        m, anns = self.round_trip("yolo", "segment")
        polys = [[(p["x"], p["y"]) for p in g["paths"][0]] for g in self.kinds(anns, "polygon")]
        want = corners(self.BOX)
        self.assertTrue(any(len(p) == 4 and all(abs(a - b) < 1e-9 for q, r in zip(p, want) for a, b in zip(q, r))
                            for p in polys), polys)

    def test_cvat_rotation(self):
        m, anns = self.round_trip("cvat")
        self.assertEqual(m["problems"], [])
        got = self.kinds(anns, "rotated_box")
        self.assertEqual(len(got), 1)
        self.assertRbox(got[0], self.BOX, places=12)
        # CVAT's angle-0 box is an ordinary box
        self.assertEqual(self.kinds(anns, "bounding_box"), [{k: self.FLAT[k] for k in "xywh"}])

    def test_cvat_video_track(self):
        # a turning box in a CVAT <track>: <box rotation> per keyframe, the keyframe at rotation 0
        # read back as a rotated box too (a track has one type)
        slots = [{"name": "0", "type": "video", "width": W, "height": H, "frame_count": 20, "fps": 25}]
        clips = []
        for ds in (self.src, self.dst):
            r = self.c.post("/api/v1/datasets/%s/items" % ds, json={"name": "clip.mp4", "path": "/v", "slots": slots})
            self.assertEqual(r.status, 201, r.text)
            clips.append(r.json()["id"])
        a, b = dict(self.BOX, angle=0), dict(self.BOX, x=30, angle=1.25)
        r = self.c.post("/api/v1/items/%s/annotations/batch" % clips[0], json={"create": [
            {"class_id": self.cat, "ranges": [[0, 11]], "interpolated": True,
             "frames": {"0": {"keyframe": True, "rotated_box": a}, "10": {"keyframe": True, "rotated_box": b}}}]})
        self.assertEqual(r.status, 200, r.text)
        m, _ = self.round_trip("cvat")
        self.assertEqual(m["problems"], [])
        got = self.c.get("/api/v1/items/%s/annotations" % clips[1]).json()["annotations"]
        self.assertEqual(len(got), 1, got)
        frames = got[0]["frames"]
        self.assertRbox(frames["0"]["rotated_box"], a)
        self.assertRbox(frames["10"]["rotated_box"], b, places=12)

    def test_masks_draw_the_corners(self):
        m, anns = self.round_trip("mask", class_map={"__raster_layer__": self.cat})
        self.assertEqual(m["problems"], [])
        layer = self.kinds(anns, "raster_layer")[0]
        labels = []
        for i in range(0, len(layer["dense_rle"]), 2):
            labels += [layer["dense_rle"][i]] * layer["dense_rle"][i + 1]
        self.assertEqual(len(labels), W * H)
        # pixel centres inside the turned box are set; those inside its unturned box's corner are not
        cx, cy = self.BOX["x"] + self.BOX["w"] / 2, self.BOX["y"] + self.BOX["h"] / 2
        self.assertEqual(labels[int(cy) * W + int(cx)], 1)
        self.assertEqual(labels[12 * W + 20], 0)  # the unturned box's top-left pixel lies outside
        c, s = math.cos(self.BOX["angle"]), math.sin(self.BOX["angle"])
        inside = 0
        for y in range(H):
            for x in range(W):
                dx, dy = x + 0.5 - cx, y + 0.5 - cy
                u, v = dx * c + dy * s, -dx * s + dy * c  # in the box's own axes
                if abs(u) < self.BOX["w"] / 2 - 1e-9 and abs(v) < self.BOX["h"] / 2 - 1e-9:
                    inside += 1
                    self.assertEqual(labels[y * W + x], 1, (x, y))
        self.assertGreater(inside, 100)
