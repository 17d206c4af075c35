"""Annotation classes through the real louped and PostgreSQL: create / list / get / patch / delete,
validation errors naming the field, unique names per team, deleting a class in use (409, or
?force=true with its annotations and the item summaries), the audit trail, and the Darwin
metadata sample's classes."""

import json
import os
import uuid

import loupe_harness as lh

lh.require_services()

FIXTURES = lh.FIXTURES_DIR


class ClassesTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team()

    def create(self, body, status=201):
        r = self.c.post("/api/v1/classes", json=body)
        self.assertEqual(r.status, status, r.text)
        return r.json()

    def test_crud(self):
        body = {"name": "Bottle", "annotation_types": ["polygon", "bounding_box"], "color": "#FF0055",
                "description": "Glass or plastic", "sub_types": ["attributes", "instance_id"],
                "properties": [{"name": "Colors", "type": "multi-select", "granularity": "section", "required": True,
                                "options": [{"value": "red", "color": "#ff0000"}, {"value": "green"}]},
                               {"name": "Count", "type": "number"}]}
        cls = self.create(body)
        self.assertEqual(cls["name"], "Bottle")
        self.assertEqual(cls["color"], "#ff0055")
        self.assertEqual(cls["annotation_types"], ["polygon", "bounding_box"])
        self.assertEqual(cls["sub_types"], ["attributes", "instance_id"])
        self.assertIsNone(cls["skeleton"])
        colors, count = cls["properties"]
        self.assertTrue(uuid.UUID(colors["id"]))
        self.assertEqual((colors["type"], colors["granularity"], colors["required"]), ("multi_select", "frame", True))
        self.assertEqual(colors["options"], [{"value": "red", "color": "#ff0000"}, {"value": "green"}])
        self.assertEqual((count["type"], count["granularity"], count["required"]), ("number", "annotation", False))
        self.assertEqual(self.c.get("/api/v1/classes/" + cls["id"]).json(), cls)

        # PATCH merges: other members keep their values; property ids survive.
        r = self.c.patch("/api/v1/classes/" + cls["id"], json={"color": "#00ff00", "description": ""})
        self.assertEqual(r.status, 200, r.text)
        patched = r.json()
        self.assertEqual((patched["color"], patched["description"]), ("#00ff00", ""))
        self.assertEqual(patched["properties"], cls["properties"])
        self.assertEqual(patched["name"], "Bottle")

        skel = self.create({"name": "Person", "annotation_types": ["skeleton"],
                            "skeleton": {"nodes": [{"name": "head"}, {"name": "neck"}, {"name": "hip"}],
                                         "edges": [[0, 1], [1, 2]]}})
        self.assertEqual(skel["skeleton"]["edges"], [[0, 1], [1, 2]])
        self.assertEqual(skel["color"], "#888888")

        # The list is by name, paged.
        for n in ("a", "c", "b"):
            self.create({"name": n, "annotation_types": ["tag"]})
        names, nxt, pages = [], "/api/v1/classes?page[size]=2", 0
        while nxt:
            doc = self.c.get(nxt).json()
            self.assertLessEqual(len(doc["classes"]), 2)
            names += [c["name"] for c in doc["classes"]]
            nxt, pages = doc["next"], pages + 1
        self.assertEqual(names, ["Bottle", "Person", "a", "b", "c"])
        self.assertEqual(pages, 3)

        # Names are unique per team: another team may reuse one.
        self.assertProblem(self.c.post("/api/v1/classes", json={"name": "Bottle", "annotation_types": ["tag"]}),
                           409)
        self.assertProblem(self.c.patch("/api/v1/classes/" + skel["id"], json={"name": "Bottle"}), 409)
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="r@example.com")["api_key"])
        self.assertEqual(rival.post("/api/v1/classes", json={"name": "Bottle", "annotation_types": ["tag"]}).status,
                         201)
        self.assertProblem(rival.get("/api/v1/classes/" + cls["id"]), 404)

        self.assertEqual(self.c.delete("/api/v1/classes/" + skel["id"]).status, 204)
        self.assertProblem(self.c.get("/api/v1/classes/" + skel["id"]), 404)
        self.assertProblem(self.c.get("/api/v1/classes/nope"), 404)
        actions = [r[0] for r in self.query("SELECT action FROM audit_log WHERE object_type = 'class' ORDER BY id")]
        self.assertEqual(actions[:3], ["class.create", "class.update", "class.create"])
        self.assertEqual(actions[-1], "class.delete")

    def test_validation_names_the_field(self):
        cases = [
            ({}, "name"),
            ({"name": "x"}, "annotation_types"),
            ({"name": "x", "annotation_types": []}, "annotation_types"),
            ({"name": "x", "annotation_types": ["hexagon"]}, "annotation_types[0]"),
            ({"name": "x", "annotation_types": ["tag", "tag"]}, "annotation_types[1]"),
            ({"name": "", "annotation_types": ["tag"]}, "name"),
            ({"name": "x", "annotation_types": ["tag"], "color": "red"}, "color"),
            ({"name": "x", "annotation_types": ["tag"], "colour": "#ffffff"}, "colour"),
            ({"name": "x", "annotation_types": ["tag"], "sub_types": ["halo"]}, "sub_types[0]"),
            ({"name": "x", "annotation_types": ["tag"], "properties": [{"type": "text"}]}, "properties[0].name"),
            ({"name": "x", "annotation_types": ["tag"], "properties": [{"name": "p", "type": "colour"}]},
             "properties[0].type"),
            ({"name": "x", "annotation_types": ["tag"], "properties": [{"name": "p", "type": "text",
                                                                        "granularity": "pixel"}]},
             "properties[0].granularity"),
            ({"name": "x", "annotation_types": ["tag"], "properties": [{"name": "p", "type": "single_select"}]},
             "properties[0].options"),
            ({"name": "x", "annotation_types": ["tag"], "properties": [{"name": "p", "type": "text",
                                                                        "options": [{"value": "a"}]}]},
             "properties[0].options"),
            ({"name": "x", "annotation_types": ["tag"], "properties": [
                {"name": "p", "type": "single_select", "options": [{"value": "a"}, {"value": "a"}]}]},
             "properties[0].options[1].value"),
            ({"name": "x", "annotation_types": ["tag"], "properties": [
                {"name": "p", "type": "single_select", "options": [{"value": "a", "color": "blue"}]}]},
             "properties[0].options[0].color"),
            ({"name": "x", "annotation_types": ["tag"], "properties": [{"name": "p", "type": "text"},
                                                                       {"name": "p", "type": "number"}]},
             "properties[1].name"),
            ({"name": "x", "annotation_types": ["tag"], "properties": [{"name": "p", "type": "text", "size": 1}]},
             "properties[0].size"),
            ({"name": "x", "annotation_types": ["tag"], "skeleton": {"nodes": [{"name": "a"}]}}, "skeleton"),
            ({"name": "x", "annotation_types": ["skeleton"], "skeleton": {"nodes": []}}, "skeleton.nodes"),
            ({"name": "x", "annotation_types": ["skeleton"], "skeleton": {"nodes": [{"name": "a"}, {"name": "a"}]}},
             "skeleton.nodes[1].name"),
            ({"name": "x", "annotation_types": ["skeleton"], "skeleton": {"nodes": [{"name": "a"}],
                                                                          "edges": [[0, 1]]}},
             "skeleton.edges[0]"),
        ]
        for body, field in cases:
            with self.subTest(field=field, body=body):
                self.assertProblem(self.c.post("/api/v1/classes", json=body), 422, field)
        cls = self.create({"name": "ok", "annotation_types": ["tag"]})
        self.assertProblem(self.c.patch("/api/v1/classes/" + cls["id"], json={"annotation_types": []}), 422,
                           "annotation_types")
        self.assertProblem(self.c.patch("/api/v1/classes/" + cls["id"], json={"id": str(uuid.uuid4())}), 422, "id")
        self.assertProblem(self.c.delete("/api/v1/classes/%s?force=maybe" % cls["id"]), 400, "force")
        self.assertEqual(self.query("SELECT count(*) FROM classes"), [["1"]])

    def test_delete_in_use(self):
        cls = self.create({"name": "car", "annotation_types": ["tag", "keypoint"]})
        keep = self.create({"name": "tree", "annotation_types": ["tag"]})
        ds = self.c.post("/api/v1/datasets", json={"name": "streets"}).json()
        items = [self.c.post("/api/v1/datasets/%s/items" % ds["id"],
                             json={"name": "%d.jpg" % i, "slots": [{"name": "0", "type": "image"}]}).json()
                 for i in range(2)]
        for it in items:
            r = self.c.post("/api/v1/items/%s/annotations/batch" % it["id"],
                            json={"create": [{"class_id": cls["id"], "tag": {}},
                                             {"class_id": cls["id"], "keypoint": {"x": 1, "y": 2}},
                                             {"class_id": keep["id"], "tag": {}}]})
            self.assertEqual(r.status, 200, r.text)
        body = self.assertProblem(self.c.delete("/api/v1/classes/" + cls["id"]), 409)
        self.assertIn("4 annotations", body["detail"])
        self.assertIn("force=true", body["hint"])
        self.assertEqual(self.c.get("/api/v1/classes/" + cls["id"]).status, 200)

        self.assertEqual(self.c.delete("/api/v1/classes/%s?force=true" % cls["id"]).status, 204)
        self.assertProblem(self.c.get("/api/v1/classes/" + cls["id"]), 404)
        for it in items:
            got = self.c.get("/api/v1/items/" + it["id"]).json()
            self.assertEqual((got["annotation_count"], got["class_ids"]), (1, [keep["id"]]))
            doc = self.c.get("/api/v1/items/%s/annotations" % it["id"]).json()
            self.assertEqual(doc["version"], 2)
            self.assertEqual([a["class_id"] for a in doc["annotations"]], [keep["id"]])
        audit = self.query("SELECT data::text FROM audit_log WHERE action = 'class.delete'")
        data = json.loads(audit[0][0])
        self.assertEqual((data["force"], data["annotations_deleted"], data["items_touched"]), (True, 4, 2))
        # The other class is still in use.
        self.assertEqual(self.c.delete("/api/v1/classes/" + keep["id"]).status, 409)

    def test_darwin_metadata_classes(self):
        path = os.path.join(FIXTURES, "darwin", "metadata.json")
        if not os.path.exists(path):
            lh.skip("Darwin fixtures not found in %s (set LOUPE_FIXTURES_DIR)" % FIXTURES)
        with open(path) as f:
            meta = json.load(f)
        # The class definitions as Darwin writes them: "type", rgba colours, property_values.
        for dc in meta["classes"]:
            cls = self.create(dc)
            self.assertEqual((cls["name"], cls["description"], cls["color"], cls["annotation_types"], cls["sub_types"]),
                             (dc["name"], dc["description"], dc["color"], [dc["type"]], dc["sub_types"]))
            for got, want in zip(cls["properties"], dc["properties"]):
                self.assertEqual(got["property_values"], want["property_values"])
                self.assertEqual([(o["value"], o["color"]) for o in got["options"]],
                                 [(v["value"], v["color"]) for v in want["property_values"]])
                self.assertEqual((got["name"], got["description"], got["required"]),
                                 (want["name"], want["description"], want["required"]))
            self.assertEqual([p["type"] for p in cls["properties"]], ["multi_select", "single_select"])
            self.assertEqual([p["granularity"] for p in cls["properties"]], ["frame", "frame"])
            self.assertEqual(self.c.get("/api/v1/classes/" + cls["id"]).json(), cls)

    def test_darwin_class_features(self):
        # Nested properties, the inference and measures sub-types, rgba colours, the newer types.
        body = {"name": "bone", "type": "bounding_box", "description": None, "color": "rgba(255,0,255,1.0)",
                "sub_types": ["inference", "measures"],
                "properties": [
                    {"name": "finding", "type": "single_select", "granularity": "annotation",
                     "property_values": [{"value": "break", "color": "rgba(0,255,0,1.0)"},
                                         {"value": "none", "color": "#00FF00"}]},
                    {"name": "detail", "type": "multi_select", "granularity": "section",
                     "property_values": [{"value": "open"}], "parent_name": "finding",
                     "trigger_condition": {"type": "value_match", "values": ["break"]}},
                    {"name": "remark", "type": "text", "property_values": [], "parent_name": "finding",
                     "trigger_condition": {"type": "any_value"}}]}
        cls = self.create(body)
        self.assertEqual((cls["color"], cls["sub_types"], cls["annotation_types"]),
                         ("rgba(255,0,255,1.0)", ["inference", "measures"], ["bounding_box"]))
        props = cls["properties"]
        self.assertEqual([p.get("parent_name") for p in props], [None, "finding", "finding"])
        self.assertEqual(props[1]["trigger_condition"], {"type": "value_match", "values": ["break"]})
        self.assertEqual(props[0]["options"], [{"value": "break", "color": "rgba(0,255,0,1.0)"},
                                               {"value": "none", "color": "#00ff00"}])
        for t in ("table", "simple_table", "string", "graph", "complex_polygon"):
            self.create({"name": "c-" + t, "annotation_types": [t]})
        # Wrong nesting, colours and types name their field.
        bad = [({"color": "rgba(300,0,0,1)"}, "color"),
               ({"color": "rgba(1,2,3)"}, "color"),
               ({"type": "blob", "annotation_types": None}, "type"),
               ({"properties": [{"name": "a", "type": "text", "parent_name": "nobody"}]}, "properties[0].parent_name"),
               ({"properties": [{"name": "a", "type": "single_select", "options": [{"value": "x"}]},
                                {"name": "b", "type": "text", "parent_name": "a",
                                 "trigger_condition": {"type": "value_match", "values": ["y"]}}]},
                "properties[1].trigger_condition.values[0]"),
               ({"properties": [{"name": "a", "type": "text", "trigger_condition": {"type": "any_value"}}]},
                "properties[0].trigger_condition"),
               ({"properties": [{"name": "a", "type": "single_select",
                                 "property_values": [{"value": "x", "color": "red"}]}]},
                "properties[0].property_values[0].color")]
        for i, (change, field) in enumerate(bad):
            with self.subTest(field):
                doc = {"name": "bad%d" % i, "annotation_types": ["tag"]}
                doc.update(change)
                doc = {k: v for k, v in doc.items() if v is not None}
                r = self.c.post("/api/v1/classes", json=doc)
                self.assertProblem(r, 422, field)

if __name__ == "__main__":
    import unittest
    unittest.main()
