"""Inbound integrations: a third party pushes signed Standard Webhooks messages to
/api/v1/hooks/{integration_id}; items.update and annotations.import run as the integration's team
with nothing half written; bad signatures, stale timestamps, replays, bad payloads and another
team's items are refused with nothing written; integrations are per team."""

import base64
import hashlib
import hmac
import json
import os
import struct
import threading
import time
import unittest
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import loupe_harness as lh
import webhook_receiver as wr

lh.require_services(binaries=("louped", "loupe-worker"))


def png(width=32, height=24):
    """A small valid RGB PNG, made here."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    rows = b"".join(b"\x00" + b"".join(bytes((x * 7 % 256, y * 9 % 256, 128)) for x in range(width))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class FileServer:
    """Serves one file at /file.png on 127.0.0.2 (inside the tests' net_allow)."""

    def __init__(self, content):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                status = 200 if self.path == "/file.png" else 404
                body = content if status == 200 else b"no such file"
                self.send_response(status)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.server.daemon_threads = True
        self.base = "http://127.0.0.2:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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


class PruneTest(lh.LoupeTestCase):
    """Inbound message ids are kept integration_message_keep, then pruned by louped's periodic
    maintenance (every prune_every); a fresh id still answers its replay."""

    def test_old_message_ids_are_pruned(self):
        self.start_team({"prune_every": "200ms", "integration_message_keep": "1h"})
        integ = self.c.post("/api/v1/integrations", json={"name": "vendor"}).json()
        ds = self.c.post("/api/v1/datasets", json={"name": "Pruned"}).json()
        item = self.c.post("/api/v1/datasets/%s/items" % ds["id"],
                           json={"name": "a.jpg", "slots": [{"name": "0", "type": "image"}]}).json()
        anon = self.d.client()
        sent = []
        for priority in (1, 2):
            body = json.dumps({"type": "items.update", "data": {"item_id": item["id"], "priority": priority}}).encode()
            headers = signed(integ["secret"], body)
            r = anon.post("/api/v1/hooks/" + integ["id"], data=body, headers=headers)
            self.assertEqual(r.status, 200, r.text)
            sent.append((body, headers))
        old_id, fresh_id = sent[0][1]["webhook-id"], sent[1][1]["webhook-id"]
        # the first id was recorded two hours ago (past the 1 h keep), the second just now
        self.psql("UPDATE integration_messages SET created_at = now() - interval '2 hours' "
                   "WHERE message_id = '%s'" % old_id)

        def ids():
            return sorted(r[0] for r in self.query("SELECT message_id FROM integration_messages"))
        lh.wait_until(lambda: ids() == [fresh_id], timeout=20, message="the old message id to be pruned")
        # a replay of the fresh one still answers the stored result and writes nothing
        r = anon.post("/api/v1/hooks/" + integ["id"], data=sent[1][0], headers=sent[1][1])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Idempotent-Replayed"), "true")
        self.assertEqual(ids(), [fresh_id])


class RegisterTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        settings = {"net_allow": "127.0.0.2/32", "webhook_allow_http": "true", "worker_queues": "system,media"}
        self.start_team(settings)
        self.start_workers(1, settings)
        self.integ = self.c.post("/api/v1/integrations", json={"name": "camera pipeline"}).json()
        self.anon = self.d.client()
        self.ds = self.c.post("/api/v1/datasets", json={"name": "Pushed"}).json()
        self.files = FileServer(png())
        self.addCleanup(self.files.close)
        self.refused = wr.Listener("127.0.0.1")
        self.addCleanup(self.refused.close)

    def push(self, doc):
        body = json.dumps(doc).encode()
        return self.anon.post("/api/v1/hooks/" + self.integ["id"], data=body, headers=signed(self.integ["secret"], body))

    def items(self):
        return self.c.get("/api/v1/items", query={"dataset_id": self.ds["id"]}).json()["items"]

    def test_files_are_fetched_through_the_guard_and_normalized(self):
        r = self.push({"type": "items.register", "data": {"dataset_id": self.ds["id"], "items": [
            {"name": "a.png", "path": "/cam1", "metadata": {"source": "cam1"},
             "slots": [{"name": "0", "type": "image", "url": self.files.base + "/file.png"}]},
            {"name": "b.png", "slots": [{"name": "0", "type": "image",
                                         "url": "http://localhost:%d/b.png" % self.refused.port}]},
            {"name": "c.png", "slots": [{"name": "0", "type": "image", "url": self.files.base + "/missing.png"}]}]}})
        self.assertEqual(r.status, 200, r.text)
        ids = {i["name"]: i["id"] for i in r.json()["items"]}
        self.assertEqual(set(ids), {"a.png", "b.png", "c.png"})

        def settled():
            got = {i["name"]: i for i in self.items()}
            return got if all(got[n]["status"] in ("ready", "error") for n in ids) else None
        got = lh.wait_until(settled, timeout=90, message="the pushed items to be processed")
        self.assertEqual(got["a.png"]["status"], "ready", got["a.png"])
        self.assertEqual(got["a.png"]["metadata"], {"source": "cam1"})
        self.assertEqual(got["b.png"]["status"], "error")
        self.assertIn("address 127.0.0.1 is not allowed (loopback)", got["b.png"]["error"])
        self.assertEqual(got["c.png"]["status"], "error")
        self.assertIn("the server answered 404", got["c.png"]["error"])
        self.assertEqual(self.refused.connections, 0)

    def test_refused_urls_and_bad_items_write_nothing(self):
        for items, field in [
            ([{"name": "x.png", "slots": [{"name": "0", "type": "image", "url": "http://127.0.0.1:%d/x" % self.refused.port}]}],
             "data.items[0].slots[0].url"),
            ([{"name": "x.png", "slots": [{"name": "0", "type": "image", "url": "file:///etc/passwd"}]}],
             "data.items[0].slots[0].url"),
            ([{"name": "x.png", "slots": [{"name": "0", "type": "image"}]}], "data.items[0].slots[0].url"),
            ([{"name": "ok.png", "slots": [{"name": "0", "type": "image", "url": self.files.base + "/file.png"}]},
              {"name": "x/y.png", "slots": [{"name": "0", "type": "image", "url": self.files.base + "/file.png"}]}],
             "data.items[1].name"),
            ([{"name": "x.png", "slots": [{"name": "0", "type": "sound", "url": self.files.base + "/file.png"}]}],
             "data.items[0].slots[0].type"),
        ]:
            self.assertProblem(self.push({"type": "items.register", "data": {"dataset_id": self.ds["id"],
                                                                             "items": items}}), 422, field)
        # a name taken by the second item of the same push: the first is not kept either
        dup = {"name": "d.png", "slots": [{"name": "0", "type": "image", "url": self.files.base + "/file.png"}]}
        self.assertProblem(self.push({"type": "items.register", "data": {"dataset_id": self.ds["id"],
                                                                         "items": [dup, dup]}}), 409, "data.items[1].name")
        self.assertEqual(self.items(), [])
        self.assertEqual(self.refused.connections, 0)


class InlineTest(lh.LoupeTestCase):
    """items.register with files given inline in base64: stored at once and normalized like any
    upload; bad base64 and files over integration_inline_max refused naming the field, nothing
    written (no item, no upload, no stored file, no message id)."""

    def setUp(self):
        super().setUp()
        settings = {"integration_inline_max": "20k", "worker_queues": "system,media"}
        self.start_team(settings)
        self.start_workers(1, settings)
        self.integ = self.c.post("/api/v1/integrations", json={"name": "scanner"}).json()
        self.anon = self.d.client()
        self.ds = self.c.post("/api/v1/datasets", json={"name": "Inline"}).json()

    def push(self, items):
        body = json.dumps({"type": "items.register", "data": {"dataset_id": self.ds["id"], "items": items}}).encode()
        return self.anon.post("/api/v1/hooks/" + self.integ["id"], data=body, headers=signed(self.integ["secret"], body))

    def stored_files(self):
        found = []
        for top, _, files in os.walk(self.sandbox.storage_dir):
            found += [os.path.join(top, f) for f in files]
        return found

    def assert_nothing_written(self):
        self.assertEqual(self.c.get("/api/v1/items", query={"dataset_id": self.ds["id"]}).json()["items"], [])
        self.assertEqual(self.query("SELECT count(*) FROM uploads"), [["0"]])
        self.assertEqual(self.query("SELECT count(*) FROM integration_messages"), [["0"]])
        self.assertEqual(self.stored_files(), [])

    def test_inline_file_becomes_a_ready_item(self):
        data = base64.b64encode(png(40, 30)).decode()
        r = self.push([{"name": "i.png", "path": "/scans",
                        "slots": [{"name": "0", "type": "image", "file": {"base64": data, "content_type": "image/png"}}]}])
        self.assertEqual(r.status, 200, r.text)
        item_id = r.json()["items"][0]["id"]

        def settled():
            it = self.c.get("/api/v1/items/" + item_id).json()
            return it if it["status"] in ("ready", "error") else None
        item = lh.wait_until(settled, timeout=90, message="the inline file to be processed")
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual((item["slots"][0]["width"], item["slots"][0]["height"]), (40, 30), item)
        self.assertTrue(self.stored_files())   # where the refusals below must leave nothing

    def test_bad_and_oversized_inline_files_write_nothing(self):
        good = base64.b64encode(png()).decode()
        big = base64.b64encode(png(160, 120) + b"\0" * 21000).decode()   # over 20 KiB decoded
        for slots, status, field in [
            ([{"name": "0", "type": "image", "file": {"base64": "not base64!"}}], 422,
             "data.items[0].slots[0].file.base64"),
            ([{"name": "0", "type": "image", "file": {"base64": good}},
              {"name": "1", "type": "image", "file": {"base64": good[:-1]}}], 422,
             "data.items[0].slots[1].file.base64"),
            ([{"name": "0", "type": "image", "file": {"base64": big}}], 413, "data.items[0].slots[0].file.base64"),
            ([{"name": "0", "type": "image", "file": {}}], 422, "data.items[0].slots[0].file.base64"),
            ([{"name": "0", "type": "image", "file": {"base64": good, "content_type": "image/png\r\nX: y"}}], 422,
             "data.items[0].slots[0].file.content_type"),
            ([{"name": "0", "type": "image", "file": {"base64": good}, "url": "http://127.0.0.2/x.png"}], 422,
             "data.items[0].slots[0].url"),
        ]:
            body = self.assertProblem(self.push([{"name": "x.png", "slots": slots}]), status, field)
            if status == 413:
                self.assertIn("integration_inline_max", json.dumps(body))
        # the first item's file is stored before the second item is refused (its name is taken):
        # the stored file is removed again with the rolled-back transaction
        one = {"name": "d.png", "slots": [{"name": "0", "type": "image", "file": {"base64": good}}]}
        self.assertProblem(self.push([one, one]), 409, "data.items[1].name")
        self.assert_nothing_written()


if __name__ == "__main__":
    unittest.main()
