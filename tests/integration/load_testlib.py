"""Load for the fault suite and the soak: threads that repeat a request and record every answer.

    load = Load(daemon.url, api_key, threads=4, step=lambda c, n: c.post(...))
    load.start(); ...; load.stop()
    load.records        every answer: Record(op, started, ended, status, retry_after, content_type, body, error)

step(client, n) makes one request with its own lh.HttpClient and returns (op, response, key):
`op` names the kind of request, `key` is what a 2xx answer acknowledged (e.g. the id written),
or None. A connection error is recorded with status 0 and the error's text, never raised.
The clients do not check answers against docs/openapi.yaml: a 503 that a database outage gives
on any route is what these tests count, whether or not the route documents it."""

import threading
import time

import loupe_harness as lh


class Record:
    __slots__ = ("op", "started", "ended", "status", "retry_after", "content_type", "body", "key", "error")

    def __init__(self, op, started, ended, status, retry_after=None, content_type="", body=b"", key=None,
                 error=None):
        self.op, self.started, self.ended, self.status = op, started, ended, status
        self.retry_after, self.content_type, self.body, self.key, self.error = (
            retry_after, content_type, body, key, error)

    def ok(self):
        return 200 <= self.status < 300

    def __repr__(self):
        return "<%s %d %s %s>" % (self.op, self.status, self.error or "", self.body[:160])


class Load:
    def __init__(self, base_url, api_key, step, threads=4, pause=0.0, timeout=30.0):
        self.base_url, self.api_key, self.step = base_url, api_key, step
        self.nthreads, self.pause, self.timeout = threads, pause, timeout
        self.records = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._n = 0

    def _next(self):
        with self._lock:
            self._n += 1
            return self._n

    def _run(self):
        client = lh.HttpClient(self.base_url, api_key=self.api_key, timeout=self.timeout, openapi_check=False)
        while not self._stop.is_set():
            n = self._next()
            t0 = time.monotonic()
            try:
                op, r, key = self.step(client, n)
                rec = Record(op, t0, time.monotonic(), r.status, r.header("Retry-After"), r.content_type, r.body,
                             key if 200 <= r.status < 300 else None)
            except Exception as e:  # a connection error is a result to count, not a crash
                rec = Record("?", t0, time.monotonic(), 0, error="%s: %s" % (type(e).__name__, e))
            with self._lock:
                self.records.append(rec)
            if self.pause:
                self._stop.wait(self.pause)

    def start(self):
        for _ in range(self.nthreads):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.timeout + 5)
        return self.records

    def snapshot(self):
        with self._lock:
            return list(self.records)


def count_by_status(records):
    """{status: count}, connection errors under 0."""
    out = {}
    for r in records:
        out[r.status] = out.get(r.status, 0) + 1
    return dict(sorted(out.items()))


def percentile(values, p):
    """The p-th percentile (0..100) of values by the nearest-rank method; 0.0 for none."""
    if not values:
        return 0.0
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def rss_kib(pid):
    """The resident set size of a process in KiB (VmRSS from /proc), or 0 when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
