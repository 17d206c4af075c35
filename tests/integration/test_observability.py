"""Observability end to end: W3C traceparent from an HTTP request into the job it creates and
the worker's log lines for that job; /metrics with the installation-wide gauges (outbox,
queue depths, jobs by kind, worker heartbeats, webhook deliveries) checked by
`promtool check metrics`; and the example alert rules and Grafana dashboard in docs/ checked
by `promtool check rules` and against the metric names a live node really exposes."""
# ctest-timeout: 300

import json
import os
import re
import shutil
import subprocess
import tempfile

import loupe_harness as lh

lh.require_services(binaries=("louped", "loupe-worker"))

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = "00-%s-00f067aa0ba902b7-01" % TRACE_ID
TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
RULES = os.path.join(lh.SOURCE_DIR, "docs", "prometheus", "loupe-rules.yml")
DASHBOARD = os.path.join(lh.SOURCE_DIR, "docs", "grafana", "loupe.json")
# PromQL words that look like metric names in an expression but are not.
PROMQL_WORDS = {"sum", "max", "min", "avg", "rate", "increase", "by", "without", "and", "or", "unless",
                "topk", "bottomk", "histogram_quantile", "le", "on", "ignoring", "group_left",
                "group_right", "count", "abs", "time", "bool", "offset", "up"}


def promtool():
    path = shutil.which("promtool")
    if not path:
        lh.skip("promtool is not installed (Debian package prometheus)")
    return path


def exposed_names(text):
    """Every sample name a scrape can hold: the families of its TYPE lines, with the
    _bucket/_sum/_count series of histograms."""
    names = set()
    for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M):
        name, kind = m.group(1), m.group(2)
        names.add(name)
        if kind == "histogram":
            names.update({name + "_bucket", name + "_sum", name + "_count"})
    return names


