"""Two louped nodes started at once against an empty database: one applies every migration, the
other waits on the migration lock and finds nothing left to do; both serve."""
import glob
import os
import unittest

import cluster_lib as cl
from cluster_lib import lh

cl.require_cluster()


class MigrateOnceTest(cl.ClusterTestCase):
    def test_two_nodes_on_an_empty_database_migrate_once(self):
        versions = sorted(int(os.path.basename(p)[:4]) for p in glob.glob(os.path.join(lh.SOURCE_DIR, "migrations", "[0-9]*.sql")))
        self.assertTrue(versions)
        self.start_cluster(bootstrap=False, workers=0)  # both louped start together, unmigrated
        applied = [int(v) for v, in self.query("SELECT version FROM schema_migrations ORDER BY version")]
        self.assertEqual(applied, versions)
        per_node = [d.log().count("applied migration ") for d in self.nodes]
        self.assertEqual(sorted(per_node), [0, len(versions)], "migrations applied per node: %s" % per_node)
        c = self.lb.client()
        for _ in range(4):
            self.assertEqual(c.get("/readyz").status, 200)


if __name__ == "__main__":
    unittest.main()
