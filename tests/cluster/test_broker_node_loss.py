"""A RabbitMQ node killed with kill -9 while jobs flow loses none: the quorum queues elect a new
leader, louped's relays and the workers reconnect to the other nodes listed in amqp_url, and
every job is done, once."""
import threading
import unittest

import cluster_lib as cl
from cluster_lib import lh

cl.require_cluster()

JOBS = 150


class BrokerNodeLossTest(cl.ClusterTestCase):
    def test_leader_node_killed_mid_flow_loses_no_job(self):
        self.start_cluster()
        vhost = self.sandbox.name
        lh.wait_until(lambda: self.services.queues(vhost).get("loupe.system", {}).get("consumers") == 2,
                      timeout=60, interval=0.2, message="both workers to consume loupe.system")
        leader = self.services.queue_leader(vhost, "loupe.system")
        names = [n["name"] for n in self.services.nodes]
        self.assertIn(leader, names)
        victim = names.index(leader) + 1

        ids, errors = [], []
        third = threading.Event()

        def enqueue():
            try:
                c = self.lb.client(api_key=self.boot["api_key"])
                for i in range(JOBS):
                    ids.extend(self.echo_jobs(1, client=c, sleep_ms=10))
                    if i == JOBS // 3:
                        third.set()
            except AssertionError as e:
                errors.append(str(e))
            finally:
                third.set()
        t = threading.Thread(target=enqueue)
        t.start()
        third.wait(120)
        self.services.kill_node(victim)
        self.addCleanup(self.services.start_node, victim)
        t.join()
        self.assertEqual(errors, [])
        self.wait_jobs_done(JOBS, timeout=180)

        succeeded = self.job_log_counts("succeeded")
        self.assertEqual(sorted(succeeded), sorted(ids))
        self.assertEqual({n for n in succeeded.values()}, {1}, "a job's result was stored more than once")
        self.assertEqual(self.query("SELECT count(*) FROM outbox WHERE published_at IS NULL"), [["0"]])
        # Everything still runs, on the surviving nodes.
        for p in self.nodes + self.workers:
            self.assertTrue(p.alive(), p.name)
        self.assertNotEqual(self.services.queue_leader(vhost, "loupe.system"), leader)


if __name__ == "__main__":
    unittest.main()