def referenced_names(expr):
    """The loupe_* metric names a PromQL expression reads (label values and strings aside)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # drop string literals (label values)
    return {w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr) if w.startswith("loupe_")}


class TraceTest(lh.LoupeTestCase):
    def test_traceparent_reaches_the_job_and_the_worker_log(self):
        boot = self.bootstrap()
        d = self.start_louped()
        c = d.client(api_key=boot["api_key"])
        w = self.start_worker()

        # fails once: its retry goes through a retry queue and must keep the trace
        r = c.post("/api/v1/system/echo", json={"message": "traced", "fail_times": 1},
                   headers={"traceparent": TRACEPARENT})
        self.assertEqual(r.status, 202, r.text)
        m = TRACEPARENT_RE.match(r.header("traceparent") or "")
        self.assertIsNotNone(m, r.header("traceparent"))
        self.assertEqual(m.group(1), TRACE_ID)               # the caller's trace goes on
        self.assertNotEqual(m.group(2), "00f067aa0ba902b7")  # under a span of our own
        self.assertEqual(m.group(3), "01")                   # with the caller's flags
        job_id = r.json()["id"]

        # the job's message carries the trace
        body = json.loads(self.query("SELECT body::text FROM outbox WHERE body->>'job_id' = '%s'" % job_id)[0][0])
        self.assertEqual(body["traceparent"].split("-")[1], TRACE_ID)

        def done():
            j = c.get("/api/v1/jobs/" + job_id).json()
            return j if j["status"] in ("succeeded", "failed") else None
        self.assertEqual(lh.wait_until(done, timeout=60, message="the echo job")["status"], "succeeded")

        # louped's access log line of the request carries the trace id ...
        lh.wait_until(lambda: any(l.get("module") == "access" and l.get("route") == "POST /api/v1/system/echo"
                                  and l.get("trace_id") == TRACE_ID for l in d.log_lines_json()),
                      message="the access log line with the trace id")
        # ... and so do the worker's lines about the job
        job_lines = [l for l in w.log_lines_json() if l.get("request_id") == job_id]
        self.assertTrue(any("attempt 1 of" in l.get("msg", "") for l in job_lines), job_lines)
        self.assertTrue(any("attempt 2 of" in l.get("msg", "") for l in job_lines), job_lines)
        self.assertTrue(job_lines and all(l.get("trace_id") == TRACE_ID for l in job_lines), job_lines)

    def test_invalid_or_missing_traceparent_starts_a_new_trace(self):
        d = self.start_louped()
        c = d.client()
        seen = set()
        for headers in ({}, {"traceparent": "00-%s-00f067aa0ba902b7-01" % TRACE_ID.upper()},
                        {"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
                        {"traceparent": "ff-%s-00f067aa0ba902b7-01" % TRACE_ID},
                        {"traceparent": TRACEPARENT + "-extra"}):
            r = c.get("/healthz", headers=headers)
            self.assertEqual(r.status, 200)
            m = TRACEPARENT_RE.match(r.header("traceparent") or "")
            self.assertIsNotNone(m, (headers, r.header("traceparent")))
            self.assertNotEqual(m.group(1), TRACE_ID)
            self.assertNotEqual(m.group(1), "0" * 32)
            seen.add(m.group(1))
        self.assertEqual(len(seen), 5)  # a new trace each time
        # an error answer carries it too
        r = c.get("/api/v1/me", headers={"traceparent": TRACEPARENT})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("traceparent").split("-")[1], TRACE_ID)


class MetricsTest(lh.LoupeTestCase):
    def scrape(self, d):
        r = d.client().get("/metrics", headers=lh.metrics_headers())
        self.assertEqual(r.status, 200, r.text)
        return r.text

    def test_metrics_cover_the_installation_and_match_the_docs(self):
        boot = self.bootstrap()
        d = self.start_louped({"metrics_refresh": "500ms"})
        c = d.client(api_key=boot["api_key"])
        self.start_worker()
        r = c.post("/api/v1/system/echo", json={"message": "counted"})
        self.assertEqual(r.status, 202, r.text)
        job_id = r.json()["id"]
        lh.wait_until(lambda: c.get("/api/v1/jobs/" + job_id).json()["status"] == "succeeded", timeout=30,
                      message="the echo job")

        finished = 'loupe_jobs_finished_total{kind="system.echo",status="succeeded"} 1'
        # the finished-jobs window trails now() by a few seconds
        text = lh.wait_until(lambda: (lambda t: t if finished in t and "loupe_worker_busy{" in t else None)(
            self.scrape(d)), timeout=30, message="the finished job in /metrics")
        self.assertIn('loupe_job_duration_seconds_count{kind="system.echo",status="succeeded"} 1', text)
        self.assertIn('loupe_job_duration_seconds_bucket{kind="system.echo",status="succeeded",le="+Inf"} 1', text)
        self.assertRegex(text, r'loupe_queue_messages\{queue="loupe\.system",role="work"\} \d+')
        self.assertRegex(text, r'loupe_queue_messages\{queue="loupe\.system\.dead",role="dead"\} \d+')
        self.assertRegex(text, r'loupe_queue_consumers\{queue="loupe\.system"\} [1-9]')
        self.assertRegex(text, r'loupe_worker_last_seen_seconds\{worker="[^"]+"\} \d')
        self.assertIn('loupe_workers{state="live"} 1', text)
        self.assertIn("loupe_outbox_oldest_age_seconds 0", text)
        self.assertIn('loupe_webhook_deliveries{status="pending"} 0', text)
        self.assertIn('loupe_webhook_deliveries{status="delivered"} 0', text)
        self.assertIn("loupe_metrics_refresh_errors_total 0", text)
        self.assertRegex(text, r"loupe_metrics_refresh_age_seconds [0-9.]+\n")
        self.assertIn("loupe_db_pool_waits_total", text)
        self.assertIn("loupe_db_pool_wait_seconds_total", text)
        # the route pattern, never the raw path: bounded label values
        self.assertIn('route="GET /api/v1/jobs/{id}"', text)
        self.assertNotIn(job_id, text)

        with tempfile.NamedTemporaryFile("w", suffix=".prom", delete=False) as f:
            f.write(text)
        self.addCleanup(os.unlink, f.name)
        with open(f.name) as fin:
            p = subprocess.run([promtool(), "check", "metrics"], stdin=fin, capture_output=True, text=True)
        # a parse error, or a lint problem (naming, HELP, counters' _total): non-zero
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        names = exposed_names(text)
        with open(DASHBOARD) as fd:
            dashboard = json.load(fd)
        exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
        self.assertGreater(len(exprs), 10)
        with open(RULES) as fr:
            rules_text = fr.read()
        try:
            import yaml
            rules = yaml.safe_load(rules_text)
            exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
        except ImportError:
            exprs += re.findall(r"expr: *\|?\n?((?:.|\n)*?)(?=\n\s+(?:for|labels|annotations):)", rules_text)
        unknown = {}
        for e in exprs:
            refs = referenced_names(e)
            self.assertTrue(refs or "up{" in e, "the expression reads no loupe metric: " + e)
            for name in refs - names:
                unknown.setdefault(name, e)
        self.assertEqual(unknown, {}, "docs refer to metrics that /metrics does not expose")

    def test_rules_pass_promtool(self):
        p = subprocess.run([promtool(), "check", "rules", RULES], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SUCCESS", p.stdout)

    def test_queued_jobs_and_stale_workers(self):
        boot = self.bootstrap()
        d = self.start_louped({"metrics_refresh": "500ms", "worker_heartbeat": "1s"})
        c = d.client(api_key=boot["api_key"])
        r = c.post("/api/v1/system/echo", json={"message": "waits"})
        self.assertEqual(r.status, 202, r.text)
        # a worker that died without removing its row
        self.query("INSERT INTO workers (id, host, pid, queues, cpus, memory_bytes, version, started_at, last_seen_at)"
                   " VALUES ('gone\"host:1:1', 'gone', 1, '{system}', 1, 1, 'x', now(), now() - interval '1 hour')"
                   " RETURNING id")
        text = lh.wait_until(lambda: (lambda t: t if 'loupe_jobs{kind="system.echo",status="queued"} 1' in t
                                      and "gone" in t else None)(self.scrape(d)),
                             timeout=20, message="the queued job and the stale worker in /metrics")
        self.assertIn('loupe_workers{state="stale"} 1', text)
        self.assertRegex(text, r'loupe_worker_last_seen_seconds\{worker="gone\\"host:1:1"\} 3[56]\d\d')
        self.assertRegex(text, r'loupe_queue_messages\{queue="loupe\.system",role="work"\} 1\b')
        self.assertRegex(text, r'loupe_queue_consumers\{queue="loupe\.system"\} 0')
