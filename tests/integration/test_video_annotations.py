# ctest-timeout: 600
"""Video and volume annotations through the real louped and PostgreSQL: keyframes, visibility
ranges (end exclusive) and hidden areas stored and returned as sent; server-side interpolation
through the frame-range read (GET …/annotations?slot=…&frames=a..b, NDJSON) with exact expected
values for boxes, polygons with unequal vertex counts, held keypoints and tags; validation of
frames; and the Darwin JSON 2.0 video sample round-tripped."""

import copy
import json
import os

import loupe_harness as lh
import test_annotations as ta

lh.require_services()

SQUARE4 = [ta.pt(0, 0), ta.pt(10, 0), ta.pt(10, 10), ta.pt(0, 10)]
SQUARE8_SHIFTED = [ta.pt(x + 20, y) for x, y in [(0, 0), (5, 0), (10, 0), (10, 5), (10, 10), (5, 10), (0, 10), (0, 5)]]


class VideoCase(ta.AnnCase):
    def setUp(self):
        super().setUp()
        self.video = self.make_item("clip.mp4", slots=[{"name": "cam", "type": "video", "width": 1920,
                                                        "height": 1080, "frame_count": 100, "fps": 25}])

    def frames(self, query, item=None, status=200):
        r = self.c.get("/api/v1/items/%s/annotations" % (item or self.video)["id"], query=query)
        self.assertEqual(r.status, status, r.text)
        if status != 200:
            return r
        self.assertEqual(r.content_type, "application/x-ndjson")
        lines = r.text.splitlines()
        head = json.loads(lines[0])
        self.assertEqual(r.header("ETag"), '"%d"' % head["version"])
        return head, [json.loads(line) for line in lines[1:]]

    def at(self, rows, frame, aid):
        """The entry of annotation aid on frame, or None when absent there."""
        row = [r for r in rows if r["frame"] == frame]
        self.assertEqual(len(row), 1, rows)
        hits = [a for a in row[0]["annotations"] if a["id"] == aid]
        return hits[0] if hits else None

    def assertBox(self, got, x, y, w, h):
        for k, v in zip("xywh", (x, y, w, h)):
            self.assertAlmostEqual(got[k], v, places=9, msg=(k, got))

    def assertPath(self, got, expected):
        self.assertEqual(len(got), len(expected), got)
        for g, e in zip(got, expected):
            self.assertAlmostEqual(g["x"], e["x"], places=9, msg=got)
            self.assertAlmostEqual(g["y"], e["y"], places=9, msg=got)


