"""Both nodes' outbox relays run against the RabbitMQ cluster, and every job reaches a worker and
is done exactly once: no outbox row is published twice, no job runs twice."""
import threading
import unittest

import cluster_lib as cl
from cluster_lib import lh

cl.require_cluster()

JOBS = 200


class JobsOnceTest(cl.ClusterTestCase):
    def test_two_relays_two_workers_each_job_done_once(self):
        self.start_cluster()
        lh.wait_until(lambda: self.services.queues(self.sandbox.name).get("loupe.system", {}).get("consumers") == 2,
                      timeout=60, interval=0.2, message="both workers to consume loupe.system")
        # Two clients at once through HAProxy: both nodes take writes, both relays see rows.
        ids, errors = [], []

        def enqueue(n):
            try:
                ids.extend(self.echo_jobs(n, client=self.lb.client(api_key=self.boot["api_key"])))
            except AssertionError as e:
                errors.append(str(e))
        threads = [threading.Thread(target=enqueue, args=(JOBS // 2,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(set(ids)), JOBS)
        self.wait_jobs_done(JOBS)

        self.assertEqual(self.query("SELECT count(*) FROM jobs WHERE attempts <> 1"), [["0"]])
        started, succeeded = self.job_log_counts("started"), self.job_log_counts("succeeded")
        self.assertEqual(sorted(started), sorted(ids))
        self.assertEqual(sorted(succeeded), sorted(ids))
        self.assertEqual({n for n in started.values()}, {1}, "a job started more than once")
        self.assertEqual({n for n in succeeded.values()}, {1}, "a job succeeded more than once")
        # Both workers took jobs.
        for w in self.workers:
            self.assertIn("(system.echo) attempt 1 of", w.log())
        # Both relays are connected, and together they published each row once.
        published = 0
        for d in self.nodes:
            c = d.client()
            self.assertEqual(cl.metric(c, "loupe_broker_up"), 1)
            published += cl.metric(c, "loupe_outbox_published_total")
        rows = self.query("SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM outbox")[0]
        self.assertGreaterEqual(int(rows[0]), JOBS)
        self.assertEqual((published, int(rows[1])), (int(rows[0]), 0))


if __name__ == "__main__":
    unittest.main()
