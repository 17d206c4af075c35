# ctest-timeout: 900
"""Annotations through the real louped and PostgreSQL: every type validated (good and bad, each bad
case a problem naming the field), round trips of every type and of the Darwin JSON 2.0 samples,
atomic batches, ETag / If-Match, Idempotency-Key, updates and deletes with the item summary and
the audit trail, and the cross-team / role matrix."""

import copy
import json
import os
import uuid

import loupe_harness as lh

lh.require_services()

FIXTURES = lh.FIXTURES_DIR
DARWIN = os.path.join(FIXTURES, "darwin")

ALL_TYPES = ["bounding_box", "polygon", "line", "keypoint", "skeleton", "ellipse", "cuboid", "tag", "mask",
             "text", "raster_layer"]
ALL_SUB_TYPES = ["attributes", "text", "instance_id", "directional_vector"]
# What the server adds to an annotation it returns (Darwin's name and slot_names are derived from the
# class and the slot on every read).
SERVER_KEYS = {"id", "class_id", "slot", "version", "source", "name", "slot_names"}


def pt(x, y):
    return {"x": x, "y": y}


class AnnCase(lh.LoupeTestCase):
    """A team with a dataset, an item with one image slot and a class allowing everything."""

    settings = None

    def setUp(self):
        super().setUp()
        self.boot = self.bootstrap()
        self.d = self.start_louped(self.settings)
        self.c = self.d.client(api_key=self.boot["api_key"])
        self.team = self.boot["team_id"]
        r = self.c.post("/api/v1/datasets", json={"name": "Scenes"})
        self.assertEqual(r.status, 201, r.text)
        self.ds = r.json()
        self.item = self.make_item("a.jpg")
        self.cls = self.make_class("thing")

    def make_item(self, name, slots=None, client=None):
        slots = slots or [{"name": "0", "type": "image", "width": 640, "height": 480}]
        r = (client or self.c).post("/api/v1/datasets/%s/items" % self.ds["id"], json={"name": name, "slots": slots})
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def make_class(self, name, types=None, sub_types=None, client=None, **kw):
        body = {"name": name, "annotation_types": types or ALL_TYPES,
                "sub_types": ALL_SUB_TYPES if sub_types is None else sub_types}
        body.update(kw)
        r = (client or self.c).post("/api/v1/classes", json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def batch(self, body, item=None, client=None, headers=None):
        return (client or self.c).post("/api/v1/items/%s/annotations/batch" % (item or self.item)["id"], json=body,
                                       headers=headers)

    def create(self, *annotations, item=None, status=200):
        r = self.batch({"create": list(annotations)}, item=item)
        self.assertEqual(r.status, status, r.text)
        return r

    def annotations(self, item=None, client=None, query=None):
        r = (client or self.c).get("/api/v1/items/%s/annotations" % (item or self.item)["id"], query=query)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.content_type, "application/json")
        doc = r.json()
        self.assertEqual(r.header("ETag"), '"%d"' % doc["version"])
        return doc

    def by_id(self, item=None):
        return {a["id"]: a for a in self.annotations(item)["annotations"]}

    def ann(self, **kw):
        a = {"class_id": self.cls["id"]}
        a.update(kw)
        return a


def strip(a):
    return {k: v for k, v in a.items() if k not in SERVER_KEYS}


GOOD = {
    "bounding_box": {"bounding_box": {"x": 10.5, "y": 20, "w": 30.25, "h": 0}},
    "polygon_with_hole": {"polygon": {"paths": [[pt(0, 0), pt(100, 0), pt(100, 100), pt(0, 100)],
                                                [pt(25, 25), pt(75, 25), pt(75, 75), pt(25, 75)]]},
                          "bounding_box": {"x": 0, "y": 0, "w": 100, "h": 100}},
    "line": {"line": {"path": [pt(142.624, -0.1339), pt(171.0572, -45.1531), pt(199.4903, 0.4584)]}},
    "keypoint": {"keypoint": pt(49.6239, 173.4268), "instance_id": {"value": 4}},
    "skeleton": {"skeleton": {"nodes": [{"name": "head", "x": 1, "y": 2, "occluded": False},
                                        {"name": "tail", "x": 3.5, "y": 4, "occluded": True}]}},
    "ellipse": {"ellipse": {"center": pt(133.4425, 69.1719), "radius": pt(18.3176, 9), "angle": 0.3985}},
    "cuboid": {"cuboid": {"front": {"x": 1, "y": 2, "w": 3, "h": 4}, "back": {"x": 5, "y": 6, "w": 7, "h": 8}}},
    "tag": {"tag": {}, "attributes": ["night", "rain"]},
    "mask": {"mask": {}},
    "text": {"text": {"text": "STOP"}},
    "raster_layer": {"raster_layer": {"dense_rle": [0, 300000, 1, 7200, 0, 0],
                                      "mask_annotation_ids_mapping": {"4f58cca2-e174-4564-b242-1d17042f1b01": 1},
                                      "total_pixels": 307200}},
    "subtypes_and_extras": {"bounding_box": {"x": 1, "y": 1, "w": 2, "h": 2}, "text": {"text": "a\n\"quoted\"\t"},
                            "directional_vector": {"angle": -1.6494, "length": 118.3181},
                            "z": -3, "confidence": 0.875, "source": "model",
                            "nested": {"keep": [1, "two", None, True]},
                            "unicode": "caf\u00e9 \u2603"},
}


class TypesTest(AnnCase):
    def test_every_type_round_trips(self):
        sent = {}
        for label, body in GOOD.items():
            r = self.create(self.ann(**copy.deepcopy(body)))
            sent[r.json()["created"][0]] = (label, body)
        got = self.by_id()
        self.assertEqual(set(got), set(sent))
        for aid, (label, body) in sent.items():
            with self.subTest(label):
                a = got[aid]
                self.assertEqual(a["class_id"], self.cls["id"])
                self.assertEqual(a["slot"], "0")
                self.assertEqual(a["version"], 1)
                self.assertEqual(a["source"], body.get("source", "human"))
                self.assertEqual((a["name"], a["slot_names"]), ("thing", ["0"]))
                expected = {k: v for k, v in body.items() if k != "source"}
                self.assertEqual(strip(a), expected)

    def test_item_summary_follows(self):
        other = self.make_class("other", types=["tag"], sub_types=[])
        self.create(self.ann(tag={}), {"class_id": other["id"], "tag": {}}, self.ann(keypoint=pt(1, 2)))
        it = self.c.get("/api/v1/items/" + self.item["id"]).json()
        self.assertEqual(it["annotation_count"], 3)
        self.assertEqual(sorted(it["class_ids"]), sorted([self.cls["id"], other["id"]]))

    def test_client_ids_are_kept(self):
        aid = str(uuid.uuid4()).upper()
        r = self.create(self.ann(id=aid, tag={}))
        self.assertEqual(r.json()["created"], [aid.lower()])
        self.assertIn(aid.lower(), self.by_id())
        # The same id again is a conflict, and nothing is written.
        self.assertProblem(self.batch({"create": [self.ann(tag={}), self.ann(id=aid, tag={})]}), 409)
        self.assertEqual(len(self.by_id()), 1)


