"""Upload flows and signed URLs. The flows every storage backend carries — direct PUT, presigned
PUT + confirm, objects already in the bucket — are one set of cases (UploadFlows) run against
the local backend (LocalUploadTest) and S3 through s3rver (S3UploadTest). What only the local
backend has: the /files route (Range, ETag, Cache-Control), URLs identical across nodes, expired
or tampered URLs refused; and a worker killed with SIGKILL mid-normalization."""
# ctest-timeout: 900
# ctest-fixtures: s3rver

import glob
import hashlib
import os
import time
import unittest
import urllib.parse

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg", "vipsheader", purpose="to make the test images")


class UploadCase(mt.MediaTestCase):
    def jpeg(self, name="up.jpg", w=120, h=80):
        with open(mt.two_band_jpeg(self.path(name), w, h), "rb") as f:
            return f.read()

    def start_presigned_upload(self, name):
        """Step one of a three-step upload of a JPEG: (item id, the upload answer, the bytes)."""
        data = self.jpeg()
        item_id = self.make_item(name)
        r = self.client.post("/api/v1/items/%s/slots/0/upload" % item_id, json={"content_type": "image/jpeg"})
        self.assertEqual(r.status, 201, r.text)
        up = r.json()
        self.assertEqual(up["method"], "PUT")
        return item_id, up, data


class UploadFlows:
    """The upload cases every storage backend must pass. A backend's class provides
    storage_settings(), url_prefix() (where its signed URLs for a key start, key appended) and
    put_object(key, data) (an object placed in the store behind Loupe's back)."""

    def test_direct_upload_then_original_thumbnail_and_replacement(self):
        self.start_stack(settings=self.storage_settings())
        data = self.jpeg()
        item_id, item = self.upload_and_wait("direct.jpg", data, content_type="image/jpeg")
        self.assertEqual(item["status"], "ready", item)
        loc, r = self.follow("/api/v1/items/%s/slots/0/original" % item_id, expect_prefix=self.url_prefix())
        self.assertEqual(r.body, data)
        _, r = self.follow("/api/v1/items/%s/slots/0/thumbnail" % item_id,
                           expect_prefix=self.url_prefix("derived/"))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body[:2], b"\xff\xd8")
        # a second upload replaces the original once processed; the item stays ready meanwhile
        data2 = self.jpeg("second.jpg", 90, 60)
        job2 = self.put_file(item_id, data2, content_type="image/jpeg").json()["job"]["id"]
        self.assertEqual(self.client.get("/api/v1/items/%s" % item_id).json()["status"], "ready")
        mt.wait(lambda: self.job(job2)["status"] == "succeeded", message="the second upload processed")
        item = self.wait_item(item_id)
        self.assertEqual((item["status"], item["slots"][0]["width"]), ("ready", 90), item)
        _, r = self.follow("/api/v1/items/%s/slots/0/original" % item_id)
        self.assertEqual(r.body, data2)
        rows = self.query("SELECT kind, state, size FROM uploads WHERE item_id = '%s' ORDER BY created_at" % item_id)
        self.assertEqual(rows, [["direct", "stored", str(len(data))], ["direct", "stored", str(len(data2))]])

    def test_presigned_upload_and_confirm(self):
        self.start_stack(settings=self.storage_settings())
        item_id, up, data = self.start_presigned_upload("three-steps.jpg")
        self.assertTrue(up["upload_url"].startswith(self.url_prefix("originals/")), up)
        self.assertProblem(self.client.post("/api/v1/items/%s/slots/0/confirm" % item_id), 409)
        r = mt.fetch(up["upload_url"], method="PUT", data=data, headers=up.get("headers") or {})
        self.assertEqual(r.status, 200, r.text)
        r = self.client.post("/api/v1/items/%s/slots/0/confirm" % item_id, json={"upload_id": up["upload_id"]})
        self.assertEqual(r.status, 202, r.text)
        item = self.wait_item(item_id)
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual(item["slots"][0]["width"], 120)
        _, r = self.follow("/api/v1/items/%s/slots/0/original" % item_id)
        self.assertEqual(r.body, data)

    def test_register_external_objects(self):
        self.start_stack(settings=self.storage_settings())
        data = self.jpeg()
        self.put_object("customer/cam1/a.jpg", data)
        url = "/api/v1/datasets/%s/items/register-external" % self.dataset_id
        r = self.client.post("/api/v1/storage-locations", json={"slug": "customer", "prefix": "customer/"})
        self.assertEqual(r.status, 201, r.text)
        self.assertProblem(self.client.post(url, json={"items": [{"name": "x.jpg", "slots": [
            {"name": "0", "type": "image", "key": "customer/cam1/missing.jpg"}]}]}), 422,
            field="items[0].slots[0].key")
        self.assertProblem(self.client.post(url, json={"items": [{"name": "x.jpg", "slots": [
            {"name": "0", "type": "image", "key": "../etc/passwd"}]}]}), 422, field="items[0].slots[0].key")
        self.assertProblem(self.client.post(url, json={"items": []}), 422, field="items")
        r = self.client.post(url, json={"items": [{"name": "a.jpg", "path": "/cam1", "slots": [
            {"name": "0", "type": "image", "key": "customer/cam1/a.jpg"}]}]})
        self.assertEqual(r.status, 202, r.text)
        item_id = r.json()["items"][0]["id"]
        item = self.wait_item(item_id)
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual(item["path"], "/cam1")
        _, r = self.follow("/api/v1/items/%s/slots/0/original" % item_id,
                           expect_prefix=self.url_prefix("customer/cam1/a.jpg?"))
        self.assertEqual(r.body, data)
        self.assertEqual(self.slot_media(item_id)["upload"]["kind"], "external")
        # registering the same name again conflicts
        r = self.client.post(url, json={"items": [{"name": "a.jpg", "path": "/cam1", "slots": [
            {"name": "0", "type": "image", "key": "customer/cam1/a.jpg"}]}]})
        self.assertProblem(r, 409)


