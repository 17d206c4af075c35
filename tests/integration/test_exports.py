# ctest-timeout: 900
"""Exports through the real louped, loupe-worker, PostgreSQL and RabbitMQ: POST /api/v1/exports →
202 with a job, progress, the archive written into storage, GET …/download → 302 to a signed URL.
Each format is read back by an independent reader: COCO checked against a strict JSON Schema and
its RLE decoded as pycocotools does (column-major, compressed counts) and compared with the mask
Loupe holds; YOLO's normalized numbers turned back into the pixel boxes sent; VOC and CVAT XML
parsed with xml.etree; mask PNGs inflated; Darwin files parsed. Bad requests name their field;
roles and teams are enforced; and the worker's peak RSS stays bounded while the dataset grows 10x."""

import io
import json
import os
import shutil
import struct
import tempfile
import uuid
import xml.etree.ElementTree as ET
import zipfile
import zlib

import loupe_harness as lh
import media_testlib as mt
from media_testlib import fetch

lh.require_services()

try:
    import jsonschema
except ImportError:  # the schema check is skipped; every other check runs
    jsonschema = None

COCO_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "coco_schema.json")
MASK_ID = "4f58cca2-e174-4564-b242-1d17042f1b01"
W, H = 64, 48


def pt(x, y):
    return {"x": x, "y": y}