BAD = [
    # (label, annotation members, field, status)
    ("box w negative", {"bounding_box": {"x": 0, "y": 0, "w": -1, "h": 1}}, "create[0].bounding_box.w", 422),
    ("box x string", {"bounding_box": {"x": "1", "y": 0, "w": 1, "h": 1}}, "create[0].bounding_box.x", 422),
    ("box x missing", {"bounding_box": {"y": 0, "w": 1, "h": 1}}, "create[0].bounding_box.x", 422),
    ("box extra member", {"bounding_box": {"x": 0, "y": 0, "w": 1, "h": 1, "d": 1}}, "create[0].bounding_box.d", 422),
    ("polygon no paths", {"polygon": {"paths": []}}, "create[0].polygon.paths", 422),
    ("polygon two points", {"polygon": {"paths": [[pt(0, 0), pt(1, 1)]]}}, "create[0].polygon.paths[0]", 422),
    ("polygon empty path", {"polygon": {"paths": [[pt(0, 0), pt(1, 0), pt(1, 1)], []]}}, "create[0].polygon.paths[1]",
     422),
    ("polygon point y null", {"polygon": {"paths": [[pt(0, 0), pt(1, 0), {"x": 2, "y": None}]]}},
     "create[0].polygon.paths[0][2].y", 422),
    ("polygon path not array", {"polygon": {"paths": [{"x": 1}]}}, "create[0].polygon.paths[0]", 422),
    ("polygon too many points", {"polygon": {"paths": [[pt(i, i % 3) for i in range(11)]]}},
     "create[0].polygon.paths[0]", 422),
    ("polygon too many paths", {"polygon": {"paths": [[pt(0, 0), pt(1, 0), pt(1, 1)]] * 4}},
     "create[0].polygon.paths", 422),
    ("line one point", {"line": {"path": [pt(0, 0)]}}, "create[0].line.path", 422),
    ("keypoint missing y", {"keypoint": {"x": 1}}, "create[0].keypoint.y", 422),
    ("skeleton no nodes", {"skeleton": {"nodes": []}}, "create[0].skeleton.nodes", 422),
    ("skeleton node x bad", {"skeleton": {"nodes": [{"name": "a", "x": [], "y": 1}]}},
     "create[0].skeleton.nodes[0].x", 422),
    ("ellipse radius negative", {"ellipse": {"center": pt(0, 0), "radius": pt(-1, 1), "angle": 0}},
     "create[0].ellipse.radius.x", 422),
    ("cuboid back missing", {"cuboid": {"front": {"x": 0, "y": 0, "w": 1, "h": 1}}}, "create[0].cuboid.back", 422),
    ("tag not object", {"tag": []}, "create[0].tag", 422),
    ("mask not object", {"mask": 1}, "create[0].mask", 422),
    ("text empty", {"text": {"text": ""}}, "create[0].text.text", 422),
    ("raster odd values", {"raster_layer": {"dense_rle": [0, 10, 1], "mask_annotation_ids_mapping": {},
                                            "total_pixels": 10}}, "create[0].raster_layer.dense_rle", 422),
    ("raster sum", {"raster_layer": {"dense_rle": [0, 10, 1, 5], "mask_annotation_ids_mapping": {},
                                     "total_pixels": 10}}, "create[0].raster_layer.dense_rle", 422),
    ("raster label", {"raster_layer": {"dense_rle": [300, 10], "mask_annotation_ids_mapping": {},
                                       "total_pixels": 10}}, "create[0].raster_layer.dense_rle[0]", 422),
    ("two shapes", {"polygon": {"paths": [[pt(0, 0), pt(1, 0), pt(1, 1)]]}, "keypoint": pt(1, 1)}, "create[0]", 422),
    ("no shape", {"instance_id": {"value": 1}}, "create[0]", 422),
    ("instance id negative", {"tag": {}, "instance_id": {"value": -1}}, "create[0].instance_id.value", 422),
    ("attributes not strings", {"tag": {}, "attributes": [1]}, "create[0].attributes[0]", 422),
    ("confidence above one", {"tag": {}, "confidence": 1.5}, "create[0].confidence", 422),
    ("source unknown", {"tag": {}, "source": "robot"}, "create[0].source", 422),
    ("z fraction", {"tag": {}, "z": 1.5}, "create[0].z", 422),
    ("class_id missing", {"class_id": None, "tag": {}}, "create[0].class_id", 422),
    ("class_id unknown", {"class_id": str(uuid.uuid4()), "tag": {}}, "create[0].class_id", 422),
    ("slot unknown", {"slot": "left", "tag": {}}, "create[0].slot", 422),
    ("ranges on an image annotation", {"tag": {}, "ranges": [[0, 1]]}, "create[0].ranges", 422),
    ("id with a space", {"id": "a b", "tag": {}}, "create[0].id", 422),
]


