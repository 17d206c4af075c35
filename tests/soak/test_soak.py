"""The soak: louped and two workers under mixed load for a while — wrk on reads (the item list and
single items), annotation batches, uploads (each a media job) and echo jobs — with a line every
interval: requests, errors, p50/p99 latency of the reads and of the writes, and the RSS of louped
and of each worker. Asserts 0 errors (no non-2xx answer, no socket error, no failed job) and RSS
growth under 5 % from the end of the warm-up to the end.

Duration: LOUPE_SOAK_SECONDS, else LOUPE_SOAK_DEFAULT_SECONDS (180 under ctest), else 1800."""
# ctest-timeout: 2700

import os
import re
import subprocess
import time
import unittest

import loupe_harness as lh
import load_testlib as lt
import media_testlib as mt

lh.require_services(binaries=("louped", "loupe-worker"))
mt.require_tools("ffmpeg", "wrk", purpose="to make the upload image and to load the reads")

DURATION = int(os.environ.get("LOUPE_SOAK_SECONDS") or os.environ.get("LOUPE_SOAK_DEFAULT_SECONDS") or 1800)
INTERVAL = 10 if DURATION <= 300 else 30
WARMUP = min(max(DURATION // 3, 30), 300)
RSS_GROWTH_MAX = 0.05
ITEMS = 500
LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reads.lua")


def wrk(url, seconds, api_key, paths):
    """One wrk run: {"requests", "errors", "p50_ms", "p99_ms"}."""
    env = dict(os.environ, SOAK_API_KEY=api_key, SOAK_PATHS=" ".join(paths))
    out = subprocess.run(["wrk", "-t1", "-c2", "-d%ds" % seconds, "--timeout", "10s", "--latency", "-s", LUA, url],
                         capture_output=True, text=True, env=env, timeout=seconds + 60).stdout

    def ms(label):
        m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\b" % label, out, re.M)
        if not m:
            return 0.0
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    m = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(g) for g in sock.groups()) if sock else 0)
    if not m:
        raise AssertionError("wrk printed no summary:\n" + out)
    return {"requests": int(m.group(1)), "errors": errors, "p50_ms": ms("50"), "p99_ms": ms("99")}


