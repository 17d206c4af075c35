"""The cluster test harness: Loupe as it runs in production, on loopback.

Built on tests/integration/loupe_harness.py. Every test gets its own database and vhost on the
services that ctest's fixture cluster/services-start started (`scripts/services.sh start DIR
--fast --amqp-nodes 3`: one PostgreSQL and a 3-node RabbitMQ cluster), and start_cluster() adds:

    s3rver            S3-compatible storage (lh.S3rver)
    louped × 2        both on the same database, storage and RabbitMQ cluster (amqp_url lists
                      the three nodes), each running its outbox relay
    HAProxy           round-robin over the louped nodes, health-checked on /readyz, retrying a
                      request whose connection to a node failed on the other one (redispatch)
    loupe-worker × 2  consuming the same quorum queues

Environment: as loupe_harness (LOUPE_TEST_SERVICES names the cluster's services directory).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import loupe_harness as lh  # noqa: E402


def require_cluster():
    """Skips the file unless the cluster services, louped, loupe-worker and haproxy are there."""
    lh.require_services(("louped", "loupe-worker"))
    svc = ClusterServices.from_env()
    if svc is None or len(svc.nodes) < 2:
        lh.skip_file("LOUPE_TEST_SERVICES does not name a RabbitMQ cluster (scripts/services.sh start DIR "
                     "--fast --amqp-nodes 3)")
    if not shutil.which("haproxy"):
        lh.skip_file("haproxy is not installed (apt-get install haproxy, or make deps)")


class ClusterServices(lh.Services):
    """PostgreSQL and a RabbitMQ cluster started by scripts/services.sh --amqp-nodes N."""

    def __init__(self, path):
        super().__init__(path)
        self.nodes = self.info.get("amqp_nodes") or []

    def amqp_url(self, vhost=None):
        """Every node's URL, comma-separated (amqp_url of louped and loupe-worker)."""
        suffix = "" if vhost is None else "/" + lh.urllib.parse.quote(vhost, safe="")
        return ",".join(n["url"] + suffix for n in self.nodes)

    def node_pid(self, k):
        """PID of RabbitMQ node k (1-based), or None when it is not running."""
        try:
            with open(self.nodes[k - 1]["pid_file"]) as f:
                pid = int("".join(ch for ch in f.read() if ch.isdigit()))
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def kill_node(self, k):
        """kill -9 of RabbitMQ node k; returns once the process is gone."""
        pid = self.node_pid(k)
        if pid is None:
            raise AssertionError("RabbitMQ node %d is not running" % k)
        os.kill(pid, signal.SIGKILL)
        lh.wait_until(lambda: not lh.port_open(self.nodes[k - 1]["port"]), timeout=30,
                      message="RabbitMQ node %d to go away" % k)

    def start_node(self, k):
        """Starts RabbitMQ node k again (it rejoins the cluster)."""
        proc = subprocess.run([os.path.join(lh.SOURCE_DIR, "scripts", "services.sh"), "amqp-start", self.dir,
                               "--node", str(k)], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError("services.sh amqp-start --node %d failed:\n%s%s" % (k, proc.stdout, proc.stderr))

    def queue_leader(self, vhost, queue):
        """The node name leading a quorum queue ("loupe2@localhost")."""
        for k in range(1, len(self.nodes) + 1):
            if self.node_pid(k) is None:
                continue
            proc = self.rabbitmqctl("list_queues", "-p", vhost, "name", "leader", "--formatter", "json", node=k)
            for row in json.loads(proc.stdout.strip() or "[]"):
                if row.get("name") == queue:
                    return row.get("leader")
        return None

    def rabbitmqctl(self, *args, check=True, timeout=120, node=1):
        env = dict(os.environ)
        n = self.nodes[node - 1] if self.nodes else None
        env.update(n["rabbitmqctl_env"] if n else self.info["rabbitmqctl_env"])
        argv = list(n["rabbitmqctl"] if n else self.info["rabbitmqctl"]) + ["-q"] + [str(a) for a in args]
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError("rabbitmqctl %s failed (%d): %s%s" % (
                " ".join(map(str, args)), proc.returncode, proc.stdout.strip(), proc.stderr.strip()))
        return proc


class HAProxy(lh.Process):
    """HAProxy in front of louped nodes: round-robin, /readyz health checks every 500 ms (out of
    rotation after 3 failures in a row, so that the second it takes a node to reconnect to
    another broker node does not take it out; back after 2 successes), and a request whose connection to a node fails is
    sent to another node (retries 3, option redispatch). Nothing that reached a node is replayed:
    that is the client's call (idempotent methods, Idempotency-Key)."""

    def __init__(self, sandbox, ports, name="haproxy"):
        self.port = lh.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        cfg = os.path.join(sandbox.work_dir, name + ".cfg")
        with open(cfg, "w") as f:
            f.write(haproxy_config(self.port, ports))
        super().__init__(name, ["haproxy", "-db", "-f", cfg], dict(os.environ),
                         os.path.join(sandbox.work_dir, name + ".log"), sandbox.work_dir)
        sandbox.processes.append(self)
        lh.wait_until(lambda: lh.port_open(self.port) or not self.alive(), timeout=20, message="haproxy to listen")
        if not self.alive():
            raise AssertionError("haproxy exited; log:\n" + self.log())

    def client(self, **kw):
        return lh.HttpClient(self.url, **kw)


def haproxy_config(port, ports, http_reuse="safe"):
    """The HAProxy configuration the tests and bench/cluster_bench.sh use (docs/OPERATIONS.md,
    "Scaling", shows the same for production)."""
    servers = "".join("    server n%d 127.0.0.1:%d\n" % (i + 1, p) for i, p in enumerate(ports))
    return """global
    maxconn 4096
    log stdout format raw local0 warning

defaults
    mode http
    log global
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    retry-on conn-failure
    option redispatch 1
    http-reuse %s

frontend loupe
    bind 127.0.0.1:%d
    default_backend louped

backend louped
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server check inter 500ms fall 3 rise 2
%s""" % (http_reuse, port, servers)


class ClusterTestCase(lh.LoupeTestCase):
    """A LoupeTestCase whose sandbox lives on the cluster services."""

    def setUp(self):
        unittest.TestCase.setUp(self)
        svc = ClusterServices.from_env()
        if svc is None:
            lh.skip(lh.services_problem() or "no cluster services")
        self.sandbox = lh.Sandbox(self.id(), services=svc)
        self.addCleanup(self.sandbox.close)

    def start_cluster(self, nodes=2, workers=2, settings=None, bootstrap=True):
        """s3rver, `nodes` louped, HAProxy and `workers` loupe-worker (module docstring). Sets
        self.s3, self.nodes, self.lb, self.workers, self.settings; with bootstrap, also self.boot
        and self.c (a client of the owner's API key through HAProxy)."""
        self.s3 = lh.S3rver(self.sandbox.work_dir)
        self.sandbox.processes.append(self.s3)
        self.settings = dict(self.s3.settings())
        self.settings.update(settings or {})
        if bootstrap:
            self.boot = self.bootstrap(settings=self.settings)
        self.nodes = [self.start_louped(self.settings, wait=False) for _ in range(nodes)]
        lh.wait_all_healthy(self.nodes, 60)
        for d in self.nodes:  # ready: the relay reached RabbitMQ (HAProxy's health check)
            c = d.client(timeout=5)
            lh.wait_until(lambda: c.get("/readyz").status == 200, timeout=60, interval=0.1,
                          message="louped on port %d to be ready" % d.port)
        self.lb = HAProxy(self.sandbox, [d.port for d in self.nodes])
        self.workers = self.start_workers(workers, self.settings)
        if bootstrap:
            self.c = self.lb.client(api_key=self.boot["api_key"])
        return self.lb

    def echo_jobs(self, count, client=None, sleep_ms=0):
        """Enqueues `count` system.echo jobs; returns their ids."""
        ids = []
        for i in range(count):
            r = (client or self.c).post("/api/v1/system/echo", json={"message": "m%d" % i, "sleep_ms": sleep_ms})
            self.assertEqual(r.status, 202, r.text)
            ids.append(r.json()["id"])
        return ids

    def wait_jobs_done(self, count, timeout=120):
        def done():
            rows = self.query("SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*) FROM jobs "
                              "WHERE kind = 'system.echo'")
            return int(rows[0][0]) == count == int(rows[0][1])
        lh.wait_until(done, timeout=timeout, interval=0.2, message="%d echo jobs to succeed" % count)

    def job_log_counts(self, what):
        """{job id: how many times the workers' logs say `what` ("started", "succeeded") of it}."""
        pattern = {"started": r"job ([0-9a-f-]{36}) \(system\.echo\) attempt \d+ of \d+ started",
                   "succeeded": r"job ([0-9a-f-]{36}) \(system\.echo\) succeeded on attempt"}[what]
        counts = {}
        for w in self.workers:
            for m in re.finditer(pattern, w.log()):
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts


def metric(client, name):
    """The value of an unlabelled Prometheus metric from a node's /metrics."""
    r = client.get("/metrics", headers=lh.metrics_headers())
    if r.status != 200:
        raise AssertionError("/metrics answered %d: %s" % (r.status, r.text[:300]))
    m = re.search(r"^%s (\S+)$" % re.escape(name), r.text, re.M)
    if not m:
        raise AssertionError("/metrics has no %s" % name)
    return float(m.group(1))