def coco_rle_decode(counts_text, h, w):
    """pycocotools' rleFrString + rleDecode: the compressed counts of a column-major RLE → a
    row-major list of 0/1 pixels."""
    counts, p = [], 0
    while p < len(counts_text):
        x, k, more = 0, 0, True
        while more:
            c = ord(counts_text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    mask, pos, value = [0] * (h * w), 0, 0
    for c in counts:
        for i in range(pos, pos + c):
            col, row = divmod(i, h)
            mask[row * w + col] = value
        pos += c
        value ^= 1
    assert pos == h * w, (pos, h * w)
    return mask


def png_pixels(data):
    """(width, height, pixels) of an 8-bit palette PNG without filters, read chunk by chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    p, idat, w, h = 8, b"", 0, 0
    while p < len(data):
        n, kind = struct.unpack(">I4s", data[p:p + 8])
        body = data[p + 8:p + 8 + n]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[p + 8 + n:p + 12 + n])[0]
        if kind == b"IHDR":
            w, h, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 3)
        elif kind == b"IDAT":
            idat += body
        p += 12 + n
    raw = zlib.decompress(idat)
    rows = [raw[y * (w + 1):(y + 1) * (w + 1)] for y in range(h)]
    assert all(r[0] == 0 for r in rows)
    return w, h, b"".join(r[1:] for r in rows)


class ExportCase(lh.LoupeTestCase):
    # small pages, so that every test pages through the items
    worker_settings = {"export_page_items": "2"}

    def setUp(self):
        super().setUp()
        self.start_team()
        self.worker = self.start_worker(self.worker_settings)
        r = self.c.post("/api/v1/datasets", json={"name": "Scenes"})
        self.assertEqual(r.status, 201, r.text)
        self.ds = r.json()["id"]

    def make_item(self, name, path="/", slots=None):
        slots = slots or [{"name": "0", "type": "image", "width": W, "height": H}]
        r = self.c.post("/api/v1/datasets/%s/items" % self.ds, json={"name": name, "path": path, "slots": slots})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def make_class(self, name, types, **kw):
        body = {"name": name, "annotation_types": types}
        body.update(kw)
        r = self.c.post("/api/v1/classes", json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def annotate(self, item, *anns):
        r = self.c.post("/api/v1/items/%s/annotations/batch" % item, json={"create": list(anns)})
        self.assertEqual(r.status, 200, r.text)

    def export(self, fmt, variant=None, filters=None, **options):
        body = {"format": fmt, "filters": filters or {"dataset_id": self.ds}}
        if variant:
            options["variant"] = variant
        if options:
            body["options"] = options
        r = self.c.post("/api/v1/exports", json=body)
        self.assertEqual(r.status, 202, r.text)
        e = r.json()
        self.assertEqual(r.header("Location"), "/api/v1/exports/" + e["id"])
        self.assertIn(e["status"], ("queued", "running", "succeeded"))
        self.assertIsNone(e["download_url"])

        def done():
            x = self.c.get("/api/v1/exports/" + e["id"]).json()
            return x if x["status"] in ("succeeded", "failed") else None
        e = lh.wait_until(done, timeout=180, interval=0.1, message="export " + e["id"])
        self.assertEqual(e["status"], "succeeded", e)
        self.assertEqual(e["progress"], 1)
        job = self.c.get("/api/v1/jobs/" + e["job_id"]).json()
        self.assertEqual((job["kind"], job["status"]), ("exports.write", "succeeded"))
        # the download: a 302 to a signed URL that serves the zip the export row describes
        r = self.c.get("/api/v1/exports/%s/download" % e["id"])
        self.assertEqual(r.status, 302, r.text)
        got = fetch(r.header("Location"))
        self.assertEqual(got.status, 200)
        self.assertEqual(len(got.body), e["size_bytes"])
        z = zipfile.ZipFile(io.BytesIO(got.body))
        self.assertIsNone(z.testzip())
        return e, z


class FormatsTest(ExportCase):
    def setUp(self):
        super().setUp()
        self.cat = self.make_class("cat", ["bounding_box", "polygon", "ellipse", "mask", "raster_layer", "line",
                                           "tag", "keypoint"], color="#ff0000")
        self.person = self.make_class("person", ["skeleton"], color="#0000ff",
                                      skeleton={"nodes": [{"name": "nose"}, {"name": "eye"}], "edges": [[0, 1]]})
        self.a = self.make_item("a.jpg")
        self.b = self.make_item("c.jpg", path="/b")
        self.v = self.make_item("clip.mp4", slots=[{"name": "0", "type": "video", "width": W, "height": H,
                                                    "frame_count": 20, "fps": 25}])
        c = self.cat
        # the mask's pixels: rows 10..11, columns 20..29 (label 1 in the raster layer)
        dense = [0, 10 * W + 20, 1, 10, 0, W - 10, 1, 10, 0, W * H - (11 * W + 30)]
        self.mask_pixels = {(y, x) for y in (10, 11) for x in range(20, 30)}
        self.annotate(self.a,
                      {"class_id": c, "bounding_box": {"x": 1.5, "y": 2, "w": 10, "h": 20}},
                      {"class_id": c, "polygon": {"paths": [[pt(30, 5), pt(50, 5), pt(50, 25), pt(30, 25)]]}},
                      {"class_id": c, "ellipse": {"center": pt(40, 30), "radius": pt(8, 4), "angle": 0.5}},
                      {"id": MASK_ID, "class_id": c, "mask": {}},
                      {"class_id": c, "raster_layer": {"dense_rle": dense,
                                                       "mask_annotation_ids_mapping": {MASK_ID: 1},
                                                       "total_pixels": W * H}},
                      {"class_id": self.person, "skeleton": {"nodes": [
                          {"name": "eye", "x": 12, "y": 8, "occluded": True},
                          {"name": "nose", "x": 10, "y": 10, "occluded": False}]}},
                      {"class_id": c, "line": {"path": [pt(0, 0), pt(9, 7)]}},
                      {"class_id": c, "tag": {}})
        self.annotate(self.b, {"class_id": c, "bounding_box": {"x": 0, "y": 0, "w": W, "h": H}})
        self.annotate(self.v, {"class_id": c, "ranges": [[0, 10]], "frames": {
            "0": {"keyframe": True, "bounding_box": {"x": 0, "y": 0, "w": 4, "h": 4}},
            "4": {"keyframe": True, "bounding_box": {"x": 8, "y": 8, "w": 4, "h": 4}}}})

    def test_coco(self):
        e, z = self.export("coco")
        doc = json.loads(z.read("annotations/instances.json"))
        if jsonschema:
            with open(COCO_SCHEMA) as f:
                jsonschema.validate(doc, json.load(f))
        images = {i["id"]: i for i in doc["images"]}
        self.assertEqual(sorted(i["file_name"] for i in images.values()), ["a.jpg", "b/c.jpg"])
        cats = {c["id"]: c for c in doc["categories"]}
        self.assertEqual([cats[k]["name"] for k in sorted(cats)], ["cat", "person"])
        self.assertEqual(cats[2]["keypoints"], ["nose", "eye"])
        self.assertEqual(cats[2]["skeleton"], [[1, 2]])
        by_img = {}
        for a in doc["annotations"]:
            by_img.setdefault(images[a["image_id"]]["file_name"], []).append(a)
        anns = by_img["a.jpg"]
        self.assertEqual(len(anns), 5)  # box, polygon, ellipse, mask, skeleton; the line and tag dropped
        box = [a for a in anns if a["bbox"] == [1.5, 2, 10, 20]]
        self.assertEqual(len(box), 1)
        self.assertEqual(box[0]["area"], 200)
        self.assertEqual(box[0]["segmentation"], [[1.5, 2, 11.5, 2, 11.5, 22, 1.5, 22]])
        self.assertIn([[30, 5, 50, 5, 50, 25, 30, 25]], [a["segmentation"] for a in anns])
        rle = [a for a in anns if isinstance(a["segmentation"], dict)]
        self.assertEqual(len(rle), 1)
        seg = rle[0]["segmentation"]
        self.assertEqual(seg["size"], [H, W])
        mask = coco_rle_decode(seg["counts"], H, W)
        got = {(y, x) for y in range(H) for x in range(W) if mask[y * W + x]}
        self.assertEqual(got, self.mask_pixels)  # annToMask of the RLE equals Loupe's mask
        self.assertEqual(rle[0]["area"], 20)
        self.assertEqual(rle[0]["bbox"], [20, 10, 10, 2])
        skel = [a for a in anns if "keypoints" in a][0]
        self.assertEqual(skel["keypoints"], [10, 10, 2, 12, 8, 1])
        self.assertEqual(skel["num_keypoints"], 1)
        stats = e["stats"]["annotations"]
        self.assertEqual(stats["dropped"], {"bounding_box": 1, "line": 1, "tag": 1})  # the video's track too
        self.assertEqual(stats["converted"], {"ellipse": 1})
        self.assertEqual(e["stats"]["items_skipped"], 1)

    def test_yolo_voc_cvat_masks_darwin(self):
        # YOLO detect: boxes recomputed in pixels from the normalized numbers
        _, z = self.export("yolo")
        boxes = []
        for line in z.read("labels/a.txt").decode().splitlines():
            cls, cx, cy, w, h = (float(v) for v in line.split())
            boxes.append((cls, round((cx - w / 2) * W, 9), round((cy - h / 2) * H, 9), round(w * W, 9),
                          round(h * H, 9)))
        self.assertEqual(len(boxes), 5)  # box, polygon, ellipse, mask, skeleton; line and tag dropped
        self.assertIn((0, 1.5, 2, 10, 20), boxes)      # the box, in pixels again
        self.assertIn((0, 30, 5, 20, 20), boxes)       # the polygon's box
        self.assertIn((0, 20, 10, 10, 2), boxes)       # the mask's pixel box
        self.assertIn((1, 10, 8, 2, 2), boxes)         # the skeleton's box
        self.assertEqual(z.read("labels/b/c.txt").decode().split(), ["0", "0.5", "0.5", "1", "1"])
        yaml = z.read("data.yaml").decode()
        self.assertIn("task: detect", yaml)
        self.assertIn('  0: "cat"\n  1: "person"', yaml)
        _, z = self.export("yolo", "pose")
        v = [float(x) for x in z.read("labels/a.txt").decode().split()]
        self.assertEqual((v[0], v[5] * W, v[6] * H, v[7], v[8] * W, v[9] * H, v[10]), (1, 10, 10, 2, 12, 8, 1))
        self.assertIn("kpt_shape: [2, 3]", z.read("data.yaml").decode())

        # Pascal VOC: 1-based inclusive pixel boxes
        _, z = self.export("voc")
        root = ET.fromstring(z.read("Annotations/a.xml"))
        self.assertEqual(root.find("size/width").text, str(W))
        objs = root.findall("object")
        self.assertEqual(len(objs), 5)
        boxes = [(o.find("name").text,) + tuple(int(o.find("bndbox/" + k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
                 for o in objs]
        self.assertIn(("cat", 2, 3, 12, 22), boxes)    # x 1.5 w 10 covers pixel columns 1..11: 2..12 1-based
        self.assertIn(("cat", 21, 11, 30, 12), boxes)  # the mask's pixels
        self.assertIn(("person", 11, 9, 12, 10), boxes)

        # CVAT for images and for video
        _, z = self.export("cvat")
        root = ET.fromstring(z.read("annotations.xml"))
        self.assertEqual(root.find("version").text, "1.1")
        self.assertEqual([l.find("name").text for l in root.iter("label")], ["cat", "person"])
        img = [i for i in root.iter("image") if i.get("name") == "a.jpg"][0]
        box = img.find("box")
        self.assertEqual([float(box.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")], [1.5, 2, 11.5, 22])
        self.assertEqual(img.find("polygon").get("points"), "30,5;50,5;50,25;30,25")
        m = img.find("mask")
        self.assertEqual((m.get("left"), m.get("top"), m.get("width"), m.get("height"), m.get("rle")),
                         ("20", "10", "10", "2", "0, 20"))
        self.assertEqual(len(img.find("skeleton").findall("points")), 2)
        video = ET.fromstring(z.read("videos/clip.xml"))
        shapes = video.find("track").findall("box")
        self.assertEqual([(s.get("frame"), s.get("outside"), s.get("xtl")) for s in shapes],
                         [("0", "0", "0"), ("4", "0", "8"), ("10", "1", "8")])

        # semantic masks: class index + 1 per pixel
        _, z = self.export("mask")
        w, h, px = png_pixels(z.read("masks/a.png"))
        self.assertEqual((w, h), (W, H))
        self.assertEqual(px[10 * W + 25], 1)   # the mask
        self.assertEqual(px[10 * W + 40], 1)   # the polygon
        self.assertEqual(px[47 * W + 63], 0)
        self.assertIn('1,"cat",#ff0000', z.read("class_mapping.csv").decode())

        # Darwin: one file per item with every annotation, and the classes
        _, z = self.export("darwin")
        doc = json.loads(z.read("a.json"))
        self.assertEqual(doc["version"], "2.0")
        self.assertEqual(doc["item"]["slots"][0]["width"], W)
        self.assertEqual(len(doc["annotations"]), 8)
        self.assertIn(MASK_ID, [a["id"] for a in doc["annotations"]])
        clip = json.loads(z.read("clip.json"))
        self.assertEqual(sorted(clip["annotations"][0]["frames"]), ["0", "4"])
        meta = json.loads(z.read(".v7/metadata.json"))
        self.assertIn({"person", "skeleton"}, [{c["name"], c["type"]} for c in meta["classes"]])

    def test_filters_list_and_refusals(self):
        e, z = self.export("voc", filters={"dataset_id": self.ds, "path": "/b"})
        self.assertEqual(z.namelist(), ["Annotations/b/c.xml", "labelmap.txt"])
        self.assertEqual(e["filters"], {"dataset_id": self.ds, "path": "/b"})
        listed = self.c.get("/api/v1/exports").json()
        self.assertEqual([x["id"] for x in listed["exports"]], [e["id"]])
        self.assertIsNotNone(listed["exports"][0]["download_url"])

        bad = [({"format": "tfrecord", "filters": {"dataset_id": self.ds}}, 422, "format"),
               ({"format": "yolo", "filters": {"dataset_id": self.ds}, "options": {"variant": "classify"}}, 422,
                "options.variant"),
               ({"format": "coco", "filters": {}}, 422, "filters.dataset_id"),
               ({"format": "coco", "filters": {"dataset_id": self.ds, "status": "bogus"}}, 422, "filters.status"),
               ({"format": "coco", "filters": {"dataset_id": str(uuid.uuid4())}}, 404, "filters.dataset_id"),
               ({"format": "coco", "filters": {"dataset_id": self.ds}, "extra": 1}, 422, "extra"),
               ({"filters": {"dataset_id": self.ds}}, 422, "format")]
        for body, status, field in bad:
            self.assertProblem(self.c.post("/api/v1/exports", json=body), status, field)

        # a viewer reads exports but cannot start one; another team sees none of them
        r = self.c.post("/api/v1/api-keys", json={"name": "viewer", "role": "viewer"})
        viewer = self.d.client(api_key=r.json()["key"])
        self.assertEqual(viewer.get("/api/v1/exports/" + e["id"]).status, 200)
        self.assertProblem(viewer.post("/api/v1/exports", json={"format": "coco", "filters": {"dataset_id": self.ds}}),
                           403)
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="rival@example.com")["api_key"])
        self.assertProblem(rival.get("/api/v1/exports/" + e["id"]), 404)
        self.assertProblem(rival.get("/api/v1/exports/%s/download" % e["id"]), 404)
        self.assertEqual(rival.get("/api/v1/exports").json()["exports"], [])
        self.assertProblem(rival.post("/api/v1/exports", json={"format": "coco", "filters": {"dataset_id": self.ds}}),
                           404, "filters.dataset_id")
        self.assertProblem(self.c.get("/api/v1/exports/not-a-uuid"), 404)

        # an export not yet written cannot be downloaded
        self.worker.stop()
        r = self.c.post("/api/v1/exports", json={"format": "coco", "filters": {"dataset_id": self.ds}})
        self.assertEqual(r.status, 202)
        self.assertProblem(self.c.get("/api/v1/exports/%s/download" % r.json()["id"]), 409)


class VideoFramesTest(ExportCase):
    """Video items in the per-image formats: with options.frames each chosen frame is an image of its
    own, "<name>/frame_NNNNNN.jpg", holding the shapes the server computes at that frame."""

    def setUp(self):
        super().setUp()
        self.cat = self.make_class("cat", ["bounding_box"])
        # 20 frames; a box track visible in frames 0..11 with keyframes at 0 and 10 (x 0 → 10)
        self.v = self.make_item("clip.mp4", path="/v", slots=[{"name": "0", "type": "video", "width": W,
                                                               "height": H, "frame_count": 20, "fps": 25}])
        self.annotate(self.v, {"class_id": self.cat, "ranges": [[0, 12]], "interpolated": True, "frames": {
            "0": {"keyframe": True, "bounding_box": {"x": 0, "y": 4, "w": 10, "h": 8}},
            "10": {"keyframe": True, "bounding_box": {"x": 10, "y": 4, "w": 10, "h": 8}}}})
        self.make_item("still.jpg")  # an image item beside it

    def yolo_frames(self, frames):
        e, z = self.export("yolo", frames=frames)
        got = {}
        for name in z.namelist():
            if name.startswith("labels/v/clip.mp4/"):
                self.assertRegex(name, r"^labels/v/clip\.mp4/frame_\d{6}\.txt$")
                boxes = []
                for line in z.read(name).decode().splitlines():
                    cls, cx, cy, w, h = (float(v) for v in line.split())
                    boxes.append((round((cx - w / 2) * W, 6), round((cy - h / 2) * H, 6), round(w * W, 6),
                                  round(h * H, 6)))
                got[int(name[-10:-4])] = boxes
        self.assertIn("labels/still.txt", z.namelist())
        return e, got

    def test_all_keyframes_annotated(self):
        e, got = self.yolo_frames("all")
        self.assertEqual(sorted(got), list(range(20)))
        for f in range(12):  # interpolated by the server between the keyframes, held after the last
            self.assertEqual(got[f], [(min(f, 10), 4, 10, 8)], f)
        for f in range(12, 20):  # outside the range: an image without labels
            self.assertEqual(got[f], [], f)
        self.assertEqual(e["stats"]["items"], 21)
        self.assertEqual(e["stats"]["annotations"]["written"], {"bounding_box": 12})

        _, got = self.yolo_frames("keyframes")
        self.assertEqual(got, {0: [(0, 4, 10, 8)], 10: [(10, 4, 10, 8)]})

        _, got = self.yolo_frames("annotated")
        self.assertEqual(sorted(got), list(range(12)))
        self.assertEqual(got[5], [(5, 4, 10, 8)])

        # COCO and VOC name the frames the same way
        _, z = self.export("coco", frames="keyframes")
        doc = json.loads(z.read("annotations/instances.json"))
        names = {i["id"]: i["file_name"] for i in doc["images"]}
        self.assertEqual(sorted(names.values()), ["still.jpg", "v/clip.mp4/frame_000000.jpg",
                                                  "v/clip.mp4/frame_000010.jpg"])
        boxes = sorted((names[a["image_id"]], a["bbox"]) for a in doc["annotations"])
        self.assertEqual(boxes, [("v/clip.mp4/frame_000000.jpg", [0, 4, 10, 8]),
                                 ("v/clip.mp4/frame_000010.jpg", [10, 4, 10, 8])])
        _, z = self.export("voc", frames="annotated")
        root = ET.fromstring(z.read("Annotations/v/clip.mp4/frame_000003.xml"))
        self.assertEqual([int(root.find("object/bndbox/" + k).text) for k in ("xmin", "ymin", "xmax", "ymax")],
                         [4, 5, 13, 12])

        # without frames, video items are skipped by the per-image formats, as before
        e, z = self.export("yolo")
        self.assertEqual(e["stats"]["items_skipped"], 1)
        self.assertFalse([n for n in z.namelist() if "clip" in n])

        # frames apply only to the per-image formats, and must be one of the three
        for body, field in (({"format": "darwin", "options": {"frames": "all"}}, "options.frames"),
                            ({"format": "cvat", "options": {"frames": "all"}}, "options.frames"),
                            ({"format": "yolo", "options": {"frames": "some"}}, "options.frames"),
                            ({"format": "yolo", "options": {"include_media": "yes"}}, "options.include_media")):
            body["filters"] = {"dataset_id": self.ds}
            self.assertProblem(self.c.post("/api/v1/exports", json=body), 422, field)


class MediaAndNiftiTest(ExportCase):
    def test_include_media_copies_the_originals(self):
        mt.require_tools("ffmpeg")
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        jpeg = mt.two_band_jpeg(os.path.join(tmp, "photo.jpg"), W, H)
        video = os.path.join(tmp, "clip.mp4")
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=%dx%d:rate=10" % (W, H), "-t", "1", "-c:v", "libx264",
                  "-pix_fmt", "yuv420p", video)
        cat = self.make_class("cat", ["bounding_box"])
        photo = self.make_item("photo.jpg", path="/p")
        clip = self.make_item("clip.mp4", slots=[{"name": "0", "type": "video", "width": W, "height": H,
                                                  "frame_count": 10}])
        self.make_item("nofile.jpg")
        files = {}
        for item, path in ((photo, jpeg), (clip, video)):
            with open(path, "rb") as f:
                files[item] = f.read()
            r = self.c.put("/api/v1/items/%s/slots/0/file" % item, data=files[item],
                           headers={"Content-Type": "application/octet-stream"})
            self.assertEqual(r.status, 202, r.text)
        for item in files:  # normalised (the slot's size and frames are known again)
            lh.wait_until(lambda: self.c.get("/api/v1/items/" + item).json()["status"] == "ready", timeout=120,
                          interval=0.2, message="item %s ready" % item)
        self.annotate(photo, {"class_id": cat, "bounding_box": {"x": 1, "y": 1, "w": 5, "h": 5}})
        self.annotate(clip, {"class_id": cat, "ranges": [[0, 2]], "frames": {
            "0": {"keyframe": True, "bounding_box": {"x": 0, "y": 0, "w": 4, "h": 4}}}})
        e, z = self.export("yolo", frames="annotated", include_media=True)
        names = z.namelist()
        self.assertEqual(z.read("images/p/photo.jpg"), files[photo])   # the stored original, byte for byte
        self.assertEqual(z.getinfo("images/p/photo.jpg").compress_type, zipfile.ZIP_STORED)
        self.assertIn("labels/p/photo.txt", names)
        self.assertEqual(sorted(n for n in names if n.startswith("labels/clip.mp4/")),
                         ["labels/clip.mp4/frame_000000.txt", "labels/clip.mp4/frame_000001.txt"])
        # a video written frame by frame: one JPEG per frame written, beside its labels, not the video file
        self.assertNotIn("images/clip.mp4", names)
        frames = sorted(n for n in names if n.startswith("images/clip.mp4/"))
        self.assertEqual(frames, ["images/clip.mp4/frame_000000.jpg", "images/clip.mp4/frame_000001.jpg"])
        for n in frames:
            self.assertEqual(z.read(n)[:3], b"\xff\xd8\xff", n)
        # each the exact frame: as GET …/slots/0/frames/{n} serves it (the same decoder, the same source)
        rgb = []
        for f in (0, 1):
            served = self.c.get("/api/v1/items/%s/slots/0/frames/%d" % (clip, f), query={"quality": "90"})
            self.assertEqual(served.status, 200)
            sw, sh, s_rgb = mt.rgb_of(served.body, tmp, "served%d" % f)
            aw, ah, a_rgb = mt.rgb_of(z.read(frames[f]), tmp, "archived%d" % f)
            self.assertEqual((aw, ah), (W, H))
            self.assertLess(mt.mean_abs_diff(s_rgb, a_rgb), 1.0)
            rgb.append(a_rgb)
        self.assertGreater(mt.mean_abs_diff(rgb[0], rgb[1]), 0.5)  # two frames, not one twice
        self.assertFalse([n for n in names if "nofile" in n and n.startswith("images/")])
        self.assertEqual(e["stats"]["media"], {"files": 3, "bytes": len(files[photo]) + sum(
            z.getinfo(n).file_size for n in frames), "missing": 1})
        # a format that keeps videos as videos (Darwin) puts the video file in
        e, z = self.export("darwin", include_media=True)
        self.assertEqual(z.read("images/clip.mp4"), files[clip])
        # without the option, no media and no media stats
        e, z = self.export("coco")
        self.assertFalse([n for n in z.namelist() if n.startswith("images/")])
        self.assertNotIn("media", e["stats"])

    def test_nifti_without_volume_slots(self):
        self.make_item("a.jpg")
        r = self.c.post("/api/v1/exports", json={"format": "nifti", "filters": {"dataset_id": self.ds}})
        self.assertProblem(r, 422, "format")
        self.assertIn("no volume slots", r.text)
        self.assertEqual(self.c.get("/api/v1/exports").json()["exports"], [])  # nothing was started


class MemoryTest(ExportCase):
    def peak_rss_kb(self, worker):
        with open("/proc/%d/status" % worker.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM for the worker")

    def grow(self, template, count, start):
        """count more items holding copies of the template item's annotations (set-based SQL)."""
        for i in range(start, start + count):
            self.make_item("img%05d.jpg" % i)
        self.psql("INSERT INTO annotations (id, team_id, item_id, slot, class_id, type, geom, data, extra, source) "
                  "SELECT gen_random_uuid(), a.team_id, i.id, a.slot, a.class_id, a.type, a.geom, a.data, a.extra, "
                  "a.source FROM annotations a JOIN items i ON i.name >= 'img%05d' AND i.name < 'img%05d' "
                  "WHERE a.item_id = '%s'" % (start, start + count, template))

    def test_peak_rss_bounded_as_the_dataset_grows_tenfold(self):
        c = self.make_class("thing", ["polygon"])
        template = self.make_item("template.jpg")
        poly = [pt(10 + 8 * (k % 4) + k * 0.25, 10 + 8 * (k // 4) + k * 0.5) for k in range(16)]
        self.annotate(template, *[{"class_id": c, "polygon": {"paths": [poly]}} for _ in range(400)])
        self.grow(template, 29, 0)                    # 30 items, 12,000 polygons
        e1, _ = self.export("coco")
        small = self.peak_rss_kb(self.worker)
        self.worker.stop()
        self.grow(template, 270, 29)                  # 300 items, 120,000 polygons
        self.worker = self.start_worker(self.worker_settings)
        e10, z = self.export("coco")
        big = self.peak_rss_kb(self.worker)
        print("worker peak RSS: %d KiB exporting 12,000 polygons, %d KiB exporting 120,000" % (small, big))
        self.assertEqual(e10["stats"]["annotations"]["written"]["polygon"], 120000)
        self.assertEqual(e10["stats"]["items"], 300)  # every page, each item once
        self.assertGreater(z.getinfo("annotations/instances.json").file_size, 30 << 20)
        # the 10x dataset's JSON alone is over 30 MiB; the worker grows by far less than that
        self.assertLess(big - small, 16 << 10, (small, big))
        self.assertLess(big, 128 << 10, (small, big))