class ValidationTest(AnnCase):
    settings = {"annotation_max_points": 10, "annotation_max_paths": 3}

    def test_each_bad_case_names_its_field(self):
        for label, members, field, status in BAD:
            with self.subTest(label):
                a = self.ann(**members)
                if a.get("class_id") is None:
                    del a["class_id"]
                body = self.assertProblem(self.batch({"create": [self.ann(tag={}), a]}), status,
                                          field.replace("create[0]", "create[1]"))
                self.assertIn("nothing was saved", body["detail"])
        self.assertEqual(self.annotations()["annotations"], [])
        self.assertEqual(self.annotations()["version"], 0)

    def test_class_rules(self):
        boxes = self.make_class("boxes only", types=["bounding_box"], sub_types=["instance_id"],
                                properties=[{"name": "colour", "type": "single_select",
                                             "options": [{"value": "red"}, {"value": "blue"}]},
                                            {"name": "count", "type": "number"}])
        skel = self.make_class("person", types=["skeleton"], sub_types=[],
                               skeleton={"nodes": [{"name": "head"}, {"name": "hip"}], "edges": [[0, 1]]})
        box = {"x": 0, "y": 0, "w": 1, "h": 1}
        cases = [
            ({"class_id": boxes["id"], "polygon": {"paths": [[pt(0, 0), pt(1, 0), pt(1, 1)]]}}, "create[0].polygon"),
            ({"class_id": boxes["id"], "bounding_box": box, "text": {"text": "x"}}, "create[0].text"),
            ({"class_id": boxes["id"], "bounding_box": box, "properties": [{"name": "size", "value": "big"}]},
             "create[0].properties[0].name"),
            ({"class_id": boxes["id"], "bounding_box": box, "properties": [{"name": "colour", "value": "green"}]},
             "create[0].properties[0].value"),
            ({"class_id": boxes["id"], "bounding_box": box, "properties": [{"name": "count", "value": "two"}]},
             "create[0].properties[0].value"),
            ({"class_id": boxes["id"], "bounding_box": box, "properties": [{"value": "red"}]},
             "create[0].properties[0].name"),
            ({"class_id": skel["id"], "skeleton": {"nodes": [{"name": "head", "x": 0, "y": 0}]}},
             "create[0].skeleton.nodes"),
            ({"class_id": skel["id"], "skeleton": {"nodes": [{"name": "head", "x": 0, "y": 0},
                                                             {"name": "knee", "x": 1, "y": 1}]}},
             "create[0].skeleton.nodes[1].name"),
        ]
        for a, field in cases:
            with self.subTest(field=field, a=a):
                self.assertProblem(self.batch({"create": [a]}), 422, field)
        ok = [{"class_id": boxes["id"], "bounding_box": box, "instance_id": {"value": 7},
               "properties": [{"name": "colour", "value": "red", "frame_index": 0},
                              {"name": "count", "value": 3, "frame_index": "global"}]},
              {"class_id": skel["id"], "skeleton": {"nodes": [{"name": "hip", "x": 0, "y": 0, "occluded": False},
                                                              {"name": "head", "x": 1, "y": 1, "occluded": True}]}}]
        r = self.create(*ok)
        got = self.by_id()
        for aid, a in zip(r.json()["created"], ok):
            self.assertEqual(strip(got[aid]), {k: v for k, v in a.items() if k != "class_id"})

    def test_malformed_bodies(self):
        path = "/api/v1/items/%s/annotations/batch" % self.item["id"]
        hdr = {"Content-Type": "application/json"}
        # NaN and Infinity are not JSON: the body is malformed (400), not a value error.
        for text in ('{"create": [{"class_id": "%s", "keypoint": {"x": NaN, "y": 1}}]}' % self.cls["id"],
                     '{"create": [{"class_id": "%s", "keypoint": {"x": Infinity, "y": 1}}]}' % self.cls["id"],
                     '{"create": [', '{"create": [],}', '[]x', '{"create": "\\u0000"}'):
            with self.subTest(text=text):
                body = self.assertProblem(self.c.post(path, data=text.encode(), headers=hdr), 400)
                self.assertIn("not valid JSON", body["detail"])
        # A number too large for a double is valid JSON but not a finite coordinate.
        text = '{"create": [{"class_id": "%s", "bounding_box": {"x": 1e999, "y": 0, "w": 1, "h": 1}}]}' % self.cls["id"]
        self.assertProblem(self.c.post(path, data=text.encode(), headers=hdr), 422, "create[0].bounding_box.x")
        self.assertProblem(self.c.post(path, data=b"[]", headers=hdr), 422)
        self.assertProblem(self.c.post(path, data=b"{}", headers=hdr), 422)
        self.assertProblem(self.c.post(path, data=b'{"creat": []}', headers=hdr), 422, "creat")
        self.assertProblem(self.c.post(path, data=b'{"delete": ["nope"]}', headers=hdr), 422, "delete[0]")
        self.assertProblem(self.c.post(path, data=b'{"create": []}', headers={"Content-Type": "text/plain"}), 415)
        self.assertProblem(self.c.post("/api/v1/items/not-a-uuid/annotations/batch", json={"create": []}), 404)
        self.assertProblem(self.c.post("/api/v1/items/%s/annotations/batch" % uuid.uuid4(),
                                       json={"create": [self.ann(tag={})]}), 404)
        self.assertProblem(self.batch({"update": [self.ann(tag={})]}), 422, "update[0].id")
        self.assertProblem(self.batch({"update": [self.ann(id=str(uuid.uuid4()), tag={})]}), 422, "update[0].id")
        self.assertProblem(self.batch({"delete": [str(uuid.uuid4())]}), 422, "delete[0]")
        aid = str(uuid.uuid4())
        self.assertProblem(self.batch({"create": [self.ann(id=aid, tag={})], "delete": [aid]}), 422, "id")

    def test_batch_limit(self):
        d = self.start_louped({"annotation_batch_max": 3})
        c = d.client(api_key=self.boot["api_key"])
        r = c.post("/api/v1/items/%s/annotations/batch" % self.item["id"],
                   json={"create": [self.ann(tag={}) for _ in range(4)]})
        self.assertProblem(r, 413)