class LocalUploadTest(UploadFlows, UploadCase):
    def storage_settings(self):
        return {}

    def url_prefix(self, key=""):
        return self.daemon.url + "/files/" + key

    def put_object(self, key, data):
        # the local backend keeps object KEY at storage_dir/KEY
        path = os.path.join(self.sandbox.storage_dir, *key.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def test_direct_upload_and_files_route(self):
        self.start_stack()
        data = self.jpeg()
        item_id = self.make_item("direct.jpg")
        slot = self.client.get("/api/v1/items/%s" % item_id).json()["slots"][0]
        self.assertEqual((slot["status"], slot["sha256"]), ("empty", None))
        r = self.put_file(item_id, data, content_type="image/jpeg")
        body = r.json()
        # the slot names its stored original's checksum at once, in the item and in the list
        listed = self.client.get("/api/v1/items", query={"dataset_id": self.dataset_id}).json()["items"]
        self.assertEqual([i["slots"][0]["sha256"] for i in listed if i["id"] == item_id],
                         [hashlib.sha256(data).hexdigest()])
        self.assertEqual(body["status"], "processing")
        self.assertEqual(body["upload"]["kind"], "direct")
        self.assertEqual(body["upload"]["size"], len(data))
        self.assertEqual(body["upload"]["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(body["job"]["kind"], "media.normalize")
        self.assertEqual(r.header("Location"), "/api/v1/jobs/%s" % body["job"]["id"])
        item = self.wait_item(item_id)
        self.assertEqual(item["status"], "ready", item)
        # (the job's success is recorded after the item it made ready is committed)
        lh.wait_until(lambda: self.job(body["job"]["id"])["status"] != "running", timeout=30, message="job recorded")
        self.assertEqual(self.job(body["job"]["id"])["status"], "succeeded")

        # original through /files: Range, ETag, conditional GET, private caching until expiry
        r = self.client.get("/api/v1/items/%s/slots/0/original" % item_id)
        self.assertEqual(r.status, 302)
        url = r.header("Location")
        full = mt.fetch(url)
        self.assertEqual(full.status, 200)
        self.assertEqual(full.body, data)
        self.assertEqual(full.header("Accept-Ranges"), "bytes")
        self.assertTrue(full.header("Cache-Control").startswith("private, max-age="), full.header("Cache-Control"))
        part = mt.fetch(url, headers={"Range": "bytes=10-19"})
        self.assertEqual(part.status, 206)
        self.assertEqual(part.body, data[10:20])
        self.assertEqual(part.header("Content-Range"), "bytes 10-19/%d" % len(data))
        tail = mt.fetch(url, headers={"Range": "bytes=-5"})
        self.assertEqual((tail.status, tail.body), (206, data[-5:]))
        self.assertEqual(mt.fetch(url, headers={"Range": "bytes=%d-" % (len(data) + 5)}).status, 416)
        self.assertEqual(mt.fetch(url, headers={"If-None-Match": full.header("ETag")}).status, 304)
        head = mt.fetch(url, method="HEAD")
        self.assertEqual(head.status, 200)
        self.assertEqual(int(head.header("Content-Length")), len(data))

        # errors name what is wrong
        self.assertProblem(self.client.put("/api/v1/items/%s/slots/nope/file" % item_id, data=b"x"), 404)
        self.assertProblem(self.client.put("/api/v1/items/not-a-uuid/slots/0/file", data=b"x"), 404)
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/tiles/image.dzi" % item_id), 404)

    def test_upload_size_limit(self):
        self.start_stack(settings={"upload_max_bytes": "1000"})
        item_id = self.make_item("big.jpg")
        self.put_file(item_id, b"x" * 5000, expect=413)
        r = self.client.post("/api/v1/items/%s/slots/0/upload" % item_id, json={"size": 5000})
        self.assertProblem(r, 413, field="size")
        self.assertEqual(self.client.get("/api/v1/items/%s" % item_id).json()["status"], "registered")

    def test_presigned_local_upload_and_confirm(self):
        self.start_stack()
        item_id, up, data = self.start_presigned_upload("three-steps.jpg")
        self.assertEqual(up["headers"], {"Content-Type": "image/jpeg"})
        self.assertTrue(up["upload_url"].startswith(self.daemon.url + "/files/originals/"), up)
        self.assertEqual(self.client.get("/api/v1/items/%s" % item_id).json()["status"], "uploading")

        # confirming before the file is there: 409 with what to do
        body = self.assertProblem(self.client.post("/api/v1/items/%s/slots/0/confirm" % item_id), 409)
        self.assertIn("nothing has been uploaded", body["detail"])

        # a tampered signature, or a GET URL used for PUT: 403, nothing stored
        bad = up["upload_url"][:-1] + ("0" if up["upload_url"][-1] != "0" else "1")
        self.assertEqual(mt.fetch(bad, method="PUT", data=data).status, 403)
        self.assertEqual(mt.fetch(up["upload_url"], method="GET").status, 403)

        r = mt.fetch(up["upload_url"], method="PUT", data=data, headers=up["headers"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["sha256"], hashlib.sha256(data).hexdigest())
        r = self.client.post("/api/v1/items/%s/slots/0/confirm" % item_id, json={"upload_id": up["upload_id"]})
        self.assertEqual(r.status, 202, r.text)
        job_id = r.json()["job"]["id"]
        again = self.client.post("/api/v1/items/%s/slots/0/confirm" % item_id)
        self.assertEqual((again.status, again.json()["job"]["id"]), (202, job_id))
        item = self.wait_item(item_id)
        self.assertEqual(item["status"], "ready", item)
        _, r = self.follow("/api/v1/items/%s/slots/0/original" % item_id)
        self.assertEqual(r.body, data)

    def test_signed_urls_are_identical_across_nodes_and_expire(self):
        settings = {"public_url": "http://loupe.example", "signed_url_ttl": "3s", "signed_url_window": "1s"}
        self.start_stack(settings=settings)
        other = self.start_louped(settings)
        other_client = other.client(api_key=self.boot["api_key"])
        item_id, item = self.upload_and_wait("same.jpg", self.jpeg())
        self.assertEqual(item["status"], "ready", item)
        path = "/api/v1/items/%s/slots/0/thumbnail" % item_id

        def pair():
            a = self.client.get(path).header("Location")
            b = other_client.get(path).header("Location")
            return (a, b) if a == b else None
        a, b = mt.wait(pair, timeout=10, message="two nodes to sign within one window")
        self.assertTrue(a.startswith("http://loupe.example/files/derived/"), a)

        # the URL works on either node (both read the same storage and secret)
        rel = a[len("http://loupe.example"):]
        self.assertEqual(self.client.get(rel).status, 200)
        self.assertEqual(other_client.get(rel).status, 200)
        parts = urllib.parse.urlsplit(rel)
        q = dict(urllib.parse.parse_qsl(parts.query))
        sig = q["sig"]
        tampered = "%s?expires=%s&sig=%s" % (parts.path, q["expires"], ("0" if sig[0] != "0" else "1") + sig[1:])
        self.assertProblem(self.client.get(tampered), 403)
        later = "%s?expires=%d&sig=%s" % (parts.path, int(q["expires"]) + 60, sig)
        self.assertProblem(self.client.get(later), 403)
        other_key = parts.path.replace("derived/", "derived-x/") + "?" + parts.query
        self.assertEqual(self.client.get(other_key).status, 403)
        self.assertProblem(self.client.get(parts.path), 403)
        # expired: wait past expires
        time.sleep(max(0.0, int(q["expires"]) - time.time()) + 1.1)
        body = self.assertProblem(self.client.get(rel), 403)
        self.assertIn("expired", body["detail"])

    def test_an_original_changed_in_storage_since_its_upload_is_refused(self):
        """The job takes the original's SHA-256 from what louped recorded as it stored the upload
        (the digest names the derived files) and checks the size: an original that changed in
        storage since is an error, not derived files named for other bytes."""
        self.start_stack(settings={"job_max_attempts": "1"}, workers=0)
        item_id = self.make_item("changed.jpg")
        self.put_file(item_id, self.jpeg(), content_type="image/jpeg")
        # the local backend keeps object KEY at storage_dir/KEY
        [path] = glob.glob(os.path.join(self.sandbox.storage_dir, "originals", "*", item_id, "*"))
        size = os.path.getsize(path)
        with open(path, "ab") as f:
            f.write(b"x")
        self.workers.append(self.start_worker({"job_max_attempts": "1"}))
        item = self.wait_item(item_id)
        self.assertEqual(item["status"], "error", item)
        self.assertIn("the original in storage has %d bytes where its upload stored %d" % (size + 1, size),
                      item["error"])

    def test_worker_killed_mid_normalization_is_redelivered(self):
        self.start_stack()
        item_id = self.put_slow_image()
        worker = self.workers[0]

        def decoding():  # the job started, and the worker's decoder (started with the worker) runs
            if "(media.normalize) attempt 1 of" not in worker.log():
                return None
            out = mt.run("ps", "-eo", "ppid=,pid=").decode().split()
            kids = [out[i + 1] for i in range(0, len(out), 2) if out[i] == str(worker.pid)]
            return kids or None
        kids = mt.wait(decoding, timeout=60, message="the worker to start decoding")
        worker.kill()  # SIGKILL, mid-normalization
        # the decoding child dies with its worker
        def alive(pid):
            try:
                with open("/proc/%s/stat" % pid) as f:
                    return f.read().split()[2] != "Z"
            except OSError:
                return False
        mt.wait(lambda: not any(alive(k) for k in kids), timeout=10,
                message="the decoding child to die with its worker")
        self.assertEqual(self.client.get("/api/v1/items/%s" % item_id).json()["status"], "processing")

        self.workers.append(self.start_worker())
        item = self.wait_item(item_id, timeout=180)
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual((item["slots"][0]["width"], item["slots"][0]["height"]), (7000, 5000))
        jobs = mt.jobs_of(self, item_id)
        self.assertEqual(len(jobs), 1, jobs)
        self.assertEqual(jobs[0][1:], ["succeeded", "2"])
        events = self.query("SELECT event, attempt FROM job_events WHERE job_id = '%s' ORDER BY id" % jobs[0][0])
        self.assertEqual(events.count(["succeeded", "2"]), 1, events)
        self.assertEqual([e for e in events if e[0] == "succeeded"], [["succeeded", "2"]], events)
        self.assertIsNotNone(self.slot_media(item_id)["tiles"])
        before = self.query("SELECT storage::text, updated_at FROM slots s JOIN items i ON i.id = s.item_id "
                            "WHERE i.id = '%s'" % item_id)
        time.sleep(1.5)
        after = self.query("SELECT storage::text, updated_at FROM slots s JOIN items i ON i.id = s.item_id "
                           "WHERE i.id = '%s'" % item_id)
        self.assertEqual(before, after)


class S3UploadTest(UploadFlows, UploadCase):
    """The same flows with storage_backend s3, against s3rver started for each test."""

    def setUp(self):
        super().setUp()
        self.s3 = lh.S3rver(self.sandbox.work_dir)
        self.addCleanup(self.s3.stop)
        self.endpoint = self.s3.endpoint

    def storage_settings(self):
        return self.s3.settings()

    def url_prefix(self, key=""):
        return self.endpoint + "/loupe/" + key

    def put_object(self, key, data):
        # s3rver does not check signatures: a plain PUT places the object
        r = mt.fetch(self.url_prefix(key), method="PUT", data=data)
        self.assertEqual(r.status, 200, r.text)

    def test_files_route_is_for_the_local_backend_only(self):
        self.start_stack(settings=self.storage_settings())
        self.assertProblem(self.client.get("/files/derived/x"), 404)


if __name__ == "__main__":
    unittest.main()
