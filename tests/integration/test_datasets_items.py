"""Datasets, items and slots through the real louped and PostgreSQL: CRUD with validation errors
naming the field, cursor pagination through several pages for every filter and sort order, the
audit trail, dataset deletion by job, and the cross-team / role matrix of every route."""

import json
import uuid

import loupe_harness as lh

lh.require_services(binaries=("louped", "loupe-worker"))


def slot(name="0", type_="image", **kw):
    s = {"name": name, "type": type_}
    s.update(kw)
    return s


class DataCase(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team()

    def dataset(self, name="Street scenes", client=None, **kw):
        body = {"name": name}
        body.update(kw)
        r = (client or self.c).post("/api/v1/datasets", json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def item(self, dataset_id, name, client=None, **kw):
        body = {"name": name, "slots": [slot()]}
        body.update(kw)
        r = (client or self.c).post("/api/v1/datasets/%s/items" % dataset_id, json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def pages(self, query, size=2, client=None):
        """Every item of a list, following next links; asserts each page is at most size long."""
        c = client or self.c
        q = dict(query)
        q["page[size]"] = str(size)
        r = c.get("/api/v1/items", query=q)
        out, seen_pages = [], 0
        while True:
            self.assertEqual(r.status, 200, r.text)
            doc = r.json()
            self.assertLessEqual(len(doc["items"]), size)
            out.extend(doc["items"])
            seen_pages += 1
            self.assertLess(seen_pages, 200, "pagination does not end")
            if doc["next"] is None:
                return out
            self.assertIn("page%5Bafter%5D=", doc["next"])
            r = c.get(doc["next"])

    def dataset_pages(self, size):
        """Every dataset of the team, oldest first, following next links with pages of size."""
        out, r = [], self.c.get("/api/v1/datasets", query={"page[size]": str(size)})
        while True:
            self.assertEqual(r.status, 200, r.text)
            self.assertLessEqual(len(r.json()["datasets"]), size)
            out.extend(r.json()["datasets"])
            if r.json()["next"] is None:
                return out
            r = self.c.get(r.json()["next"])

    def audit(self, action):
        return self.query("SELECT object_id, data::text FROM audit_log WHERE action = '%s' ORDER BY id" % action)


class DatasetsTest(DataCase):
    def test_crud_validation_and_pages(self):
        ds = self.dataset("Street Scenes 2")
        self.assertEqual(ds["slug"], "street-scenes-2")
        self.assertEqual(set(ds), {"id", "name", "slug", "created_at", "updated_at"})
        self.assertEqual(self.c.get("/api/v1/datasets/" + ds["id"]).json(), ds)

        # Validation names the field; a taken slug is a 409 on slug.
        self.assertProblem(self.c.post("/api/v1/datasets", json={}), 422, "name")
        self.assertProblem(self.c.post("/api/v1/datasets", json={"name": "x", "slug": "Bad Slug"}), 422, "slug")
        self.assertProblem(self.c.post("/api/v1/datasets", json={"name": "x", "colour": 1}), 422, "colour")
        self.assertProblem(self.c.post("/api/v1/datasets", json={"name": 5}), 422, "name")
        self.assertProblem(self.c.post("/api/v1/datasets", json={"name": "street scenes 2"}), 409, "slug")
        self.assertProblem(self.c.post("/api/v1/datasets", json={"name": "!!!"}), 422, "slug")

        # Rename and re-slug.
        r = self.c.patch("/api/v1/datasets/" + ds["id"], json={"name": "Streets", "slug": "streets"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.json()["name"], r.json()["slug"]), ("Streets", "streets"))
        other = self.dataset("Other")
        self.assertProblem(self.c.patch("/api/v1/datasets/" + other["id"], json={"slug": "streets"}), 409, "slug")
        self.assertProblem(self.c.patch("/api/v1/datasets/" + other["id"], json={"slug": "-x"}), 422, "slug")

        # Pages of 2 through 5 datasets, in creation order.
        made = [ds["id"], other["id"]] + [self.dataset("Set %d" % k)["id"] for k in range(3)]
        self.assertEqual([d["id"] for d in self.dataset_pages(2)], made)
        self.assertProblem(self.c.get("/api/v1/datasets", query={"page[size]": "0"}), 400, "page[size]")
        self.assertProblem(self.c.get("/api/v1/datasets", query={"page[after]": "garbage"}), 400, "page[after]")

        # Unknown and malformed ids are 404.
        self.assertProblem(self.c.get("/api/v1/datasets/" + str(uuid.uuid4())), 404)
        self.assertProblem(self.c.get("/api/v1/datasets/not-a-uuid"), 404)

        self.assertEqual([row[0] for row in self.audit("dataset.create")], made)
        self.assertEqual(len(self.audit("dataset.update")), 1)

    def test_creation_order_is_stable_within_a_millisecond(self):
        # Rows made by one statement share created_at (the transaction's start, in ms): only the
        # id can keep them in the order they were made. Oldest first and newest first, through
        # pages, must agree with that order, for datasets and for items.
        n = 24
        self.psql("INSERT INTO datasets (team_id, name, slug) SELECT '%s', 'same ms ' || k, 'same-ms-' || k "
                  "FROM generate_series(1, %d) AS k ORDER BY k" % (self.team, n))
        made = ["same ms %d" % k for k in range(1, n + 1)]
        self.assertEqual([d["name"] for d in self.dataset_pages(5)], made)

        ds = self.dataset("Burst")
        self.psql("INSERT INTO items (team_id, dataset_id, name) SELECT '%s', '%s', 'burst' || k || '.jpg' "
                  "FROM generate_series(1, %d) AS k ORDER BY k" % (self.team, ds["id"], n))
        made = ["burst%d.jpg" % k for k in range(1, n + 1)]
        for sort, want in (("created", made), ("-created", made[::-1])):
            with self.subTest(sort=sort):
                got = self.pages({"dataset_id": ds["id"], "sort": sort}, size=5)
                self.assertEqual([i["name"] for i in got], want)

    def test_delete_is_soft_and_a_job_removes_the_items(self):
        self.start_worker()
        ds = self.dataset("Doomed")
        for k in range(3):
            self.item(ds["id"], "img%d.jpg" % k)
        r = self.c.delete("/api/v1/datasets/" + ds["id"])
        self.assertEqual(r.status, 202, r.text)
        job = r.json()["job"]
        self.assertEqual(job["kind"], "items.bulk")
        self.assertEqual(r.header("Location"), "/api/v1/jobs/" + job["id"])
        # Gone from the API at once, its slug free again, the row still there (soft).
        self.assertProblem(self.c.get("/api/v1/datasets/" + ds["id"]), 404)
        self.assertProblem(self.c.get("/api/v1/items", query={"dataset_id": ds["id"]}), 404)
        self.assertProblem(self.c.delete("/api/v1/datasets/" + ds["id"]), 404)
        self.dataset("Doomed")
        self.assertEqual(self.query("SELECT deleted_at IS NOT NULL FROM datasets WHERE id = '%s'" % ds["id"]),
                         [["t"]])
        done = lh.wait_until(lambda: (lambda j: j if j["status"] in ("succeeded", "failed") else None)(
            self.c.get("/api/v1/jobs/" + job["id"]).json()), timeout=30, message="the deletion job")
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual(done["result"], {"action": "delete", "count": 3})
        self.assertEqual(self.query("SELECT count(*) FROM items WHERE dataset_id = '%s'" % ds["id"]), [["0"]])
        self.assertEqual(self.query("SELECT count(*) FROM slots"), [["0"]])
        self.assertEqual(len(self.audit("dataset.delete")), 1)
        deleted = self.audit("items.delete")
        self.assertEqual(len(deleted), 1)
        self.assertEqual(json.loads(deleted[0][1])["count"], 3)


class ItemsTest(DataCase):
    def test_register_get_update_delete(self):
        ds = self.dataset()
        body = {"name": "frame.jpg", "path": "/cars/red/", "priority": 5, "metadata": {"camera": "left"},
                "slots": [slot("0", "image", width=640, height=480, metadata={"iso": 100}),
                          slot("clip", "video", width=1920, height=1080, frame_count=300, fps=29.97,
                               rotation=90, format="mp4")]}
        r = self.c.post("/api/v1/datasets/%s/items" % ds["id"], json=body)
        self.assertEqual(r.status, 201, r.text)
        it = r.json()
        self.assertEqual(r.header("Location"), "/api/v1/items/" + it["id"])
        self.assertEqual((it["name"], it["path"], it["status"], it["priority"]), ("frame.jpg", "/cars/red",
                                                                                  "registered", 5))
        self.assertEqual(it["metadata"], {"camera": "left"})
        self.assertEqual((it["annotation_count"], it["class_ids"], it["error"]), (0, [], None))
        self.assertEqual([s["name"] for s in it["slots"]], ["0", "clip"])
        self.assertEqual(it["slots"][0]["metadata"], {"iso": 100})
        self.assertEqual((it["slots"][0]["width"], it["slots"][0]["frame_count"], it["slots"][0]["fps"]),
                         (640, None, None))
        clip = it["slots"][1]
        self.assertEqual((clip["type"], clip["frame_count"], clip["fps"], clip["rotation"], clip["format"],
                          clip["position"]), ("video", 300, 29.97, 90, "mp4", 1))
        # A single item also says where it is in a workflow (none here).
        self.assertEqual(self.c.get("/api/v1/items/" + it["id"]).json(), dict(it, task=None))

        # Same path and name in the dataset: 409; elsewhere in the tree: fine.
        self.assertProblem(self.c.post("/api/v1/datasets/%s/items" % ds["id"], json=body), 409, "name")
        self.item(ds["id"], "frame.jpg", path="/cars")

        # Validation errors name the member.
        bad = [
            ({"slots": [slot()]}, "name"),
            ({"name": "a/b.jpg", "slots": [slot()]}, "name"),
            ({"name": "x.jpg", "path": "cars", "slots": [slot()]}, "path"),
            ({"name": "x.jpg", "path": "/a//b", "slots": [slot()]}, "path"),
            ({"name": "x.jpg", "path": "/a/../b", "slots": [slot()]}, "path"),
            ({"name": "x.jpg", "priority": "high", "slots": [slot()]}, "priority"),
            ({"name": "x.jpg", "metadata": [1], "slots": [slot()]}, "metadata"),
            ({"name": "x.jpg"}, "slots"),
            ({"name": "x.jpg", "slots": []}, "slots"),
            ({"name": "x.jpg", "slots": [slot(), slot("1", "hologram")]}, "slots[1].type"),
            ({"name": "x.jpg", "slots": [slot(width=0)]}, "slots[0].width"),
            ({"name": "x.jpg", "slots": [slot(fps=-1)]}, "slots[0].fps"),
            ({"name": "x.jpg", "slots": [slot(rotation=45)]}, "slots[0].rotation"),
            ({"name": "x.jpg", "slots": [slot(), slot()]}, "slots[1].name"),
            ({"name": "x.jpg", "slots": [slot(colour="red")]}, "slots[0].colour"),
            ({"name": "x.jpg", "slots": [slot(width=100000, height=100000)]}, "slots[0].width"),
            ({"name": "x.jpg", "slots": ["0"]}, "slots[0]"),
            ({"name": "x.jpg", "slots": [slot()], "owner": "me"}, "owner"),
        ]
        for doc, field in bad:
            with self.subTest(field=field, doc=doc):
                self.assertProblem(self.c.post("/api/v1/datasets/%s/items" % ds["id"], json=doc), 422, field)
        self.assertProblem(self.c.post("/api/v1/datasets/%s/items" % uuid.uuid4(), json=body), 404)

        # PATCH: rename, move folders, priority, metadata (replaced whole).
        r = self.c.patch("/api/v1/items/" + it["id"], json={"name": "f2.jpg", "path": "/trucks", "priority": -1,
                                                            "metadata": {"weather": "rain"}})
        self.assertEqual(r.status, 200, r.text)
        up = r.json()
        self.assertEqual((up["name"], up["path"], up["priority"], up["metadata"]),
                         ("f2.jpg", "/trucks", -1, {"weather": "rain"}))
        self.assertEqual(len(up["slots"]), 2)
        self.assertProblem(self.c.patch("/api/v1/items/" + it["id"], json={"name": "frame.jpg", "path": "/cars"}),
                           409, "name")
        self.assertProblem(self.c.patch("/api/v1/items/" + it["id"], json={}), 422, "name")
        self.assertProblem(self.c.patch("/api/v1/items/" + it["id"], json={"status": "ready"}), 422, "status")

        # DELETE takes the slots along.
        self.assertEqual(self.c.delete("/api/v1/items/" + it["id"]).status, 204)
        self.assertProblem(self.c.get("/api/v1/items/" + it["id"]), 404)
        self.assertProblem(self.c.delete("/api/v1/items/" + it["id"]), 404)
        self.assertProblem(self.c.get("/api/v1/items/move"), 404)
        self.assertEqual(self.query("SELECT count(*) FROM slots WHERE item_id = '%s'" % it["id"]), [["0"]])

        # The audit trail: who and what.
        self.assertEqual(len(self.audit("item.create")), 2)
        upd = self.audit("item.update")
        self.assertEqual([row[0] for row in upd], [it["id"]])
        self.assertEqual(json.loads(upd[0][1])["path"], "/trucks")
        self.assertEqual(self.query("SELECT object_id, user_id FROM audit_log WHERE action = 'item.delete'"),
                         [[it["id"], self.boot["user_id"]]])

    def test_list_filters_sorts_and_pages(self):
        ds = self.dataset()
        other = self.dataset("Other")
        self.item(other["id"], "elsewhere.jpg")  # never in ds's lists
        cls_a, cls_b = str(uuid.uuid4()), str(uuid.uuid4())
        spec = [
            # name, path, priority, metadata, status, annotation_count, classes, created day
            ("cat01.jpg", "/", 3, {"cam": "left"}, "ready", 0, [], 1),
            ("Cat02.jpg", "/animals", 1, {"cam": "right"}, "ready", 2, [cls_a], 2),
            ("dog01.jpg", "/animals", 7, {"cam": "left", "n": 5}, "error", 5, [cls_a, cls_b], 3),
            ("dog02.jpg", "/animals/dogs", 0, {}, "registered", 1, [cls_b], 4),
            ("bird.jpg", "/animalsx", 2, {"cam": "left"}, "processing", 0, [], 5),
            ("fish.jpg", "/water", 9, {"n": 5}, "ready", 3, [cls_a], 6),
            ("cow.jpg", "/animals/farm", 3, {"cam": "top"}, "uploading", 0, [], 7),
        ]
        rows = {}
        for name, path, prio, meta, status, count, classes, day in spec:
            it = self.item(ds["id"], name, path=path, priority=prio, metadata=meta)
            self.psql("UPDATE items SET status = '%s', annotation_count = %d, class_ids = '{%s}', "
                      "created_at = '2026-01-%02dT10:00:00Z', updated_at = '2026-02-%02dT10:00:00Z' "
                      "WHERE id = '%s'" % (status, count, ",".join(classes), day, day, it["id"]))
            rows[name] = {"id": it["id"], "path": path, "priority": prio, "metadata": meta, "status": status,
                          "count": count, "classes": classes, "day": day}

        def expect(pred):
            return sorted(n for n, r in rows.items() if pred(n, r))

        def under(path, prefix):
            return prefix == "/" or path == prefix or path.startswith(prefix + "/")

        cases = [
            ({}, expect(lambda n, r: True)),
            ({"path": "/animals"}, expect(lambda n, r: under(r["path"], "/animals"))),
            ({"path": "/animals/"}, expect(lambda n, r: under(r["path"], "/animals"))),
            ({"path": "/"}, expect(lambda n, r: True)),
            ({"name_contains": "cat"}, expect(lambda n, r: "cat" in n.lower())),
            ({"name_contains": "01"}, expect(lambda n, r: "01" in n)),
            ({"status": "ready"}, expect(lambda n, r: r["status"] == "ready")),
            ({"status": "ready,error"}, expect(lambda n, r: r["status"] in ("ready", "error"))),
            ({"has_class": cls_a}, expect(lambda n, r: cls_a in r["classes"])),
            ({"lacks_class": cls_a}, expect(lambda n, r: cls_a not in r["classes"])),
            ({"has_class": cls_a, "lacks_class": cls_b},
             expect(lambda n, r: cls_a in r["classes"] and cls_b not in r["classes"])),
            ({"annotation_count[gte]": "2"}, expect(lambda n, r: r["count"] >= 2)),
            ({"annotation_count[lte]": "1"}, expect(lambda n, r: r["count"] <= 1)),
            ({"annotation_count[gte]": "1", "annotation_count[lte]": "3"},
             expect(lambda n, r: 1 <= r["count"] <= 3)),
            ({"metadata[cam]": "left"}, expect(lambda n, r: r["metadata"].get("cam") == "left")),
            ({"metadata[n]": "5"}, expect(lambda n, r: r["metadata"].get("n") == 5)),
            ({"metadata[cam]": "left", "metadata[n]": "5"},
             expect(lambda n, r: r["metadata"].get("cam") == "left" and r["metadata"].get("n") == 5)),
            ({"created[gte]": "2026-01-03T10:00:00Z"}, expect(lambda n, r: r["day"] >= 3)),
            ({"created[lte]": "2026-01-03"}, expect(lambda n, r: r["day"] < 3)),
            ({"created[gte]": "2026-01-02T00:00:00+02:00", "created[lte]": "2026-01-05T10:00:00Z"},
             expect(lambda n, r: 2 <= r["day"] <= 5)),
            ({"updated[gte]": "2026-02-06T00:00:00Z"}, expect(lambda n, r: r["day"] >= 6)),
            ({"updated[lte]": "2026-02-01T10:00:00.000Z"}, expect(lambda n, r: r["day"] <= 1)),
            ({"path": "/animals", "status": "ready,error", "metadata[cam]": "right"}, ["Cat02.jpg"]),
        ]
        for query, expected in cases:
            with self.subTest(query=query):
                q = dict(query, dataset_id=ds["id"])
                got = self.pages(q, size=2)
                self.assertEqual(sorted(i["name"] for i in got), expected)
                self.assertTrue(all(i["dataset_id"] == ds["id"] for i in got))

        # Every sort order, paged by 2 and by 3, equals the full order (ties broken by id).
        keys = {
            "name": lambda n: (n.encode(), rows[n]["id"]),
            "created": lambda n: (rows[n]["day"], rows[n]["id"]),
            "priority": lambda n: (rows[n]["priority"], rows[n]["id"]),
        }
        for sort, key in keys.items():
            for desc in (False, True):
                want = sorted(rows, key=key, reverse=desc)
                for size in (2, 3):
                    with self.subTest(sort=sort, desc=desc, size=size):
                        got = self.pages({"dataset_id": ds["id"], "sort": ("-" if desc else "") + sort}, size)
                        self.assertEqual([i["name"] for i in got], want)
        # Default order is by name; items carry their slots.
        first = self.c.get("/api/v1/items", query={"dataset_id": ds["id"], "page[size]": "1"}).json()
        self.assertEqual(first["items"][0]["name"], "Cat02.jpg")
        self.assertEqual(first["items"][0]["slots"][0]["name"], "0")

        # Bad filters name the parameter.
        bad = [
            ({}, 422, "dataset_id"),
            ({"dataset_id": "x"}, 422, "dataset_id"),
            ({"status": "done"}, 422, "status"),
            ({"annotation_count[gte]": "many"}, 422, "annotation_count[gte]"),
            ({"annotation_count[gte]": "-1"}, 422, "annotation_count[gte]"),
            ({"annotation_count[most]": "1"}, 422, "annotation_count[most]"),
            ({"created[gte]": "yesterday"}, 422, "created[gte]"),
            ({"created[lte]": "2026-02-30"}, 422, "created[lte]"),
            ({"has_class": "nope"}, 422, "has_class"),
            ({"path": "animals"}, 422, "path"),
            ({"colour": "red"}, 400, "colour"),
            ({"sort": "size"}, 400, "sort"),
            ({"page[size]": "100000"}, 400, "page[size]"),
        ]
        for query, status, field in bad:
            with self.subTest(query=query):
                q = dict(query)
                if "dataset_id" not in q and field != "dataset_id":
                    q["dataset_id"] = ds["id"]
                self.assertProblem(self.c.get("/api/v1/items", query=q), status, field)
        # A name cursor is not a priority cursor.
        nxt = self.c.get("/api/v1/items", query={"dataset_id": ds["id"], "page[size]": "1", "sort": "name"})
        after = nxt.json()["next"].split("page%5Bafter%5D=")[1]
        self.assertProblem(self.c.get("/api/v1/items", query={"dataset_id": ds["id"], "sort": "priority",
                                                              "page[after]": after}), 400, "page[after]")
        self.assertProblem(self.c.get("/api/v1/items", query={"dataset_id": str(uuid.uuid4())}), 404)


class AccessTest(DataCase):
    """Every route with another team's key answers 404; a viewer reads but cannot write (403)."""

    def test_cross_team_and_viewer(self):
        ds = self.dataset()
        target = self.dataset("Target")
        it = self.item(ds["id"], "a.jpg")
        other_boot = self.bootstrap(team="Rivals", email="rival@example.com")
        rival = self.d.client(api_key=other_boot["api_key"])
        rival_ds = self.dataset("Rival set", client=rival)

        ds_path, it_path = "/api/v1/datasets/" + ds["id"], "/api/v1/items/" + it["id"]
        filt = {"filters": {"dataset_id": ds["id"]}}
        calls = [
            ("GET", ds_path, None),
            ("PATCH", ds_path, {"name": "mine now"}),
            ("DELETE", ds_path, None),
            ("POST", ds_path + "/items", {"name": "b.jpg", "slots": [slot()]}),
            ("GET", "/api/v1/items?dataset_id=" + ds["id"], None),
            ("GET", it_path, None),
            ("PATCH", it_path, {"priority": 3}),
            ("DELETE", it_path, None),
            ("POST", "/api/v1/items/move", dict(filt, target_dataset_id=rival_ds["id"])),
            ("POST", "/api/v1/items/copy", dict(filt, target_dataset_id=rival_ds["id"])),
            ("POST", "/api/v1/items/delete", filt),
            ("POST", "/api/v1/items/update", dict(filt, priority=1)),
        ]
        for method, path, body in calls:
            with self.subTest(method=method, path=path):
                kw = {} if body is None else {"json": body}
                self.assertProblem(rival.request(method, path, **kw), 404)
        # The rival cannot pull our items into their dataset by id either, nor push into ours.
        r = rival.post("/api/v1/items/move", json={"filters": {"item_ids": [it["id"]]},
                                                  "target_dataset_id": rival_ds["id"]})
        self.assertEqual((r.status, r.json()), (200, {"count": 0}))
        self.assertProblem(rival.post("/api/v1/items/move", json={"filters": {"dataset_id": rival_ds["id"]},
                                                                  "target_dataset_id": target["id"]}),
                           404, "target_dataset_id")
        self.assertEqual(self.c.get(it_path).json()["dataset_id"], ds["id"])
        self.assertEqual([d["id"] for d in rival.get("/api/v1/datasets").json()["datasets"]], [rival_ds["id"]])

        # A viewer of our team reads everything and writes nothing.
        r = self.c.post("/api/v1/api-keys", json={"name": "viewer", "role": "viewer"})
        self.assertEqual(r.status, 201, r.text)
        viewer = self.d.client(api_key=r.json()["key"])
        self.assertEqual(viewer.get(ds_path).status, 200)
        self.assertEqual(viewer.get(it_path).status, 200)
        self.assertEqual(viewer.get("/api/v1/datasets").status, 200)
        self.assertEqual(viewer.get("/api/v1/items", query={"dataset_id": ds["id"]}).status, 200)
        writes = [c for c in calls if c[0] != "GET"] + [("POST", "/api/v1/datasets", {"name": "v"})]
        for method, path, body in writes:
            with self.subTest(viewer=method, path=path):
                kw = {} if body is None else {"json": body}
                self.assertProblem(viewer.request(method, path, **kw), 403)
        self.assertEqual(self.c.get(it_path).status, 200)
        self.assertEqual(self.c.get(ds_path).json()["name"], "Street scenes")


class NameLimitsTest(DataCase):
    """Every name limit is a setting: set small, a longer name answers 422 (400 for a query
    parameter) naming the member and the setting; a name at the limit is taken."""

    SETTINGS = {"item_name_max": "16", "item_path_max": "8", "slot_name_max": "16", "class_name_max": "5",
                "integration_name_max": "6", "model_name_max": "7", "model_label_max": "4"}

    def setUp(self):
        lh.LoupeTestCase.setUp(self)
        self.start_team(settings=self.SETTINGS)

    def over(self, response, status, field, setting, limit, length):
        body = self.assertProblem(response, status, field)
        messages = [e["message"] for e in body["errors"] if e["field"] == field]
        self.assertIn("is %d bytes long, over the limit of %d (%s)" % (length, limit, setting), messages, body)

    def test_name_limits_are_settings(self):
        ds = self.dataset()
        items = "/api/v1/datasets/%s/items" % ds["id"]
        # item name and folder path: 16 and 8 bytes are taken, one more is not
        it = self.item(ds["id"], "n" * 16, path="/abcdefg", slots=[slot("s" * 16)])
        self.assertEqual((it["name"], it["path"], it["slots"][0]["name"]), ("n" * 16, "/abcdefg", "s" * 16))
        self.over(self.c.post(items, json={"name": "n" * 17, "slots": [slot()]}), 422, "name", "item_name_max", 16,
                  17)
        self.over(self.c.post(items, json={"name": "x.jpg", "path": "/abcdefgh", "slots": [slot()]}), 422, "path",
                  "item_path_max", 8, 9)
        self.over(self.c.post(items, json={"name": "x.jpg", "slots": [slot("s" * 17)]}), 422, "slots[0].name",
                  "slot_name_max", 16, 17)
        # a multi-byte name counts bytes: 8 × "é" is 16 bytes, 9 is 18
        self.item(ds["id"], "\u00e9" * 8)
        self.over(self.c.post(items, json={"name": "\u00e9" * 9, "slots": [slot()]}), 422, "name", "item_name_max",
                  16, 18)
        # renaming and moving read the same settings
        self.over(self.c.patch("/api/v1/items/" + it["id"], json={"name": "m" * 17}), 422, "name", "item_name_max",
                  16, 17)
        self.over(self.c.patch("/api/v1/items/" + it["id"], json={"path": "/a/b/c/d/e"}), 422, "path",
                  "item_path_max", 8, 10)
        # items registered from the bucket too
        reg = self.c.post(items + "/register-external", json={"items": [
            {"name": "n" * 17, "path": "/abcdefghi", "slots": [{"name": "s" * 17, "type": "image", "key": "a/b.jpg"}]}]})
        self.over(reg, 422, "items[0].name", "item_name_max", 16, 17)
        self.over(reg, 422, "items[0].path", "item_path_max", 8, 10)
        self.over(reg, 422, "items[0].slots[0].name", "slot_name_max", 16, 17)
        # a slot named in a read of annotations is a query parameter: 400
        self.over(self.c.get("/api/v1/items/%s/annotations" % it["id"], query={"slot": "s" * 17}), 400, "slot",
                  "slot_name_max", 16, 17)
        self.assertEqual(self.c.get("/api/v1/items/%s/annotations" % it["id"], query={"slot": "s" * 16}).status, 200)
        # a filter finds a name of any length the setting may allow
        r = self.c.get("/api/v1/items", query={"dataset_id": ds["id"], "name_contains": "n" * 16})
        self.assertEqual([i["id"] for i in r.json()["items"]], [it["id"]])
        self.assertEqual(self.c.get("/api/v1/items", query={"dataset_id": ds["id"],
                                                            "name_contains": "n" * 2000}).status, 200)

        # classes: the class's name, its properties' names and values, its skeleton's nodes
        classes = "/api/v1/classes"
        r = self.c.post(classes, json={"name": "Cat01", "annotation_types": ["tag"]})
        self.assertEqual(r.status, 201, r.text)
        self.over(self.c.post(classes, json={"name": "Cat012", "annotation_types": ["tag"]}), 422, "name",
                  "class_name_max", 5, 6)
        self.over(self.c.post(classes, json={"name": "Dog", "annotation_types": ["tag"], "properties": [
            {"name": "colour", "type": "text"}]}), 422, "properties[0].name", "class_name_max", 5, 6)
        self.over(self.c.post(classes, json={"name": "Dog", "annotation_types": ["tag"], "properties": [
            {"name": "fur", "type": "single_select", "options": [{"value": "brown!"}]}]}), 422,
            "properties[0].options[0].value", "class_name_max", 5, 6)

        # an inbound integration's name, a model's name and labels
        self.assertEqual(self.c.post("/api/v1/integrations", json={"name": "vendor"}).status, 201)
        self.over(self.c.post("/api/v1/integrations", json={"name": "vendors"}), 422, "name", "integration_name_max",
                  6, 7)
        model = {"name": "faces12", "task": "detect", "runtime": "onnx", "input": {"width": 128, "height": 128},
                 "output": {"decoder": "boxes_scores_classes"}, "labels": ["face"], "queue": "cpu"}
        r = self.c.post("/api/v1/models", json=model)
        self.assertEqual(r.status, 201, r.text)
        model_id = r.json()["id"]
        r = self.c.post("/api/v1/models", json=dict(model, name="faces123", labels=["face", "faces"]))
        self.over(r, 422, "name", "model_name_max", 7, 8)
        self.over(r, 422, "labels[1]", "model_label_max", 4, 5)
        # a model run's slot is a slot name
        self.over(self.c.post("/api/v1/models/%s/runs" % model_id,
                              json={"filters": {"dataset_id": ds["id"]}, "slot": "s" * 17}), 422, "slot",
                  "slot_name_max", 16, 17)