class InterpolationTest(VideoCase):
    def test_frames_on_demand(self):
        box = self.ann(slot="cam", frames={"0": {"keyframe": True, "bounding_box": {"x": 0, "y": 0, "w": 10, "h": 10}},
                                           "10": {"keyframe": True, "bounding_box": {"x": 100, "y": 50, "w": 20, "h": 30}}},
                       ranges=[[0, 11]], hidden_areas=[[6, 8]], interpolated=True)
        poly = self.ann(slot="cam", frames={"0": {"keyframe": True, "polygon": {"paths": [SQUARE4]}},
                                            "10": {"keyframe": True, "polygon": {"paths": [SQUARE8_SHIFTED]}}},
                        ranges=[[0, 11]], interpolated=True)
        held = self.ann(slot="cam", interpolated=False,
                        frames={"0": {"keyframe": True, "keypoint": ta.pt(0, 0)},
                                "10": {"keyframe": True, "keypoint": ta.pt(10, 10)}}, ranges=[[0, 11]])
        tag = self.ann(slot="cam", frames={"2": {"keyframe": True, "tag": {}, "text": {"text": "t"}}}, ranges=[[0, 4]])
        r = self.create(box, poly, held, tag, item=self.video)
        box_id, poly_id, held_id, tag_id = r.json()["created"]

        head, rows = self.frames({"slot": "cam", "frames": "0..12"})
        self.assertEqual(head, {"version": 1, "item_id": self.video["id"], "slot": "cam", "from": 0, "to": 12})
        self.assertEqual([row["frame"] for row in rows], list(range(13)))

        # Boxes: linear; keyframes marked; hidden areas and the end of the range leave gaps.
        a = self.at(rows, 0, box_id)
        self.assertEqual((a["keyframe"], a["class_id"]), (True, self.cls["id"]))
        self.assertEqual(a["bounding_box"], {"x": 0, "y": 0, "w": 10, "h": 10})
        a = self.at(rows, 4, box_id)
        self.assertFalse(a["keyframe"])
        self.assertBox(a["bounding_box"], 40, 20, 14, 18)
        self.assertBox(self.at(rows, 5, box_id)["bounding_box"], 50, 25, 15, 20)
        self.assertIsNone(self.at(rows, 6, box_id))
        self.assertIsNone(self.at(rows, 7, box_id))
        self.assertBox(self.at(rows, 8, box_id)["bounding_box"], 80, 40, 18, 26)
        a = self.at(rows, 10, box_id)
        self.assertTrue(a["keyframe"])
        self.assertEqual(a["bounding_box"], {"x": 100, "y": 50, "w": 20, "h": 30})
        self.assertIsNone(self.at(rows, 11, box_id))
        self.assertIsNone(self.at(rows, 12, box_id))

        # Polygons with 4 and 8 vertices: both resampled to 8 by arc length, then linear.
        self.assertEqual(self.at(rows, 0, poly_id)["polygon"], {"paths": [SQUARE4]})
        mid = [ta.pt(x, y) for x, y in [(10, 0), (15, 0), (20, 0), (20, 5), (20, 10), (15, 10), (10, 10), (10, 5)]]
        self.assertPath(self.at(rows, 5, poly_id)["polygon"]["paths"][0], mid)
        fifth = [ta.pt(x + 4, y) for x, y in [(0, 0), (5, 0), (10, 0), (10, 5), (10, 10), (5, 10), (0, 10), (0, 5)]]
        self.assertPath(self.at(rows, 2, poly_id)["polygon"]["paths"][0], fifth)
        self.assertFalse(self.at(rows, 2, poly_id)["keyframe"])

        # "interpolated": false holds each keyframe until the next.
        a = self.at(rows, 9, held_id)
        self.assertEqual((a["keyframe"], a["keypoint"]), (False, ta.pt(0, 0)))

        # A tag with one keyframe is held over its whole range [0, 4).
        for f in range(4):
            a = self.at(rows, f, tag_id)
            self.assertEqual((a["keyframe"], a["tag"]), (f == 2, {}))
        self.assertIsNone(self.at(rows, 4, tag_id))

        # A window in the middle needs the keyframes on both sides of it.
        head, rows = self.frames({"slot": "cam", "frames": "4..5"})
        self.assertEqual([row["frame"] for row in rows], [4, 5])
        self.assertBox(self.at(rows, 4, box_id)["bounding_box"], 40, 20, 14, 18)
        self.assertPath(self.at(rows, 5, poly_id)["polygon"]["paths"][0], mid)
        # Frames past every annotation are empty, not an error.
        head, rows = self.frames({"slot": "cam", "frames": "50..51"})
        self.assertEqual(rows, [{"frame": 50, "annotations": []}, {"frame": 51, "annotations": []}])

        # The stored form comes back exactly as sent.
        got = self.by_id(self.video)
        self.assertEqual(ta.strip(got[box_id]), {k: v for k, v in box.items() if k not in ("class_id", "slot")})
        self.assertEqual(ta.strip(got[poly_id]), {k: v for k, v in poly.items() if k not in ("class_id", "slot")})
        self.assertEqual(ta.strip(got[held_id]), {k: v for k, v in held.items() if k not in ("class_id", "slot")})

        # A new keyframe changes what the frames say; the version moves.
        upd = copy.deepcopy(box)
        upd["id"] = box_id
        upd["frames"]["5"] = {"keyframe": True, "bounding_box": {"x": 0, "y": 0, "w": 10, "h": 10}}
        self.assertEqual(self.batch({"update": [upd]}, item=self.video).status, 200)
        head, rows = self.frames({"slot": "cam", "frames": "4..5"})
        self.assertEqual(head["version"], 2)
        self.assertBox(self.at(rows, 4, box_id)["bounding_box"], 0, 0, 10, 10)
        self.assertTrue(self.at(rows, 5, box_id)["keyframe"])

    def test_ranges_without_keyframes_and_several_ranges(self):
        ann = self.ann(slot="cam", frames={"2": {"keypoint": ta.pt(2, 2)}, "20": {"keypoint": ta.pt(20, 20)}},
                       ranges=[[0, 5], [10, 12], [18, 25]])
        aid = self.create(ann, item=self.video).json()["created"][0]
        head, rows = self.frames({"slot": "cam", "frames": "0..25"})
        present = [row["frame"] for row in rows if self.at(rows, row["frame"], aid)]
        self.assertEqual(present, [0, 1, 2, 3, 4, 10, 11, 18, 19, 20, 21, 22, 23, 24])
        # Each range uses its own keyframes: [0,5) holds frame 2; [10,12) has none and holds the last before.
        self.assertEqual(self.at(rows, 4, aid)["keypoint"], ta.pt(2, 2))
        self.assertEqual(self.at(rows, 11, aid)["keypoint"], ta.pt(2, 2))
        self.assertEqual(self.at(rows, 18, aid)["keypoint"], ta.pt(20, 20))
        # Without ranges, the frames given span one range from the first to the last (the default is not
        # returned: the annotation comes back as sent). Without "interpolated", keyframes are held, as the
        # reference client reads it; with it, they are interpolated.
        held = self.ann(slot="cam", frames={"30": {"keypoint": ta.pt(0, 0)}, "40": {"keypoint": ta.pt(10, 0)}})
        moved = self.ann(slot="cam", frames={"30": {"keypoint": ta.pt(0, 0)}, "40": {"keypoint": ta.pt(10, 0)}},
                         interpolated=True)
        held_id, moved_id = self.create(held, moved, item=self.video).json()["created"]
        back = self.by_id(self.video)
        self.assertNotIn("ranges", back[held_id])
        self.assertNotIn("interpolated", back[held_id])
        head, rows = self.frames({"slot": "cam", "frames": "29..41"})
        for aid in (held_id, moved_id):
            self.assertIsNone(self.at(rows, 29, aid))
            self.assertIsNone(self.at(rows, 41, aid))
        self.assertEqual(self.at(rows, 35, held_id)["keypoint"], ta.pt(0, 0))
        self.assertEqual(self.at(rows, 35, moved_id)["keypoint"], ta.pt(5, 0))

    def test_frames_carry_sub_annotations(self):
        # Each frame of the stream carries what the plain read gives a frame: instance_id, text,
        # attributes, and a polygon's bounding box (recomputed for the shape of a computed frame).
        a = self.ann(slot="cam", interpolated=True, hidden_areas=[], frames={
            "0": {"keyframe": True, "polygon": {"paths": [SQUARE4]}, "bounding_box": {"x": 0, "y": 0, "w": 10, "h": 10},
                  "instance_id": {"value": 4}, "text": {"text": "first"}, "attributes": ["moving"]},
            "10": {"keyframe": True, "polygon": {"paths": [[ta.pt(x + 20, y) for x, y in
                                                           [(0, 0), (10, 0), (10, 10), (0, 10)]]]},
                   "bounding_box": {"x": 20, "y": 0, "w": 10, "h": 10}, "instance_id": {"value": 4},
                   "text": {"text": "last"}}})
        aid = self.create(a, item=self.video).json()["created"][0]
        # "hidden_areas": [] and no "ranges": given back as sent.
        back = self.by_id(self.video)[aid]
        self.assertEqual(back["hidden_areas"], [])
        self.assertNotIn("ranges", back)
        head, rows = self.frames({"slot": "cam", "frames": "0..10"})
        first, mid, last = self.at(rows, 0, aid), self.at(rows, 5, aid), self.at(rows, 10, aid)
        self.assertEqual({k: first[k] for k in ("instance_id", "text", "attributes", "bounding_box")},
                         {"instance_id": {"value": 4}, "text": {"text": "first"}, "attributes": ["moving"],
                          "bounding_box": {"x": 0, "y": 0, "w": 10, "h": 10}})
        self.assertFalse(mid["keyframe"])
        self.assertEqual((mid["instance_id"], mid["text"], mid["attributes"]),
                         ({"value": 4}, {"text": "first"}, ["moving"]))
        self.assertBox(mid["bounding_box"], 10, 0, 10, 10)
        self.assertEqual((last["text"], last["bounding_box"]), ({"text": "last"}, {"x": 20, "y": 0, "w": 10, "h": 10}))
        self.assertNotIn("attributes", last)

    def test_frame_query_arguments(self):
        for query, field in [({"slot": "cam", "frames": "5..2"}, "frames"),
                             ({"slot": "cam", "frames": "0..10000"}, "frames"),
                             ({"slot": "cam", "frames": "-1..3"}, "frames"),
                             ({"slot": "cam", "frames": "abc"}, "frames"),
                             ({"frames": "0..3"}, "slot"),
                             ({"slot": "cam", "frames": "0..3", "raster_layer": "yes"}, "raster_layer")]:
            with self.subTest(query=query):
                self.assertProblem(self.frames(query, status=400), 400, field)
        head, rows = self.frames({"slot": "cam", "frames": "0..9999"})
        self.assertEqual(len(rows), 10000)
        head, rows = self.frames({"slot": "nope", "frames": "0..1"})
        self.assertEqual(rows, [{"frame": 0, "annotations": []}, {"frame": 1, "annotations": []}])


