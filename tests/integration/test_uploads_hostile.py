"""Uploads under attack: upload URLs are single-use and held to the size and Content-Type they were
issued for; a new upload on a ready slot keeps its media online until the new file is processed,
and an abandoned upload expires; external objects come only from a storage location the team
owns."""
# ctest-timeout: 600

import os
import unittest

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg", "vipsheader", purpose="to make the test images")


class UploadUrlTest(mt.MediaTestCase):
    def jpeg(self, name, w=120, h=80, top="red"):
        with open(mt.two_band_jpeg(self.path(name), w, h, top=top), "rb") as f:
            return f.read()

    def upload_url(self, item_id, **body):
        r = self.client.post("/api/v1/items/%s/slots/0/upload" % item_id, json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def test_an_upload_url_is_single_use(self):
        self.start_stack()
        first, other = self.jpeg("a.jpg"), self.jpeg("b.jpg", 64, 64, top="green")
        item_id = self.make_item("once.jpg")
        up = self.upload_url(item_id, content_type="image/jpeg", size=len(first))
        self.assertEqual(mt.fetch(up["upload_url"], method="PUT", data=first, headers=up["headers"]).status, 200)
        r = self.client.post("/api/v1/items/%s/slots/0/confirm" % item_id, json={"upload_id": up["upload_id"]})
        self.assertEqual(r.status, 202, r.text)
        self.assertEqual(self.wait_item(item_id)["status"], "ready")
        # replaying the URL after the confirm: refused, the original unchanged
        replay = mt.fetch(up["upload_url"], method="PUT", data=other, headers={"Content-Type": "image/jpeg"})
        self.assertEqual(replay.status, 403, replay.body[:300])
        _, r = self.follow("/api/v1/items/%s/slots/0/original" % item_id)
        self.assertEqual(r.body, first)
        # a URL superseded by a newer one is refused too
        old = self.upload_url(item_id, content_type="image/jpeg")
        new = self.upload_url(item_id, content_type="image/jpeg")
        self.assertEqual(mt.fetch(old["upload_url"], method="PUT", data=other, headers=old["headers"]).status, 403)
        self.assertEqual(mt.fetch(new["upload_url"], method="PUT", data=other, headers=new["headers"]).status, 200)

    def test_declared_size_and_content_type_are_enforced(self):
        self.start_stack()
        item_id = self.make_item("declared.jpg")
        up = self.upload_url(item_id, content_type="image/jpeg", size=10)
        r = mt.fetch(up["upload_url"], method="PUT", data=b"x" * 200000, headers=up["headers"])
        self.assertEqual(r.status, 413, r.body[:300])
        r = mt.fetch(up["upload_url"], method="PUT", data=b"x" * 5, headers=up["headers"])
        self.assertEqual(r.status, 422, r.body[:300])
        r = mt.fetch(up["upload_url"], method="PUT", data=b"x" * 10, headers={"Content-Type": "text/html"})
        self.assertEqual(r.status, 403, r.body[:300])
        # the confirm checks the size too (an object put there some other way)
        os.makedirs(os.path.dirname(os.path.join(self.sandbox.storage_dir, up["key"])), exist_ok=True)
        with open(os.path.join(self.sandbox.storage_dir, up["key"]), "wb") as f:
            f.write(b"y" * 11)
        p = self.assertProblem(self.client.post("/api/v1/items/%s/slots/0/confirm" % item_id), 422)
        self.assertIn("declared", p["detail"])
        # CR/LF (or anything but a media type) in content_type: 422, never echoed back
        for bad in ("image/jpeg\r\nX-Evil: 1", "image/jpeg\n", "jpeg", "image/", "/jpeg", "image/jp eg"):
            r = self.client.post("/api/v1/items/%s/slots/0/upload" % item_id, json={"content_type": bad})
            self.assertProblem(r, 422, field="content_type")
        ok = self.upload_url(item_id, content_type="image/jpeg; charset=binary")
        self.assertEqual(ok["headers"]["Content-Type"], "image/jpeg; charset=binary")


class ReadySlotTest(mt.MediaTestCase):
    def jpeg(self, name, w, h):
        with open(mt.two_band_jpeg(self.path(name), w, h), "rb") as f:
            return f.read()

    def preview_size(self, item_id):
        _, r = self.follow("/api/v1/items/%s/slots/0/preview" % item_id)
        self.assertEqual(r.status, 200)
        with open(self.path("preview.jpg"), "wb") as f:
            f.write(r.body)
        return int(mt.header(self.path("preview.jpg"), "width")), int(mt.header(self.path("preview.jpg"), "height"))

    def test_a_new_upload_keeps_the_old_media_online_until_processed(self):
        # one worker, held back, so the window "confirmed, not yet processed" is wide open
        self.start_stack(workers=0)
        item_id = self.make_item("swap.jpg")
        worker = self.start_worker()
        self.put_file(item_id, self.jpeg("old.jpg", 120, 80), content_type="image/jpeg")
        self.assertEqual(self.wait_item(item_id)["status"], "ready")
        self.assertEqual(self.preview_size(item_id), (120, 80))
        worker.stop()

        # a new upload URL: the slot stays ready and serves its media
        r = self.client.post("/api/v1/items/%s/slots/0/upload" % item_id, json={"content_type": "image/jpeg"})
        self.assertEqual(r.status, 201, r.text)
        up = r.json()
        self.assertEqual(self.client.get("/api/v1/items/%s" % item_id).json()["status"], "ready")
        self.assertEqual(self.preview_size(item_id), (120, 80))
        new = self.jpeg("new.jpg", 60, 90)
        self.assertEqual(mt.fetch(up["upload_url"], method="PUT", data=new, headers=up["headers"]).status, 200)
        r = self.client.post("/api/v1/items/%s/slots/0/confirm" % item_id, json={"upload_id": up["upload_id"]})
        self.assertEqual(r.status, 202, r.text)
        job_id = r.json()["job"]["id"]
        # confirmed, not processed yet (no worker): still ready, still the old media
        self.assertEqual(self.client.get("/api/v1/items/%s" % item_id).json()["status"], "ready")
        self.assertEqual(self.preview_size(item_id), (120, 80))
        # a direct upload on the ready slot keeps it online too
        self.assertEqual(self.client.get("/api/v1/items/%s/slots/0/thumbnail" % item_id).status, 302)

        self.start_worker()
        mt.wait(lambda: self.job(job_id)["status"] == "succeeded", message="the new file processed")
        self.assertEqual(self.client.get("/api/v1/items/%s" % item_id).json()["status"], "ready")
        self.assertEqual(self.preview_size(item_id)[0], 60)  # the new image (portrait, 60 wide)
        _, r = self.follow("/api/v1/items/%s/slots/0/original" % item_id)
        self.assertEqual(r.body, new)

    def test_a_failed_replacement_keeps_the_old_media(self):
        self.start_stack()
        item_id = self.make_item("keep.jpg")
        self.put_file(item_id, self.jpeg("old.jpg", 120, 80), content_type="image/jpeg")
        self.assertEqual(self.wait_item(item_id)["status"], "ready")
        r = self.put_file(item_id, b"this is not an image", content_type="image/jpeg")
        job_id = r.json()["job"]["id"]
        mt.wait(lambda: self.job(job_id)["status"] in ("succeeded", "failed"), message="the job to end")
        item = self.client.get("/api/v1/items/%s" % item_id).json()
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual(self.preview_size(item_id), (120, 80))

    def test_an_abandoned_upload_expires(self):
        self.start_stack(settings={"upload_abandon_after": "2s"})
        item_id = self.make_item("abandoned.jpg")
        r = self.client.post("/api/v1/items/%s/slots/0/upload" % item_id, json={"content_type": "image/jpeg"})
        self.assertEqual(r.status, 201, r.text)
        up = r.json()
        self.assertEqual(self.client.get("/api/v1/items/%s" % item_id).json()["status"], "uploading")
        mt.wait(lambda: self.client.get("/api/v1/items/%s" % item_id).json()["status"] == "registered",
                timeout=30, message="the abandoned upload to expire")
        media = self.slot_media(item_id)
        self.assertEqual(media["status"], "empty", media)
        # its URL no longer works
        r = mt.fetch(up["upload_url"], method="PUT", data=b"late", headers=up["headers"])
        self.assertEqual(r.status, 403)
        self.assertEqual(self.query("SELECT state FROM uploads WHERE id = '%s'" % up["upload_id"]), [["failed"]])


class StorageLocationTest(mt.MediaTestCase):
    def put_object(self, key, data):
        path = os.path.join(self.sandbox.storage_dir, *key.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def register(self, client, dataset_id, key, name="x.jpg"):
        return client.post("/api/v1/datasets/%s/items/register-external" % dataset_id,
                           json={"items": [{"name": name, "slots": [{"name": "0", "type": "image", "key": key}]}]})

    def test_external_keys_come_only_from_the_teams_own_locations(self):
        self.start_stack()
        with open(mt.two_band_jpeg(self.path("a.jpg"), 64, 48), "rb") as f:
            data = f.read()
        self.put_object("acme/cam1/a.jpg", data)
        # team A claims acme/ and registers its object
        r = self.client.post("/api/v1/storage-locations", json={"slug": "acme", "prefix": "acme/"})
        self.assertEqual(r.status, 201, r.text)
        loc = r.json()
        self.assertEqual((loc["bucket"], loc["prefix"]), ("local", "acme/"))
        self.assertEqual(self.register(self.client, self.dataset_id, "acme/cam1/a.jpg").status, 202)
        self.assertEqual([x["slug"] for x in self.client.get("/api/v1/storage-locations").json()["items"]], ["acme"])

        # team B: no location → the same key is refused; an overlapping prefix cannot be claimed
        other = self.bootstrap(team="Other Co", email="boss@other.example")
        b = self.daemon.client(api_key=other["api_key"])
        ds_b = b.post("/api/v1/datasets", json={"name": "b", "slug": "b"}).json()["id"]
        self.assertProblem(self.register(b, ds_b, "acme/cam1/a.jpg"), 422, field="items[0].slots[0].key")
        for prefix in ("acme/", "acme/cam1/", "acme/cam1/x/"):
            self.assertProblem(b.post("/api/v1/storage-locations", json={"slug": "mine", "prefix": prefix}), 409)
        self.assertProblem(b.post("/api/v1/storage-locations", json={"slug": "root", "prefix": "/"}), 422,
                           field="prefix")
        for prefix in ("originals/", "derived/x/", "originals/a/"):
            r = b.post("/api/v1/storage-locations", json={"slug": "own", "prefix": prefix})
            self.assertProblem(r, 422, field="prefix")
        self.assertProblem(b.post("/api/v1/storage-locations", json={"slug": "x", "prefix": "b/",
                                                                     "bucket": "elsewhere"}), 422, field="bucket")
        # B's own location works for B's objects, and a missing key there is 422
        self.assertEqual(b.post("/api/v1/storage-locations", json={"slug": "b", "prefix": "other-co/"}).status, 201)
        self.assertProblem(self.register(b, ds_b, "other-co/none.jpg"), 422, field="items[0].slots[0].key")
        # A's dataset, seen by B: 404 before any key is looked at (no probing of key names)
        self.assertProblem(self.register(b, self.dataset_id, "acme/cam1/a.jpg"), 404)
        self.assertProblem(self.register(b, self.dataset_id, "other-co/none.jpg"), 404)
        # a location of another team is 404; deleting one stops new registrations under it
        self.assertProblem(b.delete("/api/v1/storage-locations/%s" % loc["id"]), 404)
        self.assertEqual(self.client.delete("/api/v1/storage-locations/%s" % loc["id"]).status, 204)
        self.assertProblem(self.register(self.client, self.dataset_id, "acme/cam1/a.jpg", name="again.jpg"), 422,
                           field="items[0].slots[0].key")


if __name__ == "__main__":
    unittest.main()
