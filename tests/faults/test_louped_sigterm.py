"""SIGTERM of louped during uploads and long reads: the requests in flight finish (every upload
is answered 202 and stored whole, every download arrives whole), louped exits 0 within its
shutdown_grace, no half-written object is ever visible in the storage directory, and the
restarted louped finds nothing to repair (no pending upload, no slot left uploading, no temporary
file, every stored upload's object whole)."""
# ctest-timeout: 300

import hashlib
import http.client
import os
import signal
import threading
import time
import unittest
import urllib.parse

import loupe_harness as lh
import media_testlib as mt

lh.require_services()

UPLOADS = 3
READS = 3
SIZE = 2 * 1024 * 1024
CHUNK = 64 * 1024
PACE_S = 0.04     # between chunks: each transfer takes about 1.3 s


def slow_upload(url, api_key, path, data, out):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.putrequest("PUT", path)
        conn.putheader("Authorization", "ApiKey " + api_key)
        conn.putheader("Content-Type", "image/jpeg")
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders()
        for i in range(0, len(data), CHUNK):
            conn.send(data[i:i + CHUNK])
            time.sleep(PACE_S)
        r = conn.getresponse()
        out.append((r.status, r.read()))
    except Exception as e:
        out.append((0, repr(e).encode()))
    finally:
        conn.close()


def slow_read(url, out):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.request("GET", u.path + ("?" + u.query if u.query else ""))
        r = conn.getresponse()
        got = []
        while True:
            b = r.read(CHUNK)
            if not b:
                break
            got.append(b)
            time.sleep(PACE_S)
        out.append((r.status, b"".join(got)))
    except Exception as e:
        out.append((0, repr(e).encode()))
    finally:
        conn.close()


def storage_state(root):
    """(temporary files, {original key: size}) under the storage directory."""
    tmp, objects = [], {}
    for d, _, names in os.walk(root):
        for n in names:
            rel = os.path.relpath(os.path.join(d, n), root)
            if ".tmp-" in n:
                tmp.append(rel)
            elif rel.startswith("originals/") or "/originals/" in rel:
                objects[rel] = os.path.getsize(os.path.join(d, n))
    return tmp, objects


class SigtermTest(mt.MediaTestCase):
    def test_sigterm_during_uploads_and_reads(self):
        self.start_stack(settings={"shutdown_grace": "20s"}, workers=0)
        storage = self.sandbox.storage_dir
        big = os.urandom(SIZE)
        source = self.make_item("source.jpg")
        self.put_file(source, big, content_type="image/jpeg")
        r = self.client.get("/api/v1/items/%s/slots/0/original" % source)
        self.assertEqual(r.status, 302, r.text)
        read_url = r.header("Location")

        # watch the storage directory the whole time: an original must never be seen short
        seen_short, stop_watch = [], threading.Event()

        def watch():
            while not stop_watch.is_set():
                for key, size in storage_state(storage)[1].items():
                    if size != SIZE:
                        seen_short.append((key, size))
                time.sleep(0.01)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()

        items = [self.make_item("up%d.jpg" % i) for i in range(UPLOADS)]
        bodies = {i: os.urandom(SIZE) for i in items}
        uploads, reads, threads = [], [], []
        for i in items:
            threads.append(threading.Thread(target=slow_upload, args=(
                self.daemon.url, self.boot["api_key"], "/api/v1/items/%s/slots/0/file" % i, bodies[i], uploads)))
        for _ in range(READS):
            threads.append(threading.Thread(target=slow_read, args=(read_url, reads)))
        for t in threads:
            t.start()
        time.sleep(0.4)
        t_term = time.monotonic()
        self.daemon.signal(signal.SIGTERM)
        status = self.daemon.wait(timeout=30)
        t_exit = time.monotonic()
        for t in threads:
            t.join(timeout=60)
        stop_watch.set()
        watcher.join()

        self.assertEqual(status, 0, "louped should exit 0 on SIGTERM")
        self.assertEqual([s for s, _ in uploads], [202] * UPLOADS, uploads)
        self.assertEqual([(s, len(b)) for s, b in reads], [(200, SIZE)] * READS)
        self.assertTrue(all(b == big for _, b in reads))

        # the restart finds nothing to repair
        tmp, objects = storage_state(storage)
        self.daemon = self.start_louped({"shutdown_grace": "20s"})
        self.client = self.daemon.client(api_key=self.boot["api_key"])
        pending = self.query("SELECT count(*) FROM uploads WHERE state <> 'stored'")[0][0]
        uploading = self.query("SELECT count(*) FROM items WHERE status = 'uploading'")[0][0]
        stored = self.query("SELECT key, size, sha256 FROM uploads WHERE state = 'stored'")
        whole = 0
        for key, size, sha in stored:
            with open(os.path.join(storage, key), "rb") as f:
                data = f.read()
            whole += int(len(data) == int(size) and hashlib.sha256(data).hexdigest() == sha)
        unrecorded = set(objects) - {key for key, _, _ in stored}
        for i in items:
            _, got = self.follow("/api/v1/items/%s/slots/0/original" % i)
            self.assertEqual(got.body, bodies[i])
        print("louped SIGTERM during %d uploads and %d reads of %d MiB: exit %d %.2f s after the signal; "
              "uploads answered %s, reads whole %d/%d; short objects seen %d; after the restart: %d temporary "
              "files, %d uploads not stored, %d items uploading, %d/%d stored objects whole, %d objects unrecorded"
              % (UPLOADS, READS, SIZE >> 20, status, t_exit - t_term, sorted(s for s, _ in uploads),
                 sum(b == big for _, b in reads), READS, len(seen_short), len(tmp), int(pending), int(uploading),
                 whole, len(stored), len(unrecorded)))
        self.assertEqual(seen_short, [])
        self.assertEqual(tmp, [])
        self.assertEqual((pending, uploading), ("0", "0"))
        self.assertEqual(whole, len(stored))
        self.assertEqual(len(stored), UPLOADS + 1)
        self.assertEqual(unrecorded, set())


if __name__ == "__main__":
    unittest.main()
