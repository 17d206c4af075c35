# ctest-timeout: 900
"""Imports through the real louped, loupe-worker, PostgreSQL and RabbitMQ: POST /api/v1/imports →
201 with an upload URL, PUT the file, POST …/start → 202 with a job, GET the import for its
status, counts and problems. Darwin JSON 2.0 samples import and read back equal; a COCO export
imported again gives the same annotations; a dry run writes nothing; merge and replace; classes
created, mapped or missing; items created; hostile archives and XML refused with nothing written;
another team's import is 404, a low role 403, bad input 422 naming the field."""

import copy
import io
import json
import os
import subprocess
import urllib.parse
import uuid
import zipfile

import loupe_harness as lh

lh.require_services()

DARWIN = os.path.join(lh.FIXTURES_DIR, "darwin")


def darwin_samples():
    if not os.path.isdir(DARWIN):
        return []
    return sorted(f for f in os.listdir(DARWIN) if f.endswith(".json") and f != "metadata.json")


def load_sample(name):
    with open(os.path.join(DARWIN, name)) as f:
        return json.load(f)


def pt(x, y):
    return {"x": x, "y": y}


def zip_of(files):
    """A zip archive (bytes) of {name: bytes or str}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def darwin_file(name, anns, path="/", slots=None, properties=None):
    doc = {"version": "2.0", "item": {"name": name, "path": path,
                                      "slots": slots or [{"type": "image", "slot_name": "0", "width": 64,
                                                          "height": 48}]},
           "annotations": anns}
    if properties is not None:
        doc["properties"] = properties
    return json.dumps(doc)


class ImportCase(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team()
        self.worker = self.start_worker()
        self.ds = self.make_dataset("Scenes")

    def make_dataset(self, name, client=None):
        r = (client or self.c).post("/api/v1/datasets", json={"name": name})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def make_item(self, name, path="/", slots=None):
        slots = slots or [{"name": "0", "type": "image", "width": 64, "height": 48}]
        r = self.c.post("/api/v1/datasets/%s/items" % self.ds, json={"name": name, "path": path, "slots": slots})
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def make_class(self, name, types, **kw):
        body = {"name": name, "annotation_types": types}
        body.update(kw)
        r = self.c.post("/api/v1/classes", json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def annotations(self, item_id):
        r = self.c.get("/api/v1/items/%s/annotations" % item_id)
        self.assertEqual(r.status, 200, r.text)
        return r.json()

    def items(self):
        r = self.c.get("/api/v1/items", query={"dataset_id": self.ds, "page[size]": "1000"})
        self.assertEqual(r.status, 200, r.text)
        return {i["path"].rstrip("/") + "/" + i["name"]: i for i in r.json()["items"]}

    def class_names(self):
        return sorted(c["name"] for c in self.c.get("/api/v1/classes").json()["classes"])

    def create(self, fmt="darwin", options=None, dry_run=None, client=None, **extra):
        body = {"format": fmt, "dataset_id": self.ds}
        if options is not None:
            body["options"] = options
        if dry_run is not None:
            body["dry_run"] = dry_run
        body.update(extra)
        r = (client or self.c).post("/api/v1/imports", json=body)
        self.assertEqual(r.status, 201, r.text)
        m = r.json()
        self.assertEqual(r.header("Location"), "/api/v1/imports/" + m["id"])
        return m

    def upload(self, m, data, client=None):
        path = urllib.parse.urlparse(m["upload_url"]).path
        self.assertEqual(path, "/api/v1/imports/%s/file" % m["id"])
        r = (client or self.c).put(path, data=data, headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["status"], "uploaded")
        return r.json()

    def start(self, m, client=None):
        r = (client or self.c).post("/api/v1/imports/%s/start" % m["id"])
        self.assertEqual(r.status, 202, r.text)
        self.assertEqual(r.json()["job"]["kind"], "imports.run")
        return r.json()

    def wait(self, m):
        def done():
            x = self.c.get("/api/v1/imports/" + m["id"]).json()
            return x if x["status"] in ("succeeded", "failed") else None
        return lh.wait_until(done, timeout=180, interval=0.1, message="import " + m["id"])

    def run_import(self, data, fmt="darwin", options=None, dry_run=None, expect="succeeded"):
        m = self.create(fmt, options, dry_run)
        self.upload(m, data)
        self.start(m)
        m = self.wait(m)
        self.assertEqual(m["status"], expect, m)
        return m

    def snapshot(self):
        """Every row an import could write, to compare before and after."""
        return self.query("SELECT (SELECT count(*) FROM annotations), (SELECT count(*) FROM annotation_frames), "
                          "(SELECT count(*) FROM items), (SELECT count(*) FROM slots), (SELECT count(*) FROM classes), "
                          "(SELECT count(*) FROM item_properties), "
                          "(SELECT coalesce(sum(version), 0) FROM item_annotation_versions)")


class DarwinTest(ImportCase):
    """The Darwin JSON 2.0 samples, in one archive with their .v7/metadata.json, into items that exist;
    read back equal to the files field by field."""

    def setUp(self):
        if not darwin_samples():
            lh.skip("Darwin fixtures not found in %s (set LOUPE_FIXTURES_DIR)" % lh.FIXTURES_DIR)
        super().setUp()

    def sample_items(self):
        items = {}
        for name in darwin_samples():
            doc = load_sample(name)
            slots = [{k: v for k, v in (("name", s["slot_name"]), ("type", s["type"]), ("width", s.get("width")),
                                        ("height", s.get("height")), ("frame_count", s.get("frame_count")))
                      if v is not None} for s in doc["item"]["slots"]]
            items[name] = self.make_item(doc["item"]["name"], doc["item"].get("path", "/"), slots)
        return items

    def sample_classes(self):
        props = {}
        for name in darwin_samples():
            for a in load_sample(name)["annotations"]:
                props.setdefault(a["name"], set()).update(p["name"] for p in a.get("properties", []))
        types = ["bounding_box", "polygon", "complex_polygon", "ellipse", "line", "keypoint", "skeleton", "tag",
                 "mask", "raster_layer", "text", "cuboid", "table", "simple_table", "string", "graph"]
        subs = ["attributes", "text", "instance_id", "directional_vector", "inference", "measures"]
        for cname, names in sorted(props.items()):
            self.make_class(cname, types, sub_types=subs,
                            properties=[{"name": p, "type": "text"} for p in sorted(names)])

    def archive(self):
        files = {}
        for name in darwin_samples():
            with open(os.path.join(DARWIN, name), "rb") as f:
                files["annotations/" + name] = f.read()
        return zip_of(files)

    def test_samples_import_and_read_back_equal(self):
        items = self.sample_items()
        self.sample_classes()
        before = self.snapshot()
        # a dry run: the same counts, nothing written
        dry = self.run_import(self.archive(), dry_run=True)
        self.assertEqual(dry["written"], False)
        self.assertEqual(dry["problems"], [], dry)
        self.assertEqual(self.snapshot(), before)
        m = self.run_import(self.archive())
        self.assertEqual(m["problems"], [], m)
        self.assertTrue(m["written"])
        total = sum(len(load_sample(n)["annotations"]) for n in darwin_samples())
        self.assertEqual(m["counts"]["items"], {"matched": len(items), "created": 0, "skipped": 0})
        self.assertEqual(m["counts"]["annotations"], {"created": total, "replaced": 0, "removed": 0, "skipped": 0})
        self.assertEqual(m["counts"]["files_read"], len(items))
        self.assertEqual(dry["counts"], m["counts"])
        for name, item in items.items():
            with self.subTest(name):
                doc = load_sample(name)
                back = self.annotations(item["id"])
                if "properties" in doc:
                    self.assertEqual(back["properties"], doc["properties"])
                got = {a["id"]: a for a in back["annotations"]}
                self.assertEqual(set(got), {a["id"] for a in doc["annotations"]})
                for original in doc["annotations"]:
                    a = got[original["id"]]
                    self.assertEqual({k: a.get(k) for k in original}, original, original["name"])
                    self.assertEqual(a["source"], "import")
        # imported again (merge): the same ids replace themselves
        m = self.run_import(self.archive())
        self.assertEqual(m["counts"]["annotations"], {"created": 0, "replaced": total, "removed": 0, "skipped": 0})


class OptionsTest(ImportCase):
    def setUp(self):
        super().setUp()
        self.cat = self.make_class("cat", ["bounding_box", "polygon", "tag"])
        self.a = self.make_item("a.jpg")
        self.b = self.make_item("b.jpg", path="/x")

    def box(self, id=None, name="cat", x=1):
        a = {"name": name, "bounding_box": {"x": x, "y": 2, "w": 3, "h": 4}}
        if id:
            a["id"] = id
        return a

    def test_merge_and_replace(self):
        r = self.c.post("/api/v1/items/%s/annotations/batch" % self.a["id"],
                        json={"create": [{"id": "old-1", "class_id": self.cat, "tag": {}},
                                         {"id": "keep-2", "class_id": self.cat, "tag": {}}]})
        self.assertEqual(r.status, 200, r.text)
        data = darwin_file("a.jpg", [self.box("old-1", x=5), self.box("new-3")])
        m = self.run_import(data, options={"mode": "merge"})
        self.assertEqual(m["counts"]["annotations"], {"created": 1, "replaced": 1, "removed": 0, "skipped": 0})
        got = {a["id"]: a for a in self.annotations(self.a["id"])["annotations"]}
        self.assertEqual(sorted(got), ["keep-2", "new-3", "old-1"])
        self.assertEqual(got["old-1"]["bounding_box"]["x"], 5)
        m = self.run_import(darwin_file("a.jpg", [self.box("new-4")]), options={"mode": "replace"})
        self.assertEqual(m["counts"]["annotations"], {"created": 1, "replaced": 0, "removed": 3, "skipped": 0})
        self.assertEqual([a["id"] for a in self.annotations(self.a["id"])["annotations"]], ["new-4"])
        # a single JSON file (not an archive) is read as one file
        self.assertEqual(m["counts"]["files_read"], 1)

    def test_classes_created_mapped_or_missing(self):
        data = zip_of({"a.json": darwin_file("a.jpg", [self.box(name="dog"), self.box(name="cat")]),
                       "x/b.json": darwin_file("b.jpg", [self.box(name="bird")], path="/x")})
        before = self.snapshot()
        # unknown classes: problems naming file and place, nothing written
        m = self.run_import(data, expect="failed")
        self.assertFalse(m["written"])
        self.assertIn("nothing was written", m["error"])
        self.assertEqual(self.snapshot(), before)
        where = sorted((p["file"], p["where"], p["skipped"]) for p in m["problems"])
        self.assertEqual(where, [("a.json", "annotations[0]", "annotation"), ("x/b.json", "annotations[0]", "annotation")])
        self.assertTrue(all("does not exist" in p["message"] for p in m["problems"]))
        self.assertEqual(m["counts"]["annotations"]["skipped"], 2)
        # skip_invalid writes the rest and says what it left out
        m = self.run_import(data, options={"skip_invalid": True})
        self.assertTrue(m["written"])
        self.assertEqual(m["counts"]["annotations"], {"created": 1, "replaced": 0, "removed": 0, "skipped": 2})
        # class_map: names to the team's classes
        m = self.run_import(data, options={"class_map": {"dog": self.cat, "bird": self.cat}, "mode": "replace"})
        self.assertEqual(m["counts"]["annotations"]["created"], 3)
        self.assertEqual({a["name"] for a in self.annotations(self.b["id"])["annotations"]}, {"cat"})
        # create_classes: made with the types their annotations use
        m = self.run_import(data, options={"create_classes": True, "mode": "replace"})
        self.assertEqual(m["counts"]["classes_created"], 2)
        self.assertEqual(self.class_names(), ["bird", "cat", "dog"])
        dog = [c for c in self.c.get("/api/v1/classes").json()["classes"] if c["name"] == "dog"][0]
        self.assertEqual(dog["annotation_types"], ["bounding_box"])
        self.assertEqual({a["name"] for a in self.annotations(self.b["id"])["annotations"]}, {"bird"})

    def test_create_items(self):
        data = zip_of({"n/new.json": darwin_file("new.jpg", [self.box()], path="/n",
                                                 slots=[{"type": "image", "slot_name": "main", "width": 10,
                                                         "height": 8}])})
        m = self.run_import(data, expect="failed")
        self.assertEqual(m["problems"][0]["skipped"], "item")
        self.assertIn("create_items", m["problems"][0]["message"])
        self.assertNotIn("/n/new.jpg", self.items())
        m = self.run_import(data, options={"create_items": True})
        self.assertEqual(m["counts"]["items"], {"matched": 0, "created": 1, "skipped": 0})
        item = self.items()["/n/new.jpg"]
        self.assertEqual(item["status"], "registered")
        self.assertEqual([(s["name"], s["width"], s["height"]) for s in item["slots"]], [("main", 10, 8)])
        self.assertEqual(self.annotations(item["id"])["annotations"][0]["slot"], "main")

    def test_bad_annotations_are_located(self):
        bad = {"name": "cat", "polygon": {"paths": [[pt(0, 0), pt(1, 1)]]}}
        data = zip_of({"a.json": darwin_file("a.jpg", [self.box(), bad]),
                       "broken.json": '{"version": "2.0",\n "item": {"name": "b.jpg", }}',
                       "notes.txt": "ignored"})
        before = self.snapshot()
        m = self.run_import(data, expect="failed")
        self.assertEqual(self.snapshot(), before)
        by_file = {p["file"]: p for p in m["problems"]}
        self.assertTrue(by_file["a.json"]["where"].startswith("annotations[1].polygon"), m["problems"])
        self.assertEqual(by_file["broken.json"]["where"], "line 2, column 28")
        self.assertEqual(by_file["broken.json"]["skipped"], "file")
        self.assertEqual(m["counts"]["files_ignored"], 1)


    def test_created_classes_keep_declared_properties(self):
        # .v7/metadata.json declares the class's properties (Darwin's spellings); the class the
        # import creates carries them, and the annotation's values are checked against them
        meta = {"classes": [{"name": "dog", "type": "bounding_box", "description": "a good dog",
                             "sub_types": ["text"], "color": "rgba(255,0,85,1.0)",
                             "properties": [
                                 {"name": "Colors", "type": "multi-select", "granularity": "section", "required": True,
                                  "property_values": [{"value": "red", "color": "rgba(255, 0, 0, 0)"},
                                                      {"value": "blue"}]},
                                 {"name": "Size", "type": "single-select", "options": [{"value": "big"}]},
                                 {"name": "Note", "type": "text", "granularity": "item"},
                                 {"name": "Odd", "type": "sparkle"}]}]}
        ann = self.box(name="dog")
        ann["properties"] = [{"name": "Size", "value": "big"}]
        ann["text"] = {"text": "woof"}
        data = zip_of({".v7/metadata.json": json.dumps(meta),
                       "a.json": darwin_file("a.jpg", [ann], properties=[{"name": "Note", "value": "hello"}])})
        m = self.run_import(data, options={"create_classes": True})
        self.assertEqual(m["counts"]["classes_created"], 1)
        self.assertEqual([(p["where"], p.get("skipped")) for p in m["problems"]],
                         [('classes["dog"].properties[3]', None)], m["problems"])
        self.assertIn("not kept", m["problems"][0]["message"])
        dog = [c for c in self.c.get("/api/v1/classes").json()["classes"] if c["name"] == "dog"][0]
        self.assertEqual(dog["description"], "a good dog")
        self.assertEqual(dog["sub_types"], ["text"])
        props = {p["name"]: p for p in dog["properties"]}
        self.assertEqual(sorted(props), ["Colors", "Note", "Size"])
        self.assertEqual(props["Colors"]["type"], "multi_select")
        self.assertEqual(props["Colors"]["granularity"], "frame")
        self.assertTrue(props["Colors"]["required"])
        self.assertEqual([o["value"] for o in props["Colors"]["options"]], ["red", "blue"])
        self.assertEqual(props["Size"], {"id": props["Size"]["id"], "name": "Size", "type": "single_select",
                                         "options": [{"value": "big"}], "granularity": "annotation",
                                         "required": False})
        uuid.UUID(props["Size"]["id"])
        self.assertEqual(props["Note"]["granularity"], "item")
        back = self.annotations(self.a["id"])
        self.assertEqual(back["annotations"][0]["properties"], ann["properties"])
        self.assertEqual(back["properties"], [{"name": "Note", "value": "hello"}])
        # a value the declared property does not hold is a problem
        ann["properties"] = [{"name": "Size", "value": "tiny"}]
        m = self.run_import(zip_of({"a.json": darwin_file("a.jpg", [ann])}), options={"mode": "replace"},
                            expect="failed")
        self.assertEqual(m["problems"][0]["where"], "annotations[0].properties[0].value", m["problems"])


class ProgressTest(ImportCase):
    def setUp(self):
        lh.LoupeTestCase.setUp(self)
        self.start_team()
        # one item per batch, so that the import writes (and waits on a lock) item by item
        self.worker = self.start_worker(settings={"import_batch_annotations": 1})
        self.ds = self.make_dataset("Scenes")

    def test_progress_advances_while_the_import_runs(self):
        for i in range(6):
            self.make_item("i%d.jpg" % i)
        data = zip_of({"i%d.json" % i: darwin_file("i%d.jpg" % i, [{"name": "cat", "bounding_box": {
            "x": 1, "y": 2, "w": 3, "h": 4}}]) for i in range(6)})
        self.make_class("cat", ["bounding_box"])
        # another session holds the fourth item: the import stops there, mid-way, until it lets go
        argv = list(self.sandbox.services.info["psql"]) + ["-d", self.sandbox.name, "-q", "-tA", "-v",
                                                            "ON_ERROR_STOP=1"]
        holder = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            holder.stdin.write("BEGIN;\nSELECT 'held' FROM items WHERE name = 'i3.jpg' FOR UPDATE;\n")
            holder.stdin.flush()
            self.assertEqual(holder.stdout.readline().strip(), "held")
            m = self.create()
            self.upload(m, data)
            self.start(m)
            mid = lh.wait_until(lambda: (lambda x: x if x["progress"] > 0 else None)(
                self.c.get("/api/v1/imports/" + m["id"]).json()), timeout=60, interval=0.05, message="progress")
            self.assertEqual(mid["status"], "running", mid)
            self.assertLess(mid["progress"], 1)
            holder.stdin.write("COMMIT;\n")
            holder.stdin.close()
            holder.wait(timeout=30)
            holder.stdout.close()
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait()
        done = self.wait(m)
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual(done["progress"], 1)
        self.assertEqual(done["counts"]["annotations"]["created"], 6)


class RefusalsTest(ImportCase):
    def test_hostile_archives_write_nothing(self):
        self.make_class("cat", ["bounding_box"])
        self.make_item("a.jpg")
        good = darwin_file("a.jpg", [{"name": "cat", "bounding_box": {"x": 1, "y": 1, "w": 2, "h": 2}}])
        symlink = io.BytesIO()
        with zipfile.ZipFile(symlink, "w") as z:
            z.writestr("a.json", good)
            info = zipfile.ZipInfo("link.json")
            info.external_attr = (0o120777 << 16)
            z.writestr(info, "/etc/passwd")
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("a.json", good)
            z.writestr("big.json", b" " * (50 << 20))
        nested = zip_of({"a.json": good, "inner.zip": zip_of({"b.json": good})})
        cases = [("zip-slip", zip_of({"a.json": good, "../../x.json": good}), ".."),
                 ("absolute", zip_of({"a.json": good, "/etc/x.json": good}), "/etc/x.json"),
                 ("symlink", symlink.getvalue(), "link.json"),
                 ("bomb", bomb.getvalue(), "big.json"),
                 ("nested", nested, "inner.zip")]
        before = self.snapshot()
        for label, data, named in cases:
            with self.subTest(label):
                m = self.run_import(data, expect="failed")
                self.assertFalse(m["written"])
                self.assertIn("refused", m["error"])
                self.assertIn(named, m["problems"][0]["message"])
                self.assertEqual(self.snapshot(), before)

    def test_hostile_xml_writes_nothing(self):
        """Billion laughs and an external entity naming a local file, in VOC and in CVAT XML:
        refused (expat never sees a DOCTYPE through), the import fails naming the file, and
        nothing is written."""
        self.make_class("cat", ["bounding_box"])
        self.make_item("a.jpg")
        laughs = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">' +
                  "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%s;" % (i - 1 if i > 1 else "")) * 10)
                          for i in range(1, 10)) +
                  ']>\n<annotation><filename>a.jpg</filename><object><name>&lol9;</name>'
                  '<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>')
        xxe = ('<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
               '<annotation><filename>a.jpg</filename><object><name>&x;</name>'
               '<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>')
        # the same declarations in front of a CVAT document (entities in its attributes)
        cvat = ('<annotations><image id="0" name="a.jpg" width="4" height="3">'
                '<box label="&%s;" xtl="1" ytl="1" xbr="2" ybr="2"/></image></annotations>')
        cvat_laughs = laughs.split("\n<annotation>")[0] + "\n" + cvat % "lol9"
        cvat_xxe = xxe.split("\n<annotation>")[0] + "\n" + cvat % "x"
        before = self.snapshot()
        for label, fmt, name, doc in (("VOC billion laughs", "voc", "Annotations/a.xml", laughs),
                                      ("VOC xxe", "voc", "Annotations/a.xml", xxe),
                                      ("CVAT billion laughs", "cvat", "annotations.xml", cvat_laughs),
                                      ("CVAT xxe", "cvat", "annotations.xml", cvat_xxe)):
            with self.subTest(label):
                m = self.run_import(zip_of({name: doc}), fmt=fmt, expect="failed")
                self.assertFalse(m["written"])
                p = m["problems"][0]
                self.assertEqual((p["file"], p["skipped"]), (name, "file"))
                self.assertIn("DOCTYPE", p["message"])
                self.assertNotIn("root:", json.dumps(m))
                self.assertEqual(self.snapshot(), before)

    def test_bad_input_roles_and_teams(self):
        m = self.create(options={"create_classes": True})
        self.assertEqual(m["status"], "awaiting_upload")
        self.assertIsNone(m["counts"])
        # start before the file: 409
        self.assertProblem(self.c.post("/api/v1/imports/%s/start" % m["id"]), 409)
        bad = [({"format": "tfrecord", "dataset_id": self.ds}, 422, "format"),
               ({"dataset_id": self.ds}, 422, "format"),
               ({"format": "darwin"}, 422, "dataset_id"),
               ({"format": "darwin", "dataset_id": "nope"}, 422, "dataset_id"),
               ({"format": "darwin", "dataset_id": str(uuid.uuid4())}, 404, "dataset_id"),
               ({"format": "darwin", "dataset_id": self.ds, "options": {"mode": "overwrite"}}, 422, "options.mode"),
               ({"format": "darwin", "dataset_id": self.ds, "options": {"create_classes": "yes"}}, 422,
                "options.create_classes"),
               ({"format": "darwin", "dataset_id": self.ds, "options": {"class_map": {"cat": "x"}}}, 422,
                "options.class_map.cat"),
               ({"format": "darwin", "dataset_id": self.ds, "options": {"class_map": {"cat": str(uuid.uuid4())}}},
                422, "options.class_map.cat"),
               ({"format": "darwin", "dataset_id": self.ds, "options": {"colour": 1}}, 422, "options.colour"),
               ({"format": "darwin", "dataset_id": self.ds, "dry_run": "no"}, 422, "dry_run"),
               ({"format": "darwin", "dataset_id": self.ds, "storage_key": "../x"}, 422, "storage_key")]
        for body, status, field in bad:
            with self.subTest(body=body):
                self.assertProblem(self.c.post("/api/v1/imports", json=body), status, field)
        # another team: its import is 404, its key is refused without saying whether it exists
        rival_boot = self.bootstrap(team="Rivals", email="rival@example.com")
        rival = self.d.client(api_key=rival_boot["api_key"])
        rds = self.make_dataset("Theirs", client=rival)
        theirs = rival.post("/api/v1/imports", json={"format": "darwin", "dataset_id": rds}).json()
        r = rival.put("/api/v1/imports/%s/file" % theirs["id"], data=b"{}")
        self.assertEqual(r.status, 200, r.text)
        their_key = r.json()["storage_key"]
        self.assertTrue(their_key.startswith("imports/" + rival_boot["team_id"] + "/"), their_key)
        for key in (their_key, "imports/%s/%s" % (rival_boot["team_id"], uuid.uuid4()),
                    "exports/%s/%s.zip" % (rival_boot["team_id"], uuid.uuid4())):
            body = self.assertProblem(self.c.post("/api/v1/imports", json={"format": "darwin", "dataset_id": self.ds,
                                                                           "storage_key": key}), 422, "storage_key")
            self.assertIn("not a file of this team", json.dumps(body))
        for method, path in (("get", "/api/v1/imports/%s"), ("post", "/api/v1/imports/%s/start")):
            self.assertProblem(getattr(self.c, method)(path % theirs["id"]), 404)
        self.assertProblem(self.c.put("/api/v1/imports/%s/file" % theirs["id"], data=b"{}"), 404)
        self.assertProblem(rival.get("/api/v1/imports/" + m["id"]), 404)
        self.assertEqual([x["id"] for x in rival.get("/api/v1/imports").json()["imports"]], [theirs["id"]])
        self.assertProblem(rival.post("/api/v1/imports", json={"format": "darwin", "dataset_id": self.ds}), 404,
                           "dataset_id")
        # a viewer and an annotator read imports but cannot create, upload or start one
        for role in ("viewer", "annotator"):
            r = self.c.post("/api/v1/api-keys", json={"name": role, "role": role})
            low = self.d.client(api_key=r.json()["key"])
            self.assertEqual(low.get("/api/v1/imports/" + m["id"]).status, 200)
            self.assertProblem(low.post("/api/v1/imports", json={"format": "darwin", "dataset_id": self.ds}), 403)
            self.assertProblem(low.put("/api/v1/imports/%s/file" % m["id"], data=b"{}"), 403)
            self.assertProblem(low.post("/api/v1/imports/%s/start" % m["id"]), 403)
        # a file of the team named by its key: its own earlier upload
        self.upload(m, darwin_file("a.jpg", []))
        key = self.c.get("/api/v1/imports/" + m["id"]).json()["storage_key"]
        again = self.create(storage_key=key, options={"create_items": True})
        self.assertEqual(again["status"], "uploaded")
        self.assertIsNone(again["upload_url"])
        self.start(again)
        self.assertEqual(self.wait(again)["counts"]["items"]["created"], 1)
        # started: the file cannot change, and it cannot start twice
        self.assertProblem(self.c.post("/api/v1/imports/%s/start" % again["id"]), 409)
        listed = self.c.get("/api/v1/imports", query={"page[size]": "1"}).json()
        self.assertEqual([x["id"] for x in listed["imports"]], [again["id"]])
        self.assertIsNotNone(listed["next"])


class CocoTest(ImportCase):
    """A COCO export imported again (into a second dataset, its items created) holds the same
    annotations: boxes, polygons, the mask pixel for pixel, skeletons by node name, keypoints; the
    ellipse comes back as its polygon, and what COCO cannot hold (lines, tags) is not there."""

    def test_export_then_import_is_equal(self):
        W, H = 64, 48
        cat = self.make_class("cat", ["bounding_box", "polygon", "ellipse", "mask", "raster_layer", "keypoint",
                                      "line", "tag"])
        person = self.make_class("person", ["skeleton"],
                                 skeleton={"nodes": [{"name": "nose"}, {"name": "eye"}], "edges": [[0, 1]]})
        a = self.make_item("a.jpg", slots=[{"name": "0", "type": "image", "width": W, "height": H}])
        b = self.make_item("c.jpg", path="/b", slots=[{"name": "0", "type": "image", "width": W, "height": H}])
        mask_id = str(uuid.uuid4())
        dense = [0, 10 * W + 20, 1, 10, 0, W - 10, 1, 10, 0, W * H - (11 * W + 30)]
        r = self.c.post("/api/v1/items/%s/annotations/batch" % a["id"], json={"create": [
            {"class_id": cat, "bounding_box": {"x": 1.5, "y": 2, "w": 10, "h": 20}},
            {"class_id": cat, "polygon": {"paths": [[pt(30, 5), pt(50, 5), pt(50, 25), pt(30, 25)]]}},
            {"class_id": cat, "polygon": {"paths": [[pt(1, 1), pt(9, 2.25), pt(4, 8)]]}},
            {"class_id": cat, "ellipse": {"center": pt(40, 30), "radius": pt(8, 4), "angle": 0.5}},
            {"id": mask_id, "class_id": cat, "mask": {}},
            {"class_id": cat, "raster_layer": {"dense_rle": dense, "mask_annotation_ids_mapping": {mask_id: 1},
                                               "total_pixels": W * H}},
            {"class_id": person, "skeleton": {"nodes": [{"name": "eye", "x": 12, "y": 8, "occluded": True},
                                                        {"name": "nose", "x": 10, "y": 10, "occluded": False}]}},
            {"class_id": cat, "keypoint": {"x": 3, "y": 4}},
            {"class_id": cat, "line": {"path": [pt(0, 0), pt(9, 7)]}},
            {"class_id": cat, "tag": {}}]})
        self.assertEqual(r.status, 200, r.text)
        r = self.c.post("/api/v1/items/%s/annotations/batch" % b["id"],
                        json={"create": [{"class_id": cat, "bounding_box": {"x": 0, "y": 0, "w": W, "h": H}}]})
        self.assertEqual(r.status, 200, r.text)
        r = self.c.post("/api/v1/exports", json={"format": "coco", "filters": {"dataset_id": self.ds}})
        self.assertEqual(r.status, 202, r.text)
        e = r.json()
        e = lh.wait_until(lambda: (lambda x: x if x["status"] in ("succeeded", "failed") else None)(
            self.c.get("/api/v1/exports/" + e["id"]).json()), timeout=180, interval=0.1, message="export")
        self.assertEqual(e["status"], "succeeded", e)
        # the export's archive, named by its key: a file of this team
        original = {item["id"]: self.annotations(item["id"])["annotations"] for item in (a, b)}
        target = self.make_dataset("Again")
        body = {"format": "coco", "dataset_id": target, "storage_key": "exports/%s/%s.zip" % (self.team, e["id"]),
                "options": {"create_items": True}}
        for dry in (True, False):
            before = self.snapshot()
            r = self.c.post("/api/v1/imports", json=dict(body, dry_run=dry))
            self.assertEqual(r.status, 201, r.text)
            m = r.json()
            self.assertEqual((m["status"], m["upload_url"]), ("uploaded", None))
            self.start(m)
            m = self.wait(m)
            self.assertEqual(m["status"], "succeeded", m)
            self.assertEqual(m["problems"], [])
            self.assertEqual(m["counts"]["items"], {"matched": 0, "created": 2, "skipped": 0})
            # box, 2 polygons, ellipse, mask, skeleton, keypoint, raster layer; box
            self.assertEqual(m["counts"]["annotations"]["created"], 9)
            self.assertEqual(m["written"], not dry)
            if dry:
                self.assertEqual(self.snapshot(), before)
        self.ds = target
        items = self.items()
        self.assertEqual(sorted(items), ["/a.jpg", "/b/c.jpg"])
        for old_item, new_path in ((a, "/a.jpg"), (b, "/b/c.jpg")):
            new_item = items[new_path]
            self.assertEqual(new_item["slots"][0]["width"], W)
            got = {x["id"]: x for x in self.annotations(new_item["id"])["annotations"]}
            for old in original[old_item["id"]]:
                kind = [k for k in ("bounding_box", "polygon", "mask", "skeleton", "keypoint", "ellipse", "line",
                                    "tag", "raster_layer") if k in old][0]
                with self.subTest(item=new_path, kind=kind):
                    if kind in ("line", "tag"):
                        self.assertNotIn(old["id"], got)
                        continue
                    if kind == "raster_layer":
                        new = [x for x in got.values() if "raster_layer" in x][0]
                        self.assertEqual(new["raster_layer"]["dense_rle"], old["raster_layer"]["dense_rle"])
                        self.assertEqual(new["raster_layer"]["mask_annotation_ids_mapping"], {mask_id: 1})
                        continue
                    new = got[old["id"]]
                    self.assertEqual(new["name"], old["name"])
                    self.assertEqual(new["source"], "import")
                    if kind == "ellipse":
                        self.assertEqual(len(new["polygon"]["paths"][0]), 64)
                    elif kind == "skeleton":
                        self.assertEqual(sorted(new["skeleton"]["nodes"], key=lambda n: n["name"]),
                                         sorted(old["skeleton"]["nodes"], key=lambda n: n["name"]))
                    else:
                        self.assertEqual(new[kind], old[kind])