class BatchTest(AnnCase):
    def test_atomic_batch_writes_nothing_on_one_bad_shape(self):
        good = [self.ann(keypoint=pt(i, i)) for i in range(50)]
        bad = self.ann(polygon={"paths": [[pt(0, 0), pt(1, float("inf")), pt(2, 2)]]})
        # float("inf") is written by Python's json as Infinity: not JSON at all → 400
        self.assertEqual(self.batch({"create": good + [bad]}).status, 400)
        bad = self.ann(polygon={"paths": [[pt(0, 0), pt(1, 1)]]})
        body = self.assertProblem(self.batch({"create": good[:25] + [bad] + good[25:]}), 422,
                                  "create[25].polygon.paths[0]")
        self.assertIn("nothing was saved", body["detail"])
        doc = self.annotations()
        self.assertEqual((doc["version"], doc["annotations"]), (0, []))
        self.assertEqual(self.query("SELECT count(*) FROM annotations"), [["0"]])
        # A database-level failure part way (a duplicate id) also writes nothing.
        aid = str(uuid.uuid4())
        self.create(self.ann(id=aid, tag={}))
        self.assertProblem(self.batch({"create": good + [self.ann(id=aid, tag={})]}), 409)
        self.assertEqual(len(self.by_id()), 1)

    def test_update_and_delete(self):
        r = self.create(self.ann(tag={}), self.ann(keypoint=pt(1, 2)), self.ann(text={"text": "a"}))
        a, b, t = r.json()["created"]
        self.assertEqual(r.json()["version"], 1)
        r = self.batch({"update": [self.ann(id=b, keypoint=pt(5, 6), z=2)], "delete": [a],
                        "create": [self.ann(bounding_box={"x": 1, "y": 1, "w": 1, "h": 1})]})
        self.assertEqual(r.status, 200, r.text)
        doc = r.json()
        self.assertEqual((doc["version"], doc["updated"], doc["deleted"]), (2, [b], [a]))
        self.assertEqual(r.header("ETag"), '"2"')
        got = self.by_id()
        self.assertEqual(set(got), {b, t, doc["created"][0]})
        self.assertEqual(got[b]["keypoint"], pt(5, 6))
        self.assertEqual(got[b]["z"], 2)
        self.assertEqual(got[b]["version"], 2)
        self.assertEqual(got[t]["version"], 1)
        # created_by survives the update; updated_by names the writer.
        rows = self.query("SELECT created_by = updated_by, created_by IS NOT NULL FROM annotations WHERE id = '%s'" % b)
        self.assertEqual(rows, [["t", "t"]])
        self.assertEqual(self.c.get("/api/v1/items/" + self.item["id"]).json()["annotation_count"], 3)
        # The audit trail: one row per batch with the ids.
        audit = self.query("SELECT object_type, object_id, data::text FROM audit_log "
                           "WHERE action = 'annotations.batch' ORDER BY id")
        self.assertEqual(len(audit), 2)
        self.assertEqual(audit[1][:2], ["item", self.item["id"]])
        data = json.loads(audit[1][2])
        self.assertEqual((data["version"], data["updated"], data["deleted"]), (2, [b], [a]))
        # Updating to another type is a full replacement too.
        r = self.batch({"update": [self.ann(id=b, polygon={"paths": [[pt(0, 0), pt(4, 0), pt(4, 4)]]})]})
        self.assertEqual(r.status, 200, r.text)
        self.assertNotIn("keypoint", self.by_id()[b])
        self.assertEqual(self.by_id()[b]["polygon"]["paths"][0][1], pt(4, 0))

    def test_etag_if_match(self):
        doc = self.annotations()
        self.assertEqual(doc, {"version": 0, "annotations": []})
        r = self.batch({"create": [self.ann(tag={})]}, headers={"If-Match": '"0"'})
        self.assertEqual(r.status, 200, r.text)
        aid = r.json()["created"][0]
        # A writer still holding version 0 is refused with the current version.
        r = self.batch({"delete": [aid]}, headers={"If-Match": '"0"'})
        body = self.assertProblem(r, 412)
        self.assertEqual(r.header("ETag"), '"1"')
        self.assertIn("current version is 1", body["detail"])
        self.assertEqual(len(self.by_id()), 1)
        self.assertProblem(self.batch({"delete": [aid]}, headers={"If-Match": "garbage"}), 412)
        # Weak tags, lists and * match.
        r = self.batch({"create": [self.ann(tag={})]}, headers={"If-Match": 'W/"7", "1"'})
        self.assertEqual(r.status, 200, r.text)
        r = self.batch({"create": [self.ann(tag={})]}, headers={"If-Match": "*"})
        self.assertEqual((r.status, r.header("ETag")), (200, '"3"'))
        # If-None-Match on a read: 304 while nothing changed.
        path = "/api/v1/items/%s/annotations" % self.item["id"]
        r = self.c.get(path, headers={"If-None-Match": '"3"'})
        self.assertEqual((r.status, r.header("ETag")), (304, '"3"'))
        self.assertEqual(self.c.get(path, headers={"If-None-Match": '"2"'}).status, 200)

    def test_idempotency_key(self):
        body = {"create": [self.ann(tag={}), self.ann(keypoint=pt(1, 1))]}
        key = {"Idempotency-Key": "batch-" + str(uuid.uuid4())}
        first = self.batch(body, headers=key)
        self.assertEqual(first.status, 200, first.text)
        again = self.batch(body, headers=key)
        self.assertEqual((again.status, again.json()), (200, first.json()))
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.header("ETag"), first.header("ETag"))
        self.assertEqual(len(self.by_id()), 2)
        self.assertEqual(self.annotations()["version"], 1)
        # A replay answers even when If-Match has gone stale since.
        again = self.batch(body, headers=dict(key, **{"If-Match": '"0"'}))
        self.assertEqual((again.status, again.json()), (200, first.json()))
        # The same key with another body is refused; a new key writes.
        other = {"create": [self.ann(tag={})]}
        body2 = self.assertProblem(self.batch(other, headers=key), 422)
        self.assertIn("Idempotency-Key", body2["detail"])
        self.assertEqual(self.batch(other, headers={"Idempotency-Key": "another"}).status, 200)
        self.assertEqual(len(self.by_id()), 3)
        # A failed request does not use up its key.
        k2 = {"Idempotency-Key": "fails-first"}
        self.assertProblem(self.batch({"create": [self.ann(line={"path": []})]}, headers=k2), 422)
        self.assertEqual(self.batch({"create": [self.ann(tag={})]}, headers=k2).status, 200)
        self.assertProblem(self.batch(other, headers={"Idempotency-Key": "has space"}), 400, "Idempotency-Key")
        # Keys belong to a team: another team's identical key is theirs alone.
        rival = self.bootstrap(team="Rivals", email="rival@example.com")
        rc = self.d.client(api_key=rival["api_key"])
        rds = rc.post("/api/v1/datasets", json={"name": "theirs"}).json()
        rit = rc.post("/api/v1/datasets/%s/items" % rds["id"],
                      json={"name": "b.jpg", "slots": [{"name": "0", "type": "image"}]}).json()
        rcls = self.make_class("theirs", client=rc)
        r = rc.post("/api/v1/items/%s/annotations/batch" % rit["id"],
                    json={"create": [{"class_id": rcls["id"], "tag": {}}]}, headers=key)
        self.assertEqual(r.status, 200, r.text)
        self.assertNotEqual(r.json(), first.json())

    def test_slot_choice(self):
        two = self.make_item("stereo.jpg", slots=[{"name": "left", "type": "image"},
                                                  {"name": "right", "type": "image"}])
        # Without slot or slot_names, the item's first slot, as the reference client does.
        first = self.create(self.ann(tag={}), item=two).json()["created"][0]
        self.assertEqual(self.by_id(two)[first]["slot_names"], ["left"])
        self.assertEqual(self.batch({"delete": [first]}, item=two).status, 200)
        r = self.create(self.ann(tag={}, slot="right"), self.ann(tag={}, slot_names=["left"]), item=two)
        self.assertEqual(len(r.json()["created"]), 2)
        # slot and slot_names must agree; an annotation is on one slot.
        self.assertProblem(self.batch({"create": [self.ann(tag={}, slot="right", slot_names=["left"])]}, item=two),
                           422, "create[0].slot_names")
        self.assertProblem(self.batch({"create": [self.ann(tag={}, slot_names=["left", "right"])]}, item=two),
                           422, "create[0].slot_names[1]")
        self.assertProblem(self.batch({"create": [self.ann(tag={}, slot_names=["middle"])]}, item=two),
                           422, "create[0].slot_names")
        doc = self.annotations(item=two, query={"slot": "right"})
        self.assertEqual([a["slot"] for a in doc["annotations"]], ["right"])
        # One raster layer per slot.
        layer = {"dense_rle": [0, 4], "mask_annotation_ids_mapping": {}, "total_pixels": 4}
        self.create(self.ann(raster_layer=layer, slot="left"), item=two)
        self.assertProblem(self.batch({"create": [self.ann(raster_layer=layer, slot="left")]}, item=two), 409)
        self.assertProblem(self.batch({"create": [self.ann(raster_layer=layer, slot="right"),
                                                  self.ann(raster_layer=layer, slot="right")]}, item=two), 422)

    def test_raster_layers_of_a_big_batch_are_checked_in_linear_time(self):
        # 30,000 raster layers for one slot: each is refused (one per slot) without comparing every
        # pair (a pairwise check takes minutes here).
        import time
        layer = {"dense_rle": [0, 4], "mask_annotation_ids_mapping": {}, "total_pixels": 4}
        t = time.monotonic()
        r = self.c.post("/api/v1/items/%s/annotations/batch" % self.item["id"],
                        json={"create": [self.ann(raster_layer=layer) for _ in range(30000)]}, timeout=60)
        took = time.monotonic() - t
        self.assertProblem(r, 422)
        self.assertIn("two raster layers", r.text)
        self.assertLess(took, 10 * lh.TIMEOUT_SCALE)

    def test_annotation_version_past_32_bits(self):
        aid = self.create(self.ann(tag={})).json()["created"][0]
        self.psql("UPDATE annotations SET version = 2147483647 WHERE id = '%s'" % aid)
        self.assertEqual(self.batch({"update": [self.ann(id=aid, tag={})]}).status, 200)
        self.assertEqual(self.by_id()[aid]["version"], 2147483648)

    def test_large_batch(self):
        n = 2000
        anns = [self.ann(polygon={"paths": [[pt(i + k * 0.5, (k * 7) % 13) for k in range(32)]]}) for i in range(n)]
        r = self.create(*anns)
        ids = r.json()["created"]
        self.assertEqual(len(ids), n)
        got = self.by_id()
        self.assertEqual(len(got), n)
        for i in (0, 777, n - 1):
            self.assertEqual(got[ids[i]]["polygon"], anns[i]["polygon"])
        self.assertEqual(self.c.get("/api/v1/items/" + self.item["id"]).json()["annotation_count"], n)