class SoakTest(lh.LoupeTestCase):
    def test_soak(self):
        self.start_team({"http_threads": "2", "db_pool_size": "6", "log_level": "info"})
        workers = self.start_workers(2, {"log_level": "info"})
        c = self.c
        r = c.post("/api/v1/datasets", json={"name": "soak"})
        self.assertEqual(r.status, 201, r.text)
        ds = r.json()["id"]
        self.psql("INSERT INTO items (team_id, dataset_id, name) SELECT '%s', '%s', 'i' || g || '.jpg' "
                  "FROM generate_series(1, %d) g" % (self.team, ds, ITEMS))
        self.psql("INSERT INTO slots (item_id, name, type, width, height, position) SELECT id, '0', 'image', 640, 480, 0 "
                  "FROM items WHERE dataset_id = '%s'" % ds)
        ids = [row[0] for row in self.query("SELECT id FROM items WHERE dataset_id = '%s' ORDER BY id LIMIT 20" % ds)]
        r = c.post("/api/v1/classes", json={"name": "thing", "annotation_types": ["bounding_box"]})
        self.assertEqual(r.status, 201, r.text)
        cls = r.json()["id"]
        with open(mt.two_band_jpeg(os.path.join(self.sandbox.work_dir, "s.jpg"), 64, 48), "rb") as f:
            jpeg = f.read()
        paths = ["/api/v1/items?dataset_id=%s&page%%5Bsize%%5D=50" % ds] + ["/api/v1/items/" + i for i in ids]

        previous = {}   # per annotating thread: the ids of its last batch, deleted by the next

        def write(client, n):
            kind = n % 4
            if kind in (0, 1):   # an annotation batch: five boxes in, the last five out
                item = ids[n % len(ids)]
                body = {"create": [{"class_id": cls, "bounding_box": {"x": k, "y": k, "w": 10, "h": 10}}
                                   for k in range(5)], "delete": previous.pop(item, [])}
                r = client.post("/api/v1/items/%s/annotations/batch" % item, json=body)
                if r.status == 200:
                    previous[item] = r.json()["created"]
                return "annotations", r, None
            if kind == 2:        # an upload (a media.normalize job)
                r = client.post("/api/v1/datasets/%s/items" % ds, json={"name": "u%d.jpg" % n,
                                                                        "slots": [{"name": "0", "type": "image"}]})
                if r.status != 201:
                    return "upload", r, None
                r = client.put("/api/v1/items/%s/slots/0/file" % r.json()["id"], data=jpeg,
                               headers={"Content-Type": "image/jpeg"})
                return "upload", r, None
            r = client.post("/api/v1/system/echo", json={"message": "soak %d" % n})
            return "job", r, None

        # the writes: one thread, one request at a time, paced (annotation batches on distinct
        # items per n, so two threads would race on `previous` — one thread keeps it simple)
        load = lt.Load(self.d.url, self.boot["api_key"], write, threads=1, pause=0.05).start()
        procs = [("louped", self.d)] + [("worker%d" % k, w) for k, w in enumerate(workers)]
        print("soak: %d s (warm-up %d s), a line every %d s; reads by wrk -c2 over the item list and %d items; "
              "writes: annotation batches, uploads, echo jobs" % (DURATION, WARMUP, INTERVAL, len(ids)), flush=True)
        print("%6s %9s %6s %8s %8s %7s %6s %8s %8s  %s" % (
            "t(s)", "reads", "r.err", "r.p50ms", "r.p99ms", "writes", "w.err", "w.p50ms", "w.p99ms",
            "  ".join("%s RSS(KiB)" % n for n, _ in procs)), flush=True)
        t0 = time.monotonic()
        samples, totals = [], {"reads": 0, "read_errors": 0, "writes": 0, "write_errors": 0}
        seen = 0
        try:
            while time.monotonic() - t0 < DURATION:
                rd = wrk(self.d.url, INTERVAL, self.boot["api_key"], paths)
                recs = load.snapshot()
                window, seen = recs[seen:], len(recs)
                lat = [(r.ended - r.started) * 1000 for r in window]
                werr = [r for r in window if not r.ok()]
                rss = [lt.rss_kib(p.pid) for _, p in procs]
                t = time.monotonic() - t0
                samples.append((t, rss))
                totals["reads"] += rd["requests"]
                totals["read_errors"] += rd["errors"]
                totals["writes"] += len(window)
                totals["write_errors"] += len(werr)
                print("%6.0f %9d %6d %8.2f %8.2f %7d %6d %8.2f %8.2f  %s" % (
                    t, rd["requests"], rd["errors"], rd["p50_ms"], rd["p99_ms"], len(window), len(werr),
                    lt.percentile(lat, 50), lt.percentile(lat, 99), "  ".join("%17d" % v for v in rss)), flush=True)
                if werr:
                    print("  write errors: %r" % werr[:3], flush=True)
        finally:
            load.stop()

        lh.wait_until(lambda: self.query("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
                      == [["0"]], timeout=120, interval=0.5, message="the jobs of the soak to finish")
        failed_jobs = int(self.query("SELECT count(*) FROM jobs WHERE status <> 'succeeded'")[0][0])
        jobs = int(self.query("SELECT count(*) FROM jobs")[0][0])
        base = next(rss for t, rss in samples if t >= WARMUP)
        end = samples[-1][1]
        growth = [(e - b) / float(b) for b, e in zip(base, end)]
        print("soak summary: %d s; reads %d (%d errors); writes %d (%d errors); jobs %d (%d not succeeded); "
              "RSS after the warm-up → at the end: %s" % (
                  samples[-1][0], totals["reads"], totals["read_errors"], totals["writes"], totals["write_errors"],
                  jobs, failed_jobs, ", ".join("%s %d → %d KiB (%+.1f %%)" % (n, b, e, 100 * g) for (n, _), b, e, g
                                               in zip(procs, base, end, growth))), flush=True)
        self.assertEqual((totals["read_errors"], totals["write_errors"], failed_jobs), (0, 0, 0))
        self.assertGreater(totals["reads"], 0)
        self.assertGreater(jobs, 0)
        for (name, _), g in zip(procs, growth):
            self.assertLess(g, RSS_GROWTH_MAX, "%s grew %.1f %% after the warm-up" % (name, 100 * g))
        self.assertTrue(self.d.alive() and all(w.alive() for w in workers))


if __name__ == "__main__":
    unittest.main()
