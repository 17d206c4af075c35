"""A read replica for lists (db_read_url): a real streaming replica of the test's primary, made
with pg_basebackup -R and started on another loopback port. Lists are served by the replica
(shown by pausing its replay: a list then misses what the primary has), reads of single objects
stay on the primary, exports read the replica too, and lists fall back to the primary while the replica is stopped."""

# ctest-timeout: 400

import unittest

import loupe_harness as lh
import pg_testlib as pg

lh.require_services(("louped", "loupe-worker"))


class ReplicaTest(lh.LoupeTestCase):
    def test_lists_from_the_replica_and_back_to_the_primary(self):
        primary = self.private_services()
        replica = pg.Cluster.replica_of(primary.pg_port)
        self.addCleanup(replica.remove)
        replica.start()
        self.assertEqual(replica.query("SELECT pg_is_in_recovery()"), [["t"]])
        db = self.sandbox.name
        self.start_team({"db_read_url": replica.url(db), "db_read_pool_size": "2"})
        c = self.c

        def names(ds):
            r = c.get("/api/v1/items", query={"dataset_id": ds, "page[size]": "100"})
            self.assertEqual(r.status, 200, r.text)
            return sorted(i["name"] for i in r.json()["items"])

        def add_item(ds, name):
            r = c.post("/api/v1/datasets/%s/items" % ds,
                       json={"name": name, "slots": [{"name": "0", "type": "image", "width": 64, "height": 48}]})
            self.assertEqual(r.status, 201, r.text)
            return r.json()["id"]

        r = c.post("/api/v1/datasets", json={"name": "Replicated"})
        self.assertEqual(r.status, 201, r.text)
        ds = r.json()["id"]
        add_item(ds, "a.jpg")
        pg.wait_replayed(primary.pg_port, replica, db)
        self.assertEqual(names(ds), ["a.jpg"])
        # the list ran on the replica: the node's read pool holds a session there
        sessions = replica.query("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' "
                                 "AND application_name = 'loupe'" % db)
        self.assertEqual(sessions, [["1"]])

        # with replay paused, the replica lags: lists miss the new item, single reads see it
        pg.pause_replay(replica)
        late = add_item(ds, "b.jpg")
        self.assertEqual(names(ds), ["a.jpg"])
        r = c.get("/api/v1/datasets", query={"page[size]": "100"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([x["id"] for x in r.json()["datasets"]], [ds])
        r = c.get("/api/v1/items/" + late)
        self.assertEqual(r.status, 200, r.text)
        replica.query("SELECT pg_wal_replay_resume()")
        pg.wait_replayed(primary.pg_port, replica, db)
        self.assertEqual(names(ds), ["a.jpg", "b.jpg"])

        # exports read the replica too: with replay paused, an export misses the newest item
        self.start_worker({"db_read_url": replica.url(db)})
        pg.pause_replay(replica)
        add_item(ds, "b2.jpg")
        self.assertEqual(pg.coco_export_names(self, c, ds), ["a.jpg", "b.jpg"])
        replica.query("SELECT pg_wal_replay_resume()")
        pg.wait_replayed(primary.pg_port, replica, db)
        self.assertEqual(pg.coco_export_names(self, c, ds), ["a.jpg", "b.jpg", "b2.jpg"])

        # the replica stops: lists fall back to the primary at once, with a warning
        replica.stop()
        add_item(ds, "c.jpg")
        self.assertEqual(names(ds), ["a.jpg", "b.jpg", "b2.jpg", "c.jpg"])
        self.assertEqual(names(ds), ["a.jpg", "b.jpg", "b2.jpg", "c.jpg"])
        self.assertTrue(any("optional database is unavailable" in ln.get("msg", "")
                            for ln in self.d.log_lines_json()), self.d.log())

        # back up: after the retry interval, lists read from the replica again
        replica.start()
        pg.wait_replayed(primary.pg_port, replica, db)
        pg.pause_replay(replica)
        add_item(ds, "d.jpg")

        def from_replica():
            return names(ds) == ["a.jpg", "b.jpg", "b2.jpg", "c.jpg"]
        lh.wait_until(from_replica, timeout=20, interval=0.5, message="lists served by the replica again")
        replica.query("SELECT pg_wal_replay_resume()")


if __name__ == "__main__":
    unittest.main()