class StreamTest(AnnCase):
    settings = {"db_pool_size": 1}

    def test_client_leaving_mid_stream_frees_the_connection(self):
        import http.client
        self.create(*[self.ann(polygon={"paths": [[pt(i, k) for k in range(64)]]}) for i in range(3000)])
        for _ in range(3):
            conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
            conn.request("GET", "/api/v1/items/%s/annotations" % self.item["id"],
                         headers={"Authorization": "ApiKey " + self.boot["api_key"]})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertTrue(resp.read(5000).startswith(b'{"version":1,"annotations":[{'))
            conn.close()  # gone with most of the answer unsent
        # The single pooled connection is usable again: reads and writes go through.
        lh.wait_until(lambda: self.c.get("/api/v1/items/%s/annotations" % self.item["id"],
                                         query={"slot": "none"}).status == 200, timeout=20,
                      message="the database connection to come back")
        self.assertEqual(len(self.by_id()), 3000)
        self.assertEqual(self.batch({"create": [self.ann(tag={})]}).status, 200)


class SlowReadersTest(AnnCase):
    """Clients that read an annotation list a few bytes a second hold no database connection:
    with more slow readers than the pool has connections, every other request still answers."""

    READERS = 32  # twice db_pool_size (16)

    def test_slow_readers_do_not_starve_the_pool(self):
        import socket
        import sys
        import threading
        import time
        self.create(*[self.ann(polygon={"paths": [[pt(i + k % 7, k) for k in range(64)]]}) for i in range(2000)])
        path = "/api/v1/items/%s/annotations" % self.item["id"]
        request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ApiKey %s\r\n\r\n"
                   % (path, self.boot["api_key"])).encode()
        stop = threading.Event()
        firsts = [None] * self.READERS

        def slow_reader(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # let the server's sends back up
            sock.settimeout(30)
            try:
                sock.connect(("127.0.0.1", self.d.port))
                sock.sendall(request)
                got = b""
                while not stop.is_set():
                    got += sock.recv(8)  # a few bytes a second
                    if firsts[n] is None and b"\r\n" in got:
                        firsts[n] = got.split(b"\r\n", 1)[0]
                    stop.wait(0.5)
            except OSError:
                pass
            finally:
                sock.close()

        def latencies(count):
            out = []
            for _ in range(count):
                t = time.monotonic()
                r = self.c.get("/api/v1/datasets")
                out.append((r.status, time.monotonic() - t))
            return out

        before = latencies(10)
        readers = [threading.Thread(target=slow_reader, args=(n,), daemon=True) for n in range(self.READERS)]
        for t in readers:
            t.start()
        try:
            deadline = time.monotonic() + 30 * lh.TIMEOUT_SCALE
            while not all(firsts) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)
            during = latencies(20)
            ann = self.c.get(path, query={"slot": "0"})  # an annotation read too
        finally:
            stop.set()
            for t in readers:
                t.join(10)
        worst = max(s for _, s in during)
        sys.stderr.write("\n%d slow readers (%s): other requests before %s, during %s (worst %.3f s)\n" % (
            self.READERS, {(f or b"no answer").decode(): firsts.count(f) for f in set(firsts)}, [round(s, 3) for _, s in before],
            [(st, round(s, 3)) for st, s in during], worst))
        self.assertEqual(set(firsts), {b"HTTP/1.1 200 OK"})
        self.assertEqual([st for st, _ in during], [200] * len(during))
        self.assertEqual(ann.status, 200, ann.text)
        self.assertLess(worst, 1.0)


def darwin_samples():
    """The Darwin annotation files among the samples (every *.json but the metadata)."""
    if not os.path.isdir(DARWIN):
        return []
    return sorted(f for f in os.listdir(DARWIN) if f.endswith(".json") and f != "metadata.json")


