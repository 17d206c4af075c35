"""Inbound integrations: a third party pushes signed Standard Webhooks messages to
/api/v1/hooks/{integration_id}; items.update and annotations.import run as the integration's team
with nothing half written; bad signatures, stale timestamps, replays, bad payloads and another
team's items are refused with nothing written; integrations are per team."""

import base64
import hashlib
import hmac
import json
import time
import unittest
import uuid

import loupe_harness as lh

lh.require_services(binaries=("louped",))


def signed(secret, body, msg_id=None, ts=None, key_override=None):
    """Headers of a Standard Webhooks message (signed here with Python's hmac, independently of
    Loupe's code)."""
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    ts = str(int(time.time()) if ts is None else ts)
    key = key_override or base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, ("%s.%s." % (msg_id, ts)).encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(), "Content-Type": "application/json"}


class IntegrationsTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team()
        r = self.c.post("/api/v1/integrations", json={"name": "labelling vendor"})
        self.assertEqual(r.status, 201, r.text)
        self.integ = r.json()
        self.anon = self.d.client()
        ds = self.c.post("/api/v1/datasets", json={"name": "Inbound"}).json()
        self.ds = ds
        self.item = self.c.post("/api/v1/datasets/%s/items" % ds["id"],
                                json={"name": "a.jpg", "path": "/cam1", "slots": [{"name": "0", "type": "image"}],
                                      "metadata": {"keep": 1}}).json()

    def push(self, doc, secret=None, **kw):
        body = json.dumps(doc).encode()
        return self.anon.post("/api/v1/hooks/" + self.integ["id"], data=body,
                              headers=signed(secret or self.integ["secret"], body, **kw))

    def get_item(self):
        return self.c.get("/api/v1/items/" + self.item["id"]).json()

    def test_crud_and_scoping(self):
        self.assertTrue(self.integ["secret"].startswith("whsec_"))
        self.assertTrue(self.integ["url"].endswith("/api/v1/hooks/" + self.integ["id"]))
        got = self.c.get("/api/v1/integrations/" + self.integ["id"]).json()
        self.assertNotIn("secret", got)
        self.assertEqual([i["id"] for i in self.c.get("/api/v1/integrations").json()["items"]], [self.integ["id"]])
        self.assertProblem(self.c.post("/api/v1/integrations", json={}), 422, "name")
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="rival@example.com")["api_key"])
        self.assertEqual(rival.get("/api/v1/integrations").json()["items"], [])
        self.assertProblem(rival.get("/api/v1/integrations/" + self.integ["id"]), 404)
        self.assertProblem(rival.delete("/api/v1/integrations/" + self.integ["id"]), 404)
        self.assertEqual(self.c.delete("/api/v1/integrations/" + self.integ["id"]).status, 204)
        self.assertProblem(self.push({"type": "items.update", "data": {"item_id": self.item["id"], "priority": 1}}),
                           404)

    def test_items_update_and_replay(self):
        doc = {"type": "items.update", "data": {"item_id": self.item["id"], "metadata": {"vendor": "acme"},
                                                "priority": 7}}
        body = json.dumps(doc).encode()
        headers = signed(self.integ["secret"], body)
        r = self.anon.post("/api/v1/hooks/" + self.integ["id"], data=body, headers=headers)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json(), {"type": "items.update", "item_id": self.item["id"]})
        item = self.get_item()
        self.assertEqual(item["metadata"], {"keep": 1, "vendor": "acme"})  # merged
        self.assertEqual(item["priority"], 7)
        # the same webhook-id again, even with another body signed correctly: the stored answer, nothing written
        doc2 = {"type": "items.update", "data": {"item_id": self.item["id"], "priority": 99}}
        r2 = self.push(doc2, msg_id=headers["webhook-id"])
        self.assertEqual(r2.status, 200, r2.text)
        self.assertEqual(r2.json(), r.json())
        self.assertEqual(r2.header("Idempotent-Replayed"), "true")
        self.assertEqual(self.get_item()["priority"], 7)

    def test_refusals_write_nothing(self):
        before = self.get_item()
        doc = {"type": "items.update", "data": {"item_id": self.item["id"], "priority": 5}}
        body = json.dumps(doc).encode()
        # bad signature: another key
        r = self.anon.post("/api/v1/hooks/" + self.integ["id"], data=body,
                           headers=signed(self.integ["secret"], body, key_override=b"k" * 32))
        self.assertProblem(r, 401)
        # the body changed after signing
        h = signed(self.integ["secret"], body)
        r = self.anon.post("/api/v1/hooks/" + self.integ["id"], data=body.replace(b"5", b"6"), headers=h)
        self.assertProblem(r, 401)
        # stale and future timestamps
        self.assertProblem(self.push(doc, ts=int(time.time()) - 400), 401)
        self.assertProblem(self.push(doc, ts=int(time.time()) + 400), 401)
        # no signature at all
        self.assertProblem(self.anon.post("/api/v1/hooks/" + self.integ["id"], json=doc), 401)
        # bad payloads, each naming the field
        for bad, field in [({"type": "items.explode", "data": {}}, "type"),
                           ({"type": "items.update"}, "data"),
                           ({"type": "items.update", "data": {"priority": 1}}, "data.item_id"),
                           ({"type": "items.update", "data": {"item_id": "nope", "priority": 1}}, "data.item_id"),
                           ({"type": "items.update", "data": {"item_id": self.item["id"], "metadata": []}}, "data.metadata"),
                           ({"type": "items.update", "data": {"item_id": self.item["id"], "colour": 1}}, "data.colour"),
                           ({"type": "items.update", "data": {"item_id": str(uuid.uuid4()), "priority": 1}}, "data.item_id"),
                           ({"type": "items.update", "data": {"item_id": self.item["id"], "priority": 1}, "x": 1}, "x")]:
            self.assertProblem(self.push(bad), 422, field)
        # another team's item
        rival = self.d.client(api_key=self.bootstrap(team="Rivals", email="rival@example.com")["api_key"])
        rds = rival.post("/api/v1/datasets", json={"name": "Theirs"}).json()
        ritem = rival.post("/api/v1/datasets/%s/items" % rds["id"],
                           json={"name": "b.jpg", "slots": [{"name": "0", "type": "image"}]}).json()
        self.assertProblem(self.push({"type": "items.update", "data": {"item_id": ritem["id"], "priority": 3}}), 422,
                           "data.item_id")
        self.assertEqual(rival.get("/api/v1/items/" + ritem["id"]).json()["priority"], 0)
        after = self.get_item()
        self.assertEqual((after["priority"], after["metadata"]), (before["priority"], before["metadata"]))
        self.assertEqual(self.query("SELECT count(*) FROM integration_messages"), [["0"]])

    def test_annotations_import(self):
        cls = self.c.post("/api/v1/classes", json={"name": "car", "annotation_types": ["bounding_box"]})
        self.assertEqual(cls.status, 201, cls.text)
        cls = cls.json()
        anns = [{"class_id": cls["id"], "bounding_box": {"x": 1, "y": 2, "w": 30, "h": 40}},
                {"class_id": cls["id"], "bounding_box": {"x": 5, "y": 5, "w": 10, "h": 10}}]
        # by dataset, path and name
        r = self.push({"type": "annotations.import",
                       "data": {"dataset_id": self.ds["id"], "path": "/cam1", "name": "a.jpg", "annotations": anns}})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["item_id"], self.item["id"])
        self.assertEqual(len(r.json()["created"]), 2)
        got = self.c.get("/api/v1/items/%s/annotations" % self.item["id"]).json()["annotations"]
        self.assertEqual(sorted(a["bounding_box"]["w"] for a in got), [10, 30])
        # an invalid shape: 422 naming it, nothing written
        bad = [anns[0], {"class_id": cls["id"], "bounding_box": {"x": 0, "y": 0, "w": -1, "h": 1}}]
        body = self.assertProblem(self.push({"type": "annotations.import",
                                             "data": {"item_id": self.item["id"], "annotations": bad}}), 422)
        self.assertIn("data.annotations[1].bounding_box.w", [e["field"] for e in body["errors"]])
        self.assertEqual(len(self.c.get("/api/v1/items/%s/annotations" % self.item["id"]).json()["annotations"]), 2)
        # an unknown item
        self.assertProblem(self.push({"type": "annotations.import",
                                      "data": {"dataset_id": self.ds["id"], "name": "zzz.jpg", "annotations": anns}}),
                           422, "data.name")


if __name__ == "__main__":
    unittest.main()
