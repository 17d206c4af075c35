"""Backups and upgrades (docs/OPERATIONS.md, "Backups" and "Upgrades").

- pg_dump of a live instance while clients write, then a copy of its storage directory (the
  database first, then the files), restored into a fresh PostgreSQL cluster: a louped started on
  the restored database and the copied files serves the same items, annotations and files.
- A rolling upgrade: node A keeps serving reads and writes while another process applies the next
  release's migration to the database it runs on. The test cannot hold a second, older build of
  louped, so the "newer release" is the schema side of one: a migration recorded in
  schema_migrations the way `louped migrate` of that release records it, written by the rules
  every migration follows across one release (additive: a new nullable column, a new table, an
  index built CONCURRENTLY; nothing renamed, dropped or rewritten). Node A, now the older binary
  against a newer schema, keeps working, warns once it restarts, and a node B started during
  the upgrade migrates nothing twice."""

# ctest-timeout: 500

import os
import shutil
import subprocess
import threading
import unittest

import loupe_harness as lh
import media_testlib as mt
import pg_testlib as pg

lh.require_services(("louped", "loupe-worker"))

BOX = {"bounding_box": {"x": 1, "y": 2, "w": 10, "h": 20}}


FILES = ("original", "thumbnail", "preview", "sprite", "peaks", "volume", "label", "macro")


def storage_keys(value, out):
    """Every storage key named in a slot's storage document: the string members naming its files
    (original, thumbnail, …) and members named *key."""
    if isinstance(value, dict):
        for k, v in value.items():
            if (k in FILES or k.endswith("key")) and isinstance(v, str) and v:
                out.add(v)
            else:
                storage_keys(v, out)
    elif isinstance(value, list):
        for v in value:
            storage_keys(v, out)
    return out


class Writer(threading.Thread):
    """Creates items with two annotations each until stopped, as clients would."""

    def __init__(self, client, ds, cls):
        super().__init__(daemon=True)
        self.client, self.ds, self.cls = client, ds, cls
        self.stop = threading.Event()
        self.created, self.failures = [], []

    def run(self):
        k = 0
        while not self.stop.is_set():
            k += 1
            r = self.client.post("/api/v1/datasets/%s/items" % self.ds,
                                 json={"name": "w%05d.jpg" % k, "slots": [{"name": "0", "type": "image", "width": 64,
                                                                            "height": 48}]})
            if r.status != 201:
                self.failures.append((r.status, r.text))
                continue
            item = r.json()["id"]
            r = self.client.post("/api/v1/items/%s/annotations/batch" % item,
                                 json={"create": [dict(BOX, class_id=self.cls), dict(BOX, class_id=self.cls)]})
            if r.status != 200:
                self.failures.append((r.status, r.text))
            self.created.append(item)