def label_map(w, h, discs):
    """A w x h label map (row-major list) with discs (label, cx, cy, r), later ones on top."""
    px = [0] * (w * h)
    for label, cx, cy, r in discs:
        for y in range(h):
            for x in range(w):
                if (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
                    px[y * w + x] = label
    return px


def dense_rle(px):
    out = []
    for v in px:
        if out and out[-2] == v:
            out[-1] += 1
        else:
            out += [v, 1]
    return out


def undense(values):
    px = []
    for i in range(0, len(values), 2):
        px += [values[i]] * values[i + 1]
    return px


def iou(a, b):
    inter = sum(1 for x, y in zip(a, b) if x and y)
    union = sum(1 for x, y in zip(a, b) if x or y)
    return inter / union if union else 1.0


class RasterLayerTest(VideoCase):
    def test_raster_layer_masks_interpolate(self):
        w, h = 120, 80
        item = self.make_item("masks.mp4", slots=[{"name": "cam", "type": "video", "width": w, "height": h,
                                                   "frame_count": 20, "fps": 25}])
        disc, gone = "0b6c7a36-1c5e-4a61-9a3c-6f2a1d8e0c01", "0b6c7a36-1c5e-4a61-9a3c-6f2a1d8e0c02"
        masks = [self.ann(id=i, slot="cam", frames={"0": {"keyframe": True, "mask": {}},
                                                    "10": {"keyframe": True, "mask": {}}},
                          ranges=[[0, 11]], interpolated=True) for i in (disc, gone)]
        # frame 0: the disc (label 1) of radius 8 at (40, 40) and a small one (label 2) at (100, 20);
        # frame 10: the same disc as label 2, radius 24; the other mask is not in the later layer
        first = label_map(w, h, [(1, 40, 40, 8), (2, 100, 20, 5)])
        last = label_map(w, h, [(2, 40, 40, 24)])
        layer = self.ann(slot="cam", ranges=[[0, 11]], interpolated=True, frames={
            "0": {"keyframe": True, "raster_layer": {"dense_rle": dense_rle(first), "total_pixels": w * h,
                                                     "mask_annotation_ids_mapping": {disc: 1, gone: 2}}},
            "10": {"keyframe": True, "raster_layer": {"dense_rle": dense_rle(last), "total_pixels": w * h,
                                                      "mask_annotation_ids_mapping": {disc: 2}}}})
        layer_id = self.create(*masks, layer, item=item).json()["created"][2]

        head, rows = self.frames({"slot": "cam", "frames": "0..12", "raster_layer": "true"}, item=item)
        self.assertEqual(self.at(rows, 0, layer_id)["raster_layer"]["dense_rle"], dense_rle(first))
        self.assertTrue(self.at(rows, 0, layer_id)["keyframe"])
        mid = self.at(rows, 5, layer_id)
        self.assertFalse(mid["keyframe"])
        # the layer keeps the earlier keyframe's mapping and size; its pixels are computed
        self.assertEqual(mid["raster_layer"]["mask_annotation_ids_mapping"], {disc: 1, gone: 2})
        self.assertEqual(mid["raster_layer"]["total_pixels"], w * h)
        px = undense(mid["raster_layer"]["dense_rle"])
        self.assertEqual(len(px), w * h)
        # midway between radius 8 and radius 24: the disc of radius 16 (signed-distance blend)
        want = label_map(w, h, [(1, 40, 40, 16)])
        self.assertGreaterEqual(iou([p == 1 for p in px], [p == 1 for p in want]), 0.95)
        # the mask missing from the later layer is held where it was
        self.assertEqual([p == 2 for p in px], [p == 2 for p in first])
        self.assertEqual(self.at(rows, 10, layer_id)["raster_layer"]["dense_rle"], dense_rle(last))
        self.assertIsNone(self.at(rows, 11, layer_id))
        # the masks themselves carry no pixels: they come held, as before
        self.assertEqual(self.at(rows, 5, disc)["mask"], {})

        # without raster_layer=true the layer is left out, as before
        head, rows = self.frames({"slot": "cam", "frames": "4..5"}, item=item)
        self.assertIsNone(self.at(rows, 5, layer_id))

class VideoValidationTest(VideoCase):
    def test_bad_frames(self):
        box = {"x": 0, "y": 0, "w": 1, "h": 1}
        cases = [
            ({"slot": "0", "frames": {"0": {"bounding_box": box}}}, None, "create[0].frames"),
            ({"slot": "cam", "frames": {"100": {"bounding_box": box}}}, "video", "create[0].frames.100"),
            ({"slot": "cam", "frames": {"01": {"bounding_box": box}}}, "video", "create[0].frames.01"),
            ({"slot": "cam", "frames": {"x": {"bounding_box": box}}}, "video", "create[0].frames.x"),
            ({"slot": "cam", "frames": {"0": {"bounding_box": box}, "5": {"keypoint": ta.pt(1, 1)}}}, "video",
             "create[0].frames.5"),
            ({"slot": "cam", "frames": {"0": {"bounding_box": {"x": 0, "y": 0, "w": -2, "h": 1}}}}, "video",
             "create[0].frames.0.bounding_box.w"),
            ({"slot": "cam", "frames": {"0": {"keyframe": False, "bounding_box": box}}}, "video", "create[0].frames"),
            ({"slot": "cam", "frames": {"0": {"keyframe": "yes", "bounding_box": box}}}, "video",
             "create[0].frames.0.keyframe"),
            ({"slot": "cam", "frames": {"0": {}}}, "video", "create[0].frames.0"),
            ({"slot": "cam", "frames": {}}, "video", "create[0].frames"),
            ({"slot": "cam", "frames": {"0": {"bounding_box": box}}, "ranges": [[5, 5]]}, "video",
             "create[0].ranges[0]"),
            ({"slot": "cam", "frames": {"0": {"bounding_box": box}}, "ranges": [[0, 1, 2]]}, "video",
             "create[0].ranges[0]"),
            ({"slot": "cam", "frames": {"0": {"bounding_box": box}}, "hidden_areas": [[3, 1]]}, "video",
             "create[0].hidden_areas[0]"),
            ({"slot": "cam", "frames": {"0": {"bounding_box": box}}, "bounding_box": box}, "video",
             "create[0].bounding_box"),
            ({"slot": "cam", "frames": {"0": {"bounding_box": box}}, "interpolated": 1}, "video",
             "create[0].interpolated"),
        ]
        for members, where, field in cases:
            with self.subTest(field=field, members=members):
                # where None: the image item, whose slot "0" cannot take frames
                r = self.batch({"create": [self.ann(**members)]}, item=self.video if where else self.item)
                self.assertProblem(r, 422, field)
        self.assertEqual(self.annotations(self.video)["annotations"], [])


class LongSlotNameTest(VideoCase):
    def test_frame_read_header_with_a_255_byte_slot_name(self):
        # The longest slot name, with characters JSON escapes: the NDJSON header line stays whole.
        name = ('long "slot" \\ ' * 20)[:255]
        self.assertEqual(len(name.encode()), 255)
        item = self.make_item("long.mp4", slots=[{"name": name, "type": "video", "width": 64, "height": 64,
                                                  "frame_count": 10, "fps": 25}])
        box = self.ann(slot=name, frames={"0": {"keyframe": True, "bounding_box": {"x": 0, "y": 0, "w": 1, "h": 1}}},
                       ranges=[[0, 3]])
        self.create(box, item=item)
        head, rows = self.frames({"slot": name, "frames": "0..2"}, item=item)
        self.assertEqual(head, {"version": 1, "item_id": item["id"], "slot": name, "from": 0, "to": 2})
        self.assertEqual([row["frame"] for row in rows], [0, 1, 2])


class DarwinVideoTest(VideoCase):
    def test_video_sample_round_trips(self):
        path = os.path.join(ta.DARWIN, "video_with_subtypes.json")
        if not os.path.exists(path):
            lh.skip("Darwin fixtures not found in %s (set LOUPE_FIXTURES_DIR)" % ta.FIXTURES)
        with open(path) as f:
            doc = json.load(f)
        s = doc["item"]["slots"][0]
        item = self.make_item("mini_uct.mp4", slots=[{"name": s["slot_name"], "type": "video", "width": s["width"],
                                                      "height": s["height"], "frame_count": s["frame_count"]}])
        classes = {}
        for a in doc["annotations"]:
            if a["name"] not in classes:
                names = sorted({p["name"] for x in doc["annotations"] if x["name"] == a["name"]
                                for p in x.get("properties", [])})
                classes[a["name"]] = self.make_class(a["name"], properties=[{"name": n, "type": "text"}
                                                                            for n in names])["id"]
        sent = []
        for a in doc["annotations"]:
            b = copy.deepcopy(a)
            b["class_id"] = classes[a["name"]]
            b["slot"] = a["slot_names"][0]
            sent.append(b)
        r = self.batch({"create": sent}, item=item)
        self.assertEqual(r.status, 200, r.text)
        got = self.by_id(item)
        for original in doc["annotations"]:
            with self.subTest(original["name"]):
                back = {k: v for k, v in got[original["id"]].items() if k not in {"class_id", "slot", "version", "source"}}
                self.assertEqual(back, original)
        # Every frame of the clip can be asked for; the raster layer is not a vector and is left out.
        head, rows = self.frames({"slot": s["slot_name"], "frames": "0..9"}, item=item)
        self.assertEqual(len(rows), 10)
        layer = [a["id"] for a in doc["annotations"] if "raster_layer" in json.dumps(a)][0]
        self.assertFalse(any(a["id"] == layer for row in rows for a in row["annotations"]))
        skel = [a for a in doc["annotations"] if a["name"].startswith("test_skeleton")][0]
        a = self.at(rows, 1, skel["id"])
        self.assertTrue(a["keyframe"])
        self.assertEqual(a["skeleton"], skel["frames"]["1"]["skeleton"])


if __name__ == "__main__":
    import unittest
    unittest.main()