class DarwinFixturesTest(AnnCase):
    """Every Darwin JSON 2.0 sample, imported through the batch API as it is (classes named by "name",
    slots by "slot_names", the file's ids, its item-level properties) and read back: equal to the
    original field by field, numbers compared as numbers."""

    def setUp(self):
        if not darwin_samples():
            lh.skip("Darwin fixtures not found in %s (set LOUPE_FIXTURES_DIR)" % FIXTURES)
        super().setUp()

    def load(self, name):
        with open(os.path.join(DARWIN, name)) as f:
            return json.load(f)

    def sample_item(self, doc, name):
        slots = [{k: v for k, v in (("name", s["slot_name"]), ("type", s["type"]), ("width", s.get("width")),
                                    ("height", s.get("height")), ("frame_count", s.get("frame_count")))
                  if v is not None} for s in doc["item"]["slots"]]
        return self.make_item(name, slots=slots)

    def sample_classes(self):
        """One class per Darwin class name of every sample, with the properties its annotations use."""
        props = {}
        for name in darwin_samples():
            for a in self.load(name)["annotations"]:
                names = props.setdefault(a["name"], set())
                names.update(p["name"] for p in a.get("properties", []))
        for cname, names in sorted(props.items()):
            self.make_class(cname, properties=[{"name": p, "type": "text"} for p in sorted(names)])

    def import_sample(self, doc, item):
        body = {"create": copy.deepcopy(doc["annotations"]), "source": "import"}
        if "properties" in doc:
            body["properties"] = doc["properties"]
        return self.batch(body, item=item)

    def test_every_sample_round_trips(self):
        self.sample_classes()
        for name in darwin_samples():
            with self.subTest(name):
                doc = self.load(name)
                item = self.sample_item(doc, name)
                r = self.import_sample(doc, item)
                self.assertEqual(r.status, 200, r.text)
                self.assertEqual(r.json()["created"], [a["id"] for a in doc["annotations"]])
                back = self.annotations(item)
                if "properties" in doc:
                    self.assertEqual(back["properties"], doc["properties"])
                else:
                    self.assertNotIn("properties", back)
                got = {a["id"]: a for a in back["annotations"]}
                self.assertEqual(set(got), {a["id"] for a in doc["annotations"]})
                for original in doc["annotations"]:
                    a = got[original["id"]]
                    self.assertEqual({k: a.get(k) for k in original}, original, original["name"])
                    self.assertLessEqual(set(a) - set(original), {"class_id", "slot", "version", "source"})
                    self.assertEqual(a["source"], "import")

    def test_ids_are_unique_per_item(self):
        doc = self.load(darwin_samples()[0])
        self.sample_classes()
        first, second = self.sample_item(doc, "first"), self.sample_item(doc, "second")
        # The same file goes into two items, keeping its ids in both.
        for item in (first, second):
            r = self.import_sample(doc, item)
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(set(self.by_id(item)), {a["id"] for a in doc["annotations"]})
        # A second import into the same item: 409 naming the id and the item.
        aid = doc["annotations"][0]["id"]
        body = self.assertProblem(self.import_sample(doc, first), 409, "create[0].id")
        self.assertIn(aid, body["detail"])
        self.assertIn(first["id"], body["detail"])
        self.assertIn(first["id"], body["errors"][0]["message"])
        # The same id twice in one item (e.g. on two slots) is refused, naming both.
        two = self.make_item("stereo", slots=[{"name": "l", "type": "image"}, {"name": "r", "type": "image"}])
        body = self.assertProblem(self.batch({"create": [self.ann(id=aid, tag={}, slot="l"),
                                                         self.ann(id=aid, tag={}, slot="r")]}, item=two), 422, "id")
        self.assertIn(aid, body["errors"][0]["message"])
        self.assertIn(two["id"], body["errors"][0]["message"])
        # Deleting in one item leaves the other's.
        self.assertEqual(self.batch({"delete": [aid]}, item=first).status, 200)
        self.assertIn(aid, self.by_id(second))
        self.assertNotIn(aid, self.by_id(first))

    def test_name_must_agree_with_the_class(self):
        doc = self.load(darwin_samples()[0])
        self.sample_classes()
        a = copy.deepcopy(doc["annotations"][0])
        a["class_id"] = self.cls["id"]  # "thing", not a["name"]
        self.assertProblem(self.batch({"create": [a]}), 422, "create[0].name")
        a = copy.deepcopy(doc["annotations"][0])
        a["name"] = "no such class"
        self.assertProblem(self.batch({"create": [a]}), 422, "create[0].name")
        # Renaming the class renames what is read back.
        a = copy.deepcopy(doc["annotations"][0])
        self.assertEqual(self.batch({"create": [a]}).status, 200)
        cid = self.by_id()[a["id"]]["class_id"]
        self.assertEqual(self.c.patch("/api/v1/classes/" + cid, json={"name": "renamed"}).status, 200)
        self.assertEqual(self.by_id()[a["id"]]["name"], "renamed")

    def test_item_properties(self):
        self.make_class("scene", types=["tag"], properties=[
            {"name": "weather", "type": "single_select", "granularity": "item",
             "options": [{"value": "sun"}, {"value": "rain"}]},
            {"name": "notes", "type": "text", "granularity": "item"},
            {"name": "per_shape", "type": "text"}])
        props = [{"name": "weather", "value": "rain"}, {"name": "notes", "value": "wet", "frame_index": "global"}]
        # Properties without annotations: not an empty batch.
        r = self.batch({"properties": props})
        self.assertEqual(r.status, 200, r.text)
        doc = self.annotations()
        self.assertEqual((doc["properties"], doc["annotations"]), (props, []))
        self.assertEqual(doc["version"], 1)
        # The same checks as an annotation's properties, against the item-level ones.
        for bad, field in [([{"name": "weather", "value": "snow"}], "properties[0].value"),
                           ([{"name": "per_shape", "value": "x"}], "properties[0].name"),
                           ([{"value": "x"}], "properties[0].name"),
                           ([{"name": "notes", "value": 3}], "properties[0].value")]:
            with self.subTest(bad=bad):
                self.assertProblem(self.batch({"properties": bad}), 422, field)
        self.assertEqual(self.annotations()["properties"], props)
        # An empty list is kept as sent.
        self.assertEqual(self.batch({"properties": []}).status, 200)
        self.assertEqual(self.annotations()["properties"], [])