class BackupCase(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team()
        r = self.c.post("/api/v1/datasets", json={"name": "Kept"})
        self.assertEqual(r.status, 201, r.text)
        self.ds = r.json()["id"]
        r = self.c.post("/api/v1/classes", json={"name": "car", "annotation_types": ["bounding_box"]})
        self.assertEqual(r.status, 201, r.text)
        self.cls = r.json()["id"]

    def client(self):
        return self.d.client(api_key=self.boot["api_key"])

    def items(self, client):
        got, path, query = {}, "/api/v1/items", {"dataset_id": self.ds, "page[size]": "200"}
        while path:
            r = client.get(path, query=query)
            self.assertEqual(r.status, 200, r.text)
            got.update({i["id"]: i["name"] for i in r.json()["items"]})
            path, query = r.json().get("next"), None
        return got

    def annotations(self, client, item):
        r = client.get("/api/v1/items/%s/annotations" % item)
        self.assertEqual(r.status, 200, r.text)
        return sorted(r.json()["annotations"], key=lambda a: a["id"])


class BackupRestoreTest(BackupCase):
    def test_dump_under_writes_restores_items_annotations_and_files(self):
        mt.require_tools("ffmpeg", purpose="to make the test images")
        pg.require_pg_tools("pg_dump", "pg_restore", "createdb")
        self.start_worker()
        uploaded = []
        for k in range(3):
            src = mt.two_band_jpeg(os.path.join(self.sandbox.work_dir, "u%d.jpg" % k), 64 + 8 * k, 48)
            r = self.c.post("/api/v1/datasets/%s/items" % self.ds,
                            json={"name": "u%d.jpg" % k, "slots": [{"name": "0", "type": "image"}]})
            self.assertEqual(r.status, 201, r.text)
            item = r.json()["id"]
            with open(src, "rb") as f:
                r = self.c.put("/api/v1/items/%s/slots/0/file" % item, data=f.read(),
                               headers={"Content-Type": "image/jpeg"})
            self.assertEqual(r.status, 202, r.text)
            uploaded.append(item)
        for item in uploaded:
            lh.wait_until(lambda: self.c.get("/api/v1/items/" + item).json()["status"] == "ready", timeout=120,
                          interval=0.2, message="upload %s" % item)
            r = self.c.post("/api/v1/items/%s/annotations/batch" % item, json={"create": [dict(BOX, class_id=self.cls)]})
            self.assertEqual(r.status, 200, r.text)

        writer = Writer(self.client(), self.ds, self.cls)
        writer.start()
        self.addCleanup(writer.stop.set)
        lh.wait_until(lambda: len(writer.created) >= 10, timeout=60, message="writes before the dump")
        before_dump = set(writer.created) | set(uploaded)

        # 1. the database: one consistent snapshot, taken while the writer goes on
        dump = os.path.join(self.sandbox.work_dir, "loupe.dump")
        subprocess.run([pg.pg_bin("pg_dump"), "-h", "127.0.0.1", "-p", str(self.services.pg_port), "-U", "postgres",
                        "-Fc", "-f", dump, self.sandbox.name], check=True, timeout=120)
        # 2. then the files: every file the dump names was written before its row committed
        kept = os.path.join(self.sandbox.work_dir, "storage-backup")
        shutil.copytree(self.sandbox.storage_dir, kept, symlinks=True)
        during = len(writer.created)
        lh.wait_until(lambda: len(writer.created) >= during + 5, timeout=60, message="writes after the backup")
        writer.stop.set()
        writer.join(30)
        self.assertEqual(writer.failures, [])

        # restore into a fresh cluster
        fresh = pg.Cluster.init()
        self.addCleanup(fresh.remove)
        fresh.start()
        subprocess.run([pg.pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(fresh.port), "-U", "postgres", "restored"],
                       check=True, timeout=60)
        subprocess.run([pg.pg_bin("pg_restore"), "-h", "127.0.0.1", "-p", str(fresh.port), "-U", "postgres",
                        "--no-owner", "--exit-on-error", "-d", "restored", dump], check=True, timeout=300)
        vhost = self.sandbox.name + "_restored"
        self.services.create_vhost(vhost)
        self.addCleanup(self.services.delete_vhost, vhost)
        d2 = self.start_louped({"db_url": fresh.url("restored"), "amqp_url": self.services.amqp_url(vhost),
                                "storage_dir": kept})
        c2 = d2.client(api_key=self.boot["api_key"])

        # the same items: all written before the dump, none after the copy's end, same names
        original, restored = self.items(self.c), self.items(c2)
        self.assertLessEqual(before_dump, set(restored))
        self.assertLess(len(restored), len(original))
        for item, name in restored.items():
            self.assertEqual(original.get(item), name)
        # the same annotations, item by item (an item and its batch may straddle the snapshot:
        # an item restored without its annotations had them written after it)
        for item in restored:
            got = self.annotations(c2, item)
            if item in before_dump:
                self.assertEqual(got, self.annotations(self.c, item))
            else:
                self.assertIn(got, ([], self.annotations(self.c, item)))

        # every file the restored database names exists in the copied storage, and is served
        keys = set()
        for (doc,) in pg.psql(fresh.port, "SELECT storage::text FROM slots WHERE storage IS NOT NULL", "restored"):
            storage_keys(__import__("json").loads(doc), keys)
        self.assertGreaterEqual(len(keys), len(uploaded), keys)
        missing = [k for k in keys if not os.path.isfile(os.path.join(kept, k))]
        self.assertEqual(missing, [])
        for item in uploaded:
            for what in ("original", "thumbnail"):
                r = c2.get("/api/v1/items/%s/slots/0/%s" % (item, what))
                self.assertEqual(r.status, 302, r.text)
                got = mt.fetch(r.header("Location"))
                self.assertEqual(got.status, 200)
                r = self.c.get("/api/v1/items/%s/slots/0/%s" % (item, what))
                self.assertEqual(mt.fetch(r.header("Location")).body, got.body)


NEXT_RELEASE = [
    "BEGIN; "
    "ALTER TABLE items ADD COLUMN IF NOT EXISTS upgrade_probe text; "
    "CREATE TABLE IF NOT EXISTS upgrade_probe_notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), note text); "
    "INSERT INTO schema_migrations (version, name) VALUES (9001, 'upgrade_probe'); "
    "COMMIT",
    # an index on a big table, built without blocking writes (outside a transaction)
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_upgrade_probe_idx ON items (upgrade_probe)",
]


class RollingUpgradeTest(BackupCase):
    def test_node_keeps_serving_across_an_additive_migration(self):
        writer = Writer(self.client(), self.ds, self.cls)
        writer.start()
        self.addCleanup(writer.stop.set)
        lh.wait_until(lambda: len(writer.created) >= 5, timeout=60, message="traffic on node A")
        # the next release's migration, applied by another process while node A serves
        for step in NEXT_RELEASE:
            self.psql(step)
        count = len(writer.created)
        lh.wait_until(lambda: len(writer.created) >= count + 10, timeout=60, message="traffic after the migration")
        # node B of the new release starts during the upgrade: nothing left to apply, nothing twice
        b = self.start_louped()
        cb = b.client(api_key=self.boot["api_key"])
        self.assertEqual(self.query("SELECT count(*) FROM schema_migrations WHERE version = 9001"), [["1"]])
        r = cb.post("/api/v1/datasets/%s/items" % self.ds, json={"name": "from-b.jpg",
                                                                  "slots": [{"name": "0", "type": "image"}]})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(self.client().get("/api/v1/items/" + r.json()["id"]).status, 200)
        writer.stop.set()
        writer.join(30)
        self.assertEqual(writer.failures, [])
        # node A restarts on the newer schema: it says so, and serves
        self.d.stop()
        a = self.start_louped()
        self.assertTrue(any("newer than this build knows" in ln.get("msg", "") for ln in a.log_lines_json()), a.log())
        ca = a.client(api_key=self.boot["api_key"])
        names = self.items(ca)
        self.assertIn("from-b.jpg", names.values())
        for item in writer.created[-3:]:
            self.assertEqual(len(self.annotations(ca, item)), 2)


if __name__ == "__main__":
    unittest.main()
