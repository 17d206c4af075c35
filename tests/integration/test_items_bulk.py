"""Bulk actions on items by filter: move, copy (with slots, annotations and their frames), delete,
set priority and metadata — inline (200) and as an items.bulk job with progress (202) — the
conflict check, the audit trail and input validation."""

# ctest-timeout: 600
import json
import uuid

import loupe_harness as lh

lh.require_services(binaries=("louped", "loupe-worker"))


class BulkCase(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team()

    def dataset(self, name):
        r = self.c.post("/api/v1/datasets", json={"name": name})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def item(self, dataset_id, name, path="/", **kw):
        body = {"name": name, "path": path, "slots": [{"name": "0", "type": "image", "width": 10, "height": 10},
                                                      {"name": "1", "type": "video", "frame_count": 20}]}
        body.update(kw)
        r = self.c.post("/api/v1/datasets/%s/items" % dataset_id, json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def names(self, dataset_id):
        return sorted(r[0] for r in self.query("SELECT path || '|' || name FROM items WHERE dataset_id = '%s'"
                                               % dataset_id))

    def bulk(self, action, body, status=200):
        r = self.c.post("/api/v1/items/" + action, json=body)
        self.assertEqual(r.status, status, r.text)
        return r.json()

    def wait_job(self, job_id):
        def done():
            j = self.c.get("/api/v1/jobs/" + job_id).json()
            return j if j["status"] in ("succeeded", "failed", "cancelled") else None
        return lh.wait_until(done, timeout=120, interval=0.1, message="job " + job_id)

    def annotate(self, item_id, class_id, frames=0):
        """An annotation (and frames) written straight into the annotation tables, with the item
        summary kept as the annotation code keeps it."""
        ann = str(uuid.uuid4())
        self.psql("INSERT INTO annotations (id, team_id, item_id, slot, class_id, type, geom, data, ranges) "
                  "VALUES ('%s', '%s', '%s', '0', '%s', 'bounding_box', '\\x0102', '{\"k\": 1}', %s)"
                  % (ann, self.team, item_id, class_id, "'{0,%d}'" % frames if frames else "NULL"))
        for f in range(frames):
            self.psql("INSERT INTO annotation_frames (item_id, annotation_id, frame, keyframe, data) "
                      "VALUES ('%s', '%s', %d, %s, '{\"f\": %d}')" % (item_id, ann, f, "true" if f == 0 else "false", f))
        self.psql("UPDATE items SET annotation_count = (SELECT count(*) FROM annotations a WHERE a.item_id = '%s'), "
                  "class_ids = ARRAY(SELECT DISTINCT class_id FROM annotations a WHERE a.item_id = '%s') "
                  "WHERE id = '%s'" % (item_id, item_id, item_id))
        return ann

    def new_class(self):
        cid = str(uuid.uuid4())
        self.psql("INSERT INTO classes (id, team_id, name, annotation_types, color) "
                  "VALUES ('%s', '%s', 'c-%s', '{bounding_box}', '#ff0000')" % (cid, self.team, cid[:8]))
        return cid


class InlineTest(BulkCase):
    def test_move_by_filter_with_annotations(self):
        src, dst = self.dataset("Source"), self.dataset("Target")
        cls = self.new_class()
        a = self.item(src, "a.jpg", "/cars")
        b = self.item(src, "b.jpg", "/cars/red")
        self.item(src, "c.jpg", "/bikes")
        ann = self.annotate(a, cls, frames=3)

        out = self.bulk("move", {"filters": {"dataset_id": src, "path": "/cars"}, "target_dataset_id": dst})
        self.assertEqual(out, {"count": 2})
        self.assertEqual(self.names(dst), ["/cars/red|b.jpg", "/cars|a.jpg"])
        self.assertEqual(self.names(src), ["/bikes|c.jpg"])
        # Ids, slots and annotations stay with the items.
        moved = self.c.get("/api/v1/items/" + a).json()
        self.assertEqual((moved["dataset_id"], len(moved["slots"]), moved["annotation_count"]), (dst, 2, 1))
        self.assertEqual(self.query("SELECT item_id FROM annotations WHERE id = '%s'" % ann), [[a]])
        self.assertEqual(self.query("SELECT count(*) FROM annotation_frames WHERE annotation_id = '%s'" % ann),
                         [["3"]])
        listed = self.c.get("/api/v1/items", query={"dataset_id": dst, "has_class": cls}).json()["items"]
        self.assertEqual([i["id"] for i in listed], [a])
        # Moving them again selects nothing new: they are already there.
        self.assertEqual(self.bulk("move", {"filters": {"item_ids": [a, b]}, "target_dataset_id": dst}),
                         {"count": 0})
        # The audit row says who moved what where.
        rows = self.query("SELECT user_id, object_id, data::text FROM audit_log WHERE action = 'items.move' "
                          "ORDER BY id")
        self.assertEqual(rows[0][:2], [self.boot["user_id"], src])
        data = json.loads(rows[0][2])
        self.assertEqual((data["count"], data["target_dataset_id"], data["filters"]["path"]), (2, dst, "/cars"))

    def test_conflicts_are_409_and_change_nothing(self):
        src, dst = self.dataset("Source"), self.dataset("Target")
        self.item(src, "a.jpg", "/x")
        self.item(src, "b.jpg", "/x")
        self.item(dst, "a.jpg", "/x")
        for action in ("move", "copy"):
            with self.subTest(action=action):
                r = self.c.post("/api/v1/items/" + action, json={"filters": {"dataset_id": src},
                                                                 "target_dataset_id": dst})
                body = self.assertProblem(r, 409, "target_dataset_id")
                self.assertIn("/x/a.jpg", json.dumps(body["errors"]))
                self.assertEqual(self.names(src), ["/x|a.jpg", "/x|b.jpg"])
                self.assertEqual(self.names(dst), ["/x|a.jpg"])
        # Two selected items of different datasets that would land on the same path and name.
        third = self.dataset("Third")
        i1 = self.query("SELECT id FROM items WHERE dataset_id = '%s' AND name = 'b.jpg'" % src)[0][0]
        i2 = self.item(third, "b.jpg", "/x")
        empty = self.dataset("Empty")
        self.assertProblem(self.c.post("/api/v1/items/move", json={"filters": {"item_ids": [i1, i2]},
                                                                   "target_dataset_id": empty}),
                           409, "target_dataset_id")
        self.assertEqual(self.names(empty), [])
        # A narrower filter avoids the collision.
        out = self.bulk("move", {"filters": {"dataset_id": src, "name_contains": "b"}, "target_dataset_id": dst})
        self.assertEqual(out, {"count": 1})

    def test_copy_duplicates_items_slots_and_annotations(self):
        src, dst = self.dataset("Source"), self.dataset("Target")
        cls = self.new_class()
        a = self.item(src, "a.jpg", "/p", priority=4, metadata={"k": "v"})
        self.item(src, "b.jpg", "/q")
        ann = self.annotate(a, cls, frames=2)
        self.annotate(a, cls)
        self.psql("INSERT INTO item_properties (item_id, properties) VALUES ('%s', '[{\"name\": \"p\"}]')" % a)

        out = self.bulk("copy", {"filters": {"dataset_id": src, "path": "/p"}, "target_dataset_id": dst})
        self.assertEqual(out, {"count": 1})
        copies = self.c.get("/api/v1/items", query={"dataset_id": dst}).json()["items"]
        self.assertEqual(len(copies), 1)
        cp = copies[0]
        orig = self.c.get("/api/v1/items/" + a).json()
        self.assertNotEqual(cp["id"], a)
        for key in ("name", "path", "priority", "metadata", "annotation_count", "class_ids", "status"):
            self.assertEqual(cp[key], orig[key], key)
        self.assertEqual([(s["name"], s["type"], s["width"], s["frame_count"]) for s in cp["slots"]],
                         [(s["name"], s["type"], s["width"], s["frame_count"]) for s in orig["slots"]])
        self.assertNotEqual({s["id"] for s in cp["slots"]}, {s["id"] for s in orig["slots"]})
        # The annotations are new rows with the same content and the same ids (ids are unique per
        # item); frames and the item's own properties follow.
        rows = self.query("SELECT id, class_id, type, encode(geom, 'hex'), data::text, ranges::text "
                          "FROM annotations WHERE item_id = '%s' ORDER BY ranges NULLS LAST" % cp["id"])
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0][0], ann)
        self.assertEqual(rows[0][1:], [cls, "bounding_box", "0102", '{"k": 1}', "{0,2}"])
        frames = self.query("SELECT frame, keyframe, data::text FROM annotation_frames WHERE item_id = '%s' "
                            "AND annotation_id = '%s' ORDER BY frame" % (cp["id"], ann))
        self.assertEqual(frames, [["0", "t", '{"f": 0}'], ["1", "f", '{"f": 1}']])
        self.assertEqual(self.query("SELECT properties::text FROM item_properties WHERE item_id = '%s'" % cp["id"]),
                         [['[{"name": "p"}]']])
        # The originals are untouched.
        self.assertEqual(self.query("SELECT count(*) FROM annotations WHERE item_id = '%s'" % a), [["2"]])
        self.assertEqual(self.names(src), ["/p|a.jpg", "/q|b.jpg"])
        # Copying into the same dataset collides with the originals.
        for mode in ("auto", "job"):
            self.assertProblem(self.c.post("/api/v1/items/copy", json={"filters": {"dataset_id": src},
                                                                       "target_dataset_id": src, "mode": mode}),
                               409, "target_dataset_id")

    def test_delete_and_update_by_filter(self):
        ds = self.dataset("Set")
        ids = [self.item(ds, "i%d.jpg" % k, metadata={"keep": k, "drop": "x"}) for k in range(5)]
        self.psql("UPDATE items SET status = 'error' WHERE id IN ('%s', '%s')" % (ids[0], ids[1]))
        self.annotate(ids[0], self.new_class(), frames=1)

        out = self.bulk("update", {"filters": {"dataset_id": ds, "status": ["registered"]}, "priority": 9,
                                   "metadata": {"drop": None, "new": [1, 2]}})
        self.assertEqual(out, {"count": 3})
        for k, i in enumerate(ids):
            it = self.c.get("/api/v1/items/" + i).json()
            if k < 2:
                self.assertEqual((it["priority"], it["metadata"]), (0, {"keep": k, "drop": "x"}))
            else:
                self.assertEqual((it["priority"], it["metadata"]), (9, {"keep": k, "new": [1, 2]}))
        self.assertEqual(self.bulk("update", {"filters": {"item_ids": ids[:1]}, "priority": -3}), {"count": 1})
        self.assertEqual(self.c.get("/api/v1/items/" + ids[0]).json()["priority"], -3)

        out = self.bulk("delete", {"filters": {"dataset_id": ds, "status": "error"}})
        self.assertEqual(out, {"count": 2})
        self.assertEqual(self.names(ds), ["/|i2.jpg", "/|i3.jpg", "/|i4.jpg"])
        # Slots, annotations and frames of deleted items go with them.
        self.assertEqual(self.query("SELECT count(*) FROM slots WHERE item_id IN ('%s', '%s')"
                                    % (ids[0], ids[1])), [["0"]])
        self.assertEqual(self.query("SELECT count(*) FROM annotations"), [["0"]])
        self.assertEqual(self.query("SELECT count(*) FROM annotation_frames"), [["0"]])
        self.assertEqual([json.loads(r[0])["count"] for r in self.query(
            "SELECT data::text FROM audit_log WHERE action IN ('items.update', 'items.delete') ORDER BY id")],
            [3, 1, 2])

    def test_validation_names_fields(self):
        ds = self.dataset("Set")
        bad = [
            ("move", {}, "filters"),
            ("move", {"filters": {}, "target_dataset_id": ds}, "filters.dataset_id"),
            ("move", {"filters": {"dataset_id": ds}}, "target_dataset_id"),
            ("move", {"filters": {"dataset_id": ds}, "target_dataset_id": "x"}, "target_dataset_id"),
            ("move", {"filters": {"dataset_id": ds}, "target_dataset_id": ds, "priority": 1}, "priority"),
            ("copy", {"filters": {"dataset_id": ds, "item_ids": [ds]}, "target_dataset_id": ds}, "filters.item_ids"),
            ("delete", {"filters": {"item_ids": []}}, "filters.item_ids"),
            ("delete", {"filters": {"item_ids": ["nope"]}}, "filters.item_ids[0]"),
            ("delete", {"filters": {"dataset_id": ds, "status": "gone"}}, "filters.status"),
            ("delete", {"filters": {"dataset_id": ds, "path": "x"}}, "filters.path"),
            ("delete", {"filters": {"dataset_id": ds, "annotation_count": {"gte": "1"}}},
             "filters.annotation_count.gte"),
            ("delete", {"filters": {"dataset_id": ds, "created": {"after": "2026-01-01"}}}, "filters.created.after"),
            ("delete", {"filters": {"dataset_id": ds, "metadata": {"a": {"b": 1}}}}, "filters.metadata.a"),
            ("delete", {"filters": {"dataset_id": ds, "colour": "red"}}, "filters.colour"),
            ("delete", {"filters": {"dataset_id": ds}, "mode": "later"}, "mode"),
            ("delete", {"filters": "all"}, "filters"),
            ("update", {"filters": {"dataset_id": ds}}, "priority"),
            ("update", {"filters": {"dataset_id": ds}, "priority": 1.5}, "priority"),
            ("update", {"filters": {"dataset_id": ds}, "metadata": {}}, "metadata"),
        ]
        for action, body, field in bad:
            with self.subTest(action=action, field=field):
                self.assertProblem(self.c.post("/api/v1/items/" + action, json=body), 422, field)
        self.assertProblem(self.c.post("/api/v1/items/delete", json={"filters": {"dataset_id": str(uuid.uuid4())}}),
                           404, "filters.dataset_id")
        self.assertProblem(self.c.post("/api/v1/items/move", json={"filters": {"dataset_id": ds},
                                                                   "target_dataset_id": str(uuid.uuid4())}),
                           404, "target_dataset_id")