class DarwinShapesTest(AnnCase):
    """The Darwin types and keys Loupe used to refuse or lose."""

    def test_more_types_round_trip(self):
        cls = self.make_class("doc", types=["table", "simple_table", "string", "graph", "complex_polygon", "polygon"],
                              sub_types=["inference", "measures", "text"])
        bbox = {"x": 1, "y": 2, "w": 30, "h": 40}
        people = [{"email": "ann@example.com", "full_name": "Ann Notator"}]
        sent = [
            {"table": {"bounding_box": bbox, "cells": [{"col": 0, "row": 0, "col_span": 1, "row_span": 1,
                                                          "id": "c1", "is_header": False,
                                                          "bounding_box": bbox}]}},
            {"simple_table": {"bounding_box": bbox, "col_offsets": [0, 0.5], "row_offsets": [0, 0.25, 0.75]}},
            {"string": {"sources": [{"id": "c1", "ranges": [[0, 4]]}]}, "text": {"text": "Loupe"}},
            {"graph": {"nodes": [{"id": "a", "name": "key"}, {"id": "b", "name": "value"}],
                       "edges": [{"start": "a", "end": "b"}]}},
            {"complex_polygon": {"path": [[pt(0, 0), pt(10, 0), pt(10, 10)], [pt(2, 2), pt(4, 2), pt(4, 4)]]},
             "bounding_box": {"x": 0, "y": 0, "w": 10, "h": 10}},
            {"polygon": {"path": [pt(0, 0), pt(5, 0), pt(5, 5)]}, "annotators": people, "reviewers": people,
             "inference": {"confidence": 0.75, "model": {"id": "m1", "name": "yolo", "type": "external"}},
             "measures": {"area": {"value": 12.5, "unit": "px2"}}},
        ]
        ids = self.create(*[dict(a, class_id=cls["id"]) for a in copy.deepcopy(sent)]).json()["created"]
        got = self.by_id()
        for aid, a in zip(ids, sent):
            with self.subTest(next(iter(a))):
                self.assertEqual(strip(got[aid]), a)
        # Wrong structure names the field; a confidence beyond [0, 1] too.
        for bad, field in [({"table": {"cells": []}}, "create[0].table.bounding_box"),
                           ({"simple_table": {"bounding_box": bbox, "col_offsets": 1, "row_offsets": []}},
                            "create[0].simple_table.col_offsets"),
                           ({"graph": {"nodes": []}}, "create[0].graph.edges"),
                           ({"polygon": {"path": [pt(0, 0), pt(1, 1)]}}, "create[0].polygon.paths[0]"),
                           ({"polygon": {"path": [pt(0, 0)], "paths": []}}, "create[0].polygon.path"),
                           ({"tag": {}, "annotators": [{"email": 3}]}, "create[0].annotators[0].email"),
                           ({"tag": {}, "inference": {"confidence": 2}}, "create[0].inference.confidence")]:
            with self.subTest(field):
                self.assertProblem(self.batch({"create": [self.ann(**bad)]}), 422, field)
        # The class decides which sub-types an annotation may carry.
        plain = self.make_class("plain", types=["tag"], sub_types=[])
        self.assertProblem(self.batch({"create": [{"class_id": plain["id"], "tag": {}, "measures": {}}]}), 422,
                           "create[0].measures")

    def test_plain_ids(self):
        # Ids need not be UUIDs (the reference client writes "uuid-1"): kept as sent, deleted by them,
        # named by a raster layer's mapping; ids that would need escaping are refused.
        mask, layer = "mask-1", "raster_layer:v2"
        r = self.create(self.ann(id=mask, mask={}),
                        self.ann(id=layer, raster_layer={"dense_rle": [0, 300000, 1, 7200],
                                                          "mask_annotation_ids_mapping": {mask: 1},
                                                          "total_pixels": 307200}))
        self.assertEqual(r.json()["created"], [mask, layer])
        got = self.by_id()
        self.assertEqual(set(got), {mask, layer})
        self.assertEqual(got[layer]["raster_layer"]["mask_annotation_ids_mapping"], {mask: 1})
        self.assertProblem(self.batch({"create": [self.ann(id=mask, tag={})]}), 409, "create[0].id")
        for bad in ("a b", "x\"y", "", "é", "x" * 65):
            with self.subTest(bad=bad):
                self.assertProblem(self.batch({"create": [self.ann(id=bad, tag={})]}), 422, "create[0].id")
                self.assertProblem(self.batch({"delete": [bad]}), 422, "delete[0]")
        self.assertEqual(self.batch({"delete": [mask]}).status, 200)
        self.assertEqual(set(self.by_id()), {layer})

    def test_other_slot_types(self):
        for kind in ("dicom", "pdf", "audio"):
            with self.subTest(kind):
                item = self.make_item("file." + kind, slots=[{"name": "0", "type": kind}])
                self.assertEqual(item["slots"][0]["type"], kind)
                self.create(self.ann(tag={}), item=item)
                self.assertEqual(len(self.by_id(item)), 1)

    def test_large_raster_layers(self):
        # A 100-megapixel image's raster layer of 1,000,000 dense_rle values (a real layer of 285,498
        # values used to be refused as "an annotation row is too large to store").
        item = self.make_item("big.tif", slots=[{"name": "0", "type": "image", "width": 10000, "height": 10000}])
        runs = 500000
        dense = []
        for i in range(runs):
            dense += [i % 2, 200]
        dense[-1] += 100000000 - 200 * runs
        layer = {"dense_rle": dense, "mask_annotation_ids_mapping": {}, "total_pixels": 100000000}
        r = self.batch({"create": [self.ann(raster_layer=layer)]}, item=item)
        self.assertEqual(r.status, 200, r.text[:500])
        back = self.annotations(item)["annotations"][0]["raster_layer"]
        self.assertEqual(back, layer)


class AccessTest(AnnCase):
    def test_cross_team_and_roles(self):
        aid = self.create(self.ann(tag={})).json()["created"][0]
        rival_boot = self.bootstrap(team="Rivals", email="rival@example.com")
        rival = self.d.client(api_key=rival_boot["api_key"])
        rival_cls = self.make_class("rival", client=rival)
        ann_path = "/api/v1/items/%s/annotations" % self.item["id"]
        cls_path = "/api/v1/classes/" + self.cls["id"]
        calls = [
            ("GET", ann_path, None),
            ("GET", ann_path + "?slot=0&frames=0..3", None),
            ("POST", ann_path + "/batch", {"create": [{"class_id": rival_cls["id"], "tag": {}}]}),
            ("POST", ann_path + "/batch", {"delete": [aid]}),
            ("GET", cls_path, None),
            ("PATCH", cls_path, {"name": "mine"}),
            ("DELETE", cls_path + "?force=true", None),
        ]
        for method, path, body in calls:
            with self.subTest(method=method, path=path):
                kw = {} if body is None else {"json": body}
                self.assertProblem(rival.request(method, path, **kw), 404)
        # Our item cannot use their class either (it is not ours: unknown class).
        self.assertProblem(self.batch({"create": [{"class_id": rival_cls["id"], "tag": {}}]}), 422,
                           "create[0].class_id")
        self.assertEqual([c["id"] for c in rival.get("/api/v1/classes").json()["classes"]], [rival_cls["id"]])
        self.assertEqual(len(self.by_id()), 1)

        # A viewer reads and writes nothing; an annotator writes annotations, not classes.
        keys = {}
        for role in ("viewer", "annotator"):
            r = self.c.post("/api/v1/api-keys", json={"name": role, "role": role})
            self.assertEqual(r.status, 201, r.text)
            keys[role] = self.d.client(api_key=r.json()["key"])
        viewer, annotator = keys["viewer"], keys["annotator"]
        self.assertEqual(viewer.get(ann_path).status, 200)
        self.assertEqual(viewer.get(cls_path).status, 200)
        for client, method, path, body in [
            (viewer, "POST", ann_path + "/batch", {"create": [self.ann(tag={})]}),
            (viewer, "POST", "/api/v1/classes", {"name": "v", "annotation_types": ["tag"]}),
            (viewer, "PATCH", cls_path, {"color": "#000000"}),
            (viewer, "DELETE", cls_path, None),
            (annotator, "POST", "/api/v1/classes", {"name": "a", "annotation_types": ["tag"]}),
            (annotator, "DELETE", cls_path, None),
        ]:
            with self.subTest(method=method, path=path):
                kw = {} if body is None else {"json": body}
                self.assertProblem(client.request(method, path, **kw), 403)
        r = annotator.post(ann_path + "/batch", json={"create": [self.ann(tag={})]})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(len(self.by_id()), 2)


if __name__ == "__main__":
    import unittest
    unittest.main()