class JobTest(BulkCase):
    def test_forced_job_with_progress(self):
        self.start_worker()
        src, dst = self.dataset("Source"), self.dataset("Target")
        cls = self.new_class()
        a = self.item(src, "a.jpg")
        self.item(src, "b.jpg")
        ann = self.annotate(a, cls, frames=1)
        r = self.c.post("/api/v1/items/copy", json={"filters": {"dataset_id": src}, "target_dataset_id": dst,
                                                    "mode": "job"})
        self.assertEqual(r.status, 202, r.text)
        job = r.json()["job"]
        self.assertEqual((job["kind"], job["status"]), ("items.bulk", "queued"))
        done = self.wait_job(job["id"])
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual((done["result"], done["progress"], done["max_attempts"]),
                         ({"action": "copy", "count": 2}, 1, 1))
        self.assertEqual(self.names(dst), ["/|a.jpg", "/|b.jpg"])
        copy_a = self.query("SELECT id FROM items WHERE dataset_id = '%s' AND name = 'a.jpg'" % dst)[0][0]
        # the copy keeps the annotation's id (unique per item), with its frame
        self.assertEqual(self.query("SELECT count(*) FROM annotations a JOIN annotation_frames f "
                                    "ON f.item_id = a.item_id AND f.annotation_id = a.id WHERE a.item_id = '%s' "
                                    "AND a.id = '%s'" % (copy_a, ann)), [["1"]])
        audit = self.query("SELECT user_id, data::text FROM audit_log WHERE action = 'items.copy'")
        self.assertEqual(audit[0][0], self.boot["user_id"])
        self.assertEqual((json.loads(audit[0][1])["count"], json.loads(audit[0][1])["job_id"]), (2, job["id"]))

    def test_large_move_runs_as_a_job_in_batches(self):
        """More items than the inline limit (10,000) and than one batch (50,000): the request
        answers 202 and the job moves every item in batches, its progress ending at 1."""
        self.start_worker()
        src, dst = self.dataset("Source"), self.dataset("Target")
        n = 120000
        self.psql("INSERT INTO items (team_id, dataset_id, name, path, priority) "
                  "SELECT '%s', '%s', 'img' || g || '.jpg', '/batch', g %% 7 FROM generate_series(1, %d) g"
                  % (self.team, src, n))
        self.item(src, "outside.jpg", "/other")
        r = self.c.post("/api/v1/items/move", json={"filters": {"dataset_id": src, "path": "/batch"},
                                                    "target_dataset_id": dst})
        self.assertEqual(r.status, 202, r.text)
        job_id = r.json()["job"]["id"]
        seen = set()

        def finished():
            j = self.c.get("/api/v1/jobs/" + job_id).json()
            seen.add(j["progress"])
            return j if j["status"] in ("succeeded", "failed") else None
        done = lh.wait_until(finished, timeout=240, interval=0.05, message="the move job")
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual((done["result"], done["progress"]), ({"action": "move", "count": n}, 1))
        self.assertTrue(all(0 <= p <= 1 for p in seen), seen)
        self.assertEqual(self.query("SELECT count(*) FROM items WHERE dataset_id = '%s'" % dst), [[str(n)]])
        self.assertEqual(self.names(src), ["/other|outside.jpg"])
        # update and delete by filter take the job path too, on the same rows.
        r = self.c.post("/api/v1/items/update", json={"filters": {"dataset_id": dst}, "priority": 42})
        self.assertEqual(r.status, 202, r.text)
        self.assertEqual(self.wait_job(r.json()["job"]["id"])["result"], {"action": "update", "count": n})
        self.assertEqual(self.query("SELECT DISTINCT priority FROM items WHERE dataset_id = '%s'" % dst), [["42"]])
        r = self.c.post("/api/v1/items/delete", json={"filters": {"dataset_id": dst}})
        self.assertEqual(r.status, 202, r.text)
        self.assertEqual(self.wait_job(r.json()["job"]["id"])["result"], {"action": "delete", "count": n})
        self.assertEqual(self.query("SELECT count(*) FROM items WHERE dataset_id = '%s'" % dst), [["0"]])