class ViewportTest(AnnCase):
    """GET …/annotations?bbox=x0,y0,x1,y1: exactly the annotations whose extent meets the viewport
    (closed edges), plus those without an extent; served by annotations_bbox_idx."""

    def shapes(self):
        """Shapes with known extents: name -> (annotation, (x0, y0, x1, y1) or None)."""
        return {
            "box": (self.ann(bounding_box={"x": 0, "y": 0, "w": 10, "h": 10}), (0, 0, 10, 10)),
            "far_box": (self.ann(bounding_box={"x": 500, "y": 400, "w": 20, "h": 20}), (500, 400, 520, 420)),
            "polygon": (self.ann(polygon={"paths": [[pt(40, 40), pt(60, 45), pt(50, 70)]]}), (40, 40, 60, 70)),
            "line": (self.ann(line={"path": [pt(100, 0), pt(300, 5)]}), (100, 0, 300, 5)),
            "keypoint": (self.ann(keypoint=pt(200, 200)), (200, 200, 200, 200)),
            "ellipse": (self.ann(ellipse={"center": pt(300, 300), "radius": pt(20, 10), "angle": 0}),
                        (280, 290, 320, 310)),
            "cuboid": (self.ann(cuboid={"front": {"x": 10, "y": 300, "w": 5, "h": 5},
                                        "back": {"x": 30, "y": 320, "w": 5, "h": 5}}), (10, 300, 35, 325)),
            "skeleton": (self.ann(skeleton={"nodes": [{"name": "a", "x": 600, "y": 10, "occluded": False},
                                                      {"name": "b", "x": 610, "y": 30, "occluded": True}]}),
                         (600, 10, 610, 30)),
            "tag": (self.ann(tag={}), None),
            "text": (self.ann(text={"text": "STOP"}), None),
        }

    def read_view(self, bbox, item=None, **query):
        query["bbox"] = ",".join(str(v) for v in bbox)
        return {a["id"] for a in self.annotations(item=item, query=query)["annotations"]}

    def test_exactly_the_shapes_that_meet_the_viewport(self):
        shapes = self.shapes()
        names = list(shapes)
        ids = dict(zip(names, self.create(*[shapes[n][0] for n in names]).json()["created"]))
        views = [(0, 0, 20, 20), (10, 10, 45, 45), (199, 199, 201, 201), (150, 3, 160, 4), (0, 0, 640, 480),
                 (1000, 1000, 1001, 1001), (-50, -50, -1, -1), (301, 306, 302, 309), (34.5, 324.5, 40, 330)]
        for view in views:
            want = {ids[n] for n, (_, e) in shapes.items()
                    if e is None or (e[0] <= view[2] and view[0] <= e[2] and e[1] <= view[3] and view[1] <= e[3])}
            self.assertEqual(self.read_view(view), want, (view, sorted(n for n in names if ids[n] in want)))
        # with the other read options: one slot, and a whole set unchanged without bbox
        self.assertEqual(self.read_view((0, 0, 20, 20), slot="0"), {ids["box"], ids["tag"], ids["text"]})
        self.assertEqual(len(self.annotations()["annotations"]), len(names))
        # an update moves the extent with the shape
        moved = self.ann(id=ids["far_box"], bounding_box={"x": 5, "y": 5, "w": 1, "h": 1})
        self.assertEqual(self.batch({"update": [moved]}).status, 200)
        self.assertIn(ids["far_box"], self.read_view((0, 0, 8, 8)))
        self.assertNotIn(ids["far_box"], self.read_view((490, 390, 530, 430)))

    def test_bad_viewports_name_bbox(self):
        for bad in ["", "1,2,3", "1,2,3,4,5", "a,b,c,d", "0,0,0,5", "5,0,1,9", "0,9,5,1", "nan,0,1,1",
                    "0,0,inf,1", "1e999,0,2e999,1", "0, 0,1,1x", "0,0,1,1,"]:
            r = self.c.get("/api/v1/items/%s/annotations" % self.item["id"], query={"bbox": bad})
            self.assertProblem(r, 422, "bbox")

    def test_video_annotations_use_the_union_of_their_frames(self):
        video = self.make_item("clip.mp4", slots=[{"name": "cam", "type": "video", "width": 640, "height": 480,
                                                   "frame_count": 100, "fps": 25}])
        track = self.ann(slot="cam", ranges=[[0, 11]], interpolated=True,
                         frames={"0": {"keyframe": True, "bounding_box": {"x": 0, "y": 0, "w": 10, "h": 10}},
                                 "10": {"keyframe": True, "bounding_box": {"x": 100, "y": 50, "w": 20, "h": 30}}})
        tid = self.create(track, item=video).json()["created"][0]
        self.assertEqual(self.read_view((50, 30, 60, 40), item=video), {tid})   # between the keyframes
        self.assertEqual(self.read_view((200, 200, 300, 300), item=video), set())
        r = self.c.get("/api/v1/items/%s/annotations" % video["id"],
                       query={"slot": "cam", "frames": "0..1", "bbox": "200,200,300,300"})
        self.assertEqual(r.status, 200, r.text)
        self.assertNotIn(tid, r.text)
        r = self.c.get("/api/v1/items/%s/annotations" % video["id"],
                       query={"slot": "cam", "frames": "0..1", "bbox": "0,0,5,5"})
        self.assertIn(tid, r.text)

    def test_backfill_matches_the_daemon(self):
        """The migration's backfill (SQL decoding the geometry blob) computes the box the daemon
        stores on save, for every type."""
        shapes = self.shapes()
        self.create(*[a for a, _ in shapes.values()])
        before = self.query("SELECT id, bbox::text FROM annotations ORDER BY id")
        self.assertEqual(sum(1 for _, b in before if b), 8)
        self.psql("UPDATE annotations SET bbox = NULL")
        path = os.path.join(os.path.dirname(__file__), "..", "..", "migrations", "0015_annotation_bbox.sql")
        with open(path) as f:
            sql = f.read()
        sql = sql.replace("ALTER TABLE annotations ADD COLUMN bbox box;", "")
        sql = sql[:sql.index("CREATE INDEX annotations_bbox_idx")]
        self.psql(sql)
        self.assertEqual(self.query("SELECT id, bbox::text FROM annotations ORDER BY id"), before)

    def test_the_index_serves_viewport_reads(self):
        items = [self.make_item("big%d.jpg" % i) for i in range(4)]
        ids = self.create(self.ann(bounding_box={"x": 1, "y": 1, "w": 2, "h": 2}), item=items[0]).json()["created"]
        # 4 x 25,000 boxes on a 500 x 50 grid of 10 px cells
        for it in items:
            # (the rows share one stored shape: what is read here is the extent column)
            self.psql("INSERT INTO annotations (id, team_id, item_id, slot, class_id, type, geom, bbox) "
                      "SELECT 'g' || g, '%s', '%s', '0', '%s', 'bounding_box', "
                      "(SELECT geom FROM annotations WHERE id = '%s'), "
                      "box(point((g %% 500) * 10 + 8, (g / 500) * 10 + 8), point((g %% 500) * 10, (g / 500) * 10)) "
                      "FROM generate_series(0, 24999) g" % (self.team, it["id"], self.cls["id"], ids[0]))
        self.psql("ANALYZE annotations")
        # the daemon's statement (src/db/annotations_sql.c, ITEM_IMAGES_SQL) with a viewport
        plan = "\n".join(r[0] for r in self.query(
            "EXPLAIN SELECT a.id FROM annotations a JOIN classes c ON c.id = a.class_id "
            "WHERE a.item_id = '%s' AND (NULL::text IS NULL OR a.slot = NULL::text) AND a.ranges IS NULL AND "
            "('(25,25),(0,0)'::box IS NULL OR a.bbox IS NULL OR a.bbox && '(25,25),(0,0)'::box)" % items[1]["id"]))
        self.assertIn("annotations_bbox_idx", plan, plan)
        got = self.read_view((0, 0, 25, 25), item=items[0])
        self.assertEqual(got, {"g0", "g1", "g2", "g500", "g501", "g502", "g1000", "g1001", "g1002"} | set(ids))
