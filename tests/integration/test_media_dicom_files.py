"""A DICOM series sent as separate files into one volume slot (POST …/files, PUT …/files/{upload}/{n},
POST …/files/{upload}/complete): the files, sent in any order, become one zip that the worker
processes exactly as an uploaded zip — the same normalized volume, grouped by Series Instance UID,
de-identified, with nothing of the patient or of the separate files left in storage; pydicom's own
test files (CT_small, MR_small and its compressed and big-endian variants) go through the same path;
bad input answers 4xx problem+json naming the field, and another team's key 404."""
# ctest-timeout: 600

import glob
import os

import loupe_harness as lh
import media_testlib as mt
import dicom_testlib as dt
import test_media_dicom as td

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("dcm2niix", purpose="to convert DICOM series")

PYDICOM = next(iter(sorted(glob.glob("/usr/lib/python3*/dist-packages/pydicom/data/test_files"))), None)


def pydicom_file(name):
    with open(os.path.join(PYDICOM, name), "rb") as f:
        return f.read()


class DicomFilesTest(mt.MediaTestCase):
    def files_path(self, item_id):
        return "/api/v1/items/%s/slots/0/files" % item_id

    def start_upload(self, item_id, n, client=None):
        r = (client or self.client).post(self.files_path(item_id), json={"files": n})
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def put_part(self, up, n, data, expect=200, client=None):
        r = (client or self.client).put(up["file_url"].replace("{n}", str(n)), data=data,
                                         headers={"Content-Type": "application/dicom"})
        self.assertEqual(r.status, expect, r.text)
        return r

    def send_series(self, files):
        """A new volume item given files [(name, bytes)] through a multi-file upload; (item id, item)."""
        self.sent = getattr(self, "sent", 0) + 1
        item_id = self.make_item("series-%d" % self.sent, slots=(("0", "volume"),))
        up = self.start_upload(item_id, len(files))
        for i in range(len(files)):
            self.put_part(up, i + 1, files[i][1])
        r = self.client.post(up["complete_url"])
        self.assertEqual(r.status, 202, r.text)
        return item_id, self.wait_item(item_id)

    def test_separate_files_become_the_same_volume_as_a_zip(self):
        self.start_stack()
        files = td.series()
        item_id = self.make_item("series", slots=(("0", "volume"),))
        up = self.start_upload(item_id, len(files))
        self.assertEqual(up["files"], len(files))
        self.assertEqual(up["upload"]["kind"], "files")
        self.assertEqual(up["upload"]["state"], "pending")
        self.assertTrue(up["file_url"].endswith("/files/%s/{n}" % up["upload_id"]), up)
        self.assertEqual(up["complete_url"], "/api/v1/items/%s/slots/0/files/%s/complete" % (item_id, up["upload_id"]))
        self.assertEqual(self.client.get("/api/v1/items/%s" % item_id).json()["status"], "uploading")

        # any order; a file sent twice replaces the first; completing early names what is missing
        order = list(range(len(files)))[::-1]
        for i in order[:-2]:
            r = self.put_part(up, i + 1, files[i][1])
            self.assertEqual(r.json()["file"], i + 1)
            self.assertEqual(r.json()["size"], len(files[i][1]))
        self.put_part(up, 3, files[0][1])
        body = self.assertProblem(self.client.post(up["complete_url"]), 409)
        self.assertIn("2 of the %d files have not been uploaded yet (files 1, 2)" % len(files), body["detail"])
        for i in (1, 0, 2):
            self.put_part(up, i + 1, files[i][1])
        r = self.client.post(up["complete_url"])
        self.assertEqual(r.status, 202, r.text)
        job = r.json()["job"]["id"]
        self.assertEqual(r.json()["upload"]["state"], "stored")
        again = self.client.post(up["complete_url"])  # completing twice answers the same
        self.assertEqual(again.status, 202, again.text)
        self.assertEqual(again.json()["job"]["id"], job)
        self.assertProblem(self.put_part(up, 1, files[0][1], expect=409), 409)
        item = self.wait_item(item_id)
        self.assertEqual(item["status"], "ready", item)
        meta = self.slot_media(item_id)["media"]
        self.assertEqual(meta["source"]["files"], len(files))

        # the zip of the same files gives the very same volume (voxels, grid and affine)
        zip_id, zipped = self.upload_and_wait("series.zip", dt.zip_bytes(files), slot_type="volume")
        self.assertEqual(zipped["status"], "ready", zipped)
        _, a = self.follow("/api/v1/items/%s/slots/0/volume" % item_id)
        _, b = self.follow("/api/v1/items/%s/slots/0/volume" % zip_id)
        self.assertEqual(td.read_nifti(a.body), td.read_nifti(b.body))
        for key in ("shape", "pixdim", "affine", "windows", "histogram", "modality"):
            self.assertEqual(meta[key], self.slot_media(zip_id)["media"][key], key)

        # the original and the separate files are gone; nothing stored names the patient
        self.assertEqual(self.client.get("/api/v1/items/%s/slots/0/original" % item_id).status, 404)
        phi = [v.encode() for v in td.PHI.values()] + [td.SERIES_UID.encode()]
        for root, _, names in os.walk(self.sandbox.storage_dir):
            self.assertFalse(".files" in root and names, (root, names))  # the separate files are deleted
            for name in names:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                self.assertFalse([v for v in phi if v in data], os.path.join(root, name))
        for log in (self.workers[0].log(), self.daemon.log()):
            self.assertFalse([v for v in phi if v in log.encode()])

    def test_pydicom_files_grouped_by_series(self):
        if not PYDICOM:
            self.skipTest("python3-pydicom's test files are not installed")
        self.start_stack()
        for name in ("CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm"):
            item_id, item = self.send_series([(name, pydicom_file(name))])
            self.assertEqual(item["status"], "ready", (name, item))
            meta = self.slot_media(item_id)["media"]
            self.assertEqual(meta["modality"], name[:2], name)
            self.assertEqual(meta["source"]["files"], 1)
        # two series in one upload: grouped by Series Instance UID into two slots (both Series Number 1:
        # ranked by their place in the upload)
        item_id, item = self.send_series([("a", pydicom_file("CT_small.dcm")), ("b", pydicom_file("MR_small.dcm"))])
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual([s["name"] for s in item["slots"]], ["0", "0-2"])
        self.assertEqual(self.slot_media(item_id, "0")["media"]["modality"], "CT")
        self.assertEqual(self.slot_media(item_id, "0-2")["media"]["modality"], "MR")
        for name, phrase in (("MR_small_RLE.dcm", "RLE compression"), ("MR_small_jpeg_ls_lossless.dcm", "JPEG-family"),
                             ("JPEG2000.dcm", "JPEG-family"), ("MR_small_bigendian.dcm", "big endian")):
            _, item = self.send_series([(name, pydicom_file(name))])
            self.assertEqual(item["status"], "error", (name, item))
            self.assertIn(phrase, item["error"], name)
            self.assertIn("not supported", item["error"], name)
        self.assertTrue(all(w.alive() for w in self.workers))

    def test_bad_input_and_other_teams(self):
        self.start_stack(settings={"dicom_max_files": "4", "dicom_max_bytes": "4096"})
        files = dt.axial_series(8, 8, 3, phi=None)  # about 0.9 kB a file: 3 files are within 4096 bytes
        item_id = self.make_item("series", slots=(("0", "volume"),))
        path = self.files_path(item_id)
        self.assertProblem(self.client.post(path, json={"files": 0}), 422, "files")
        self.assertProblem(self.client.post(path, json={"files": "3"}), 422, "files")
        self.assertProblem(self.client.post(path, json={}), 422, "files")
        self.assertProblem(self.client.post(path, json={"files": 3, "name": "x"}), 422, "name")
        self.assertProblem(self.client.post(path, json={"files": 5}), 413, "files")
        image = self.make_item("photo", slots=(("0", "image"),))
        self.assertProblem(self.client.post(self.files_path(image), json={"files": 3}), 409)
        self.assertProblem(self.client.post("/api/v1/items/%s/slots/9/files" % item_id, json={"files": 3}), 404)

        up = self.start_upload(item_id, 3)
        for n in ("0", "4", "x", "-1", "01"):
            r = self.client.put(up["file_url"].replace("{n}", n), data=files[0][1])
            self.assertProblem(r, 422, "n")
        body = self.assertProblem(self.put_part(up, 1, b"not a DICOM file" * 20, expect=422), 422)
        self.assertIn("not a DICOM Part 10 file", body["detail"])
        big = dt.slice_file(b"\0" * 4200, 50, 42, (0, 0, 0))
        self.assertProblem(self.put_part(up, 1, big, expect=413), 413)
        unknown = "/api/v1/items/%s/slots/0/files/%s" % (item_id, "00000000-0000-4000-8000-000000000000")
        self.assertProblem(self.client.put(unknown + "/1", data=files[0][1]), 404)
        self.assertProblem(self.client.post(unknown + "/complete"), 404)
        self.assertProblem(self.client.post(up["complete_url"]), 409)  # nothing sent yet

        # another team sees none of it
        other = self.bootstrap(team="Rivals", email="rival@example.com")
        rival = self.daemon.client(api_key=other["api_key"])
        self.assertProblem(rival.post(path, json={"files": 3}), 404)
        self.assertProblem(rival.put(up["file_url"].replace("{n}", "1"), data=files[0][1]), 404)
        self.assertProblem(rival.post(up["complete_url"]), 404)

        # over dicom_max_bytes together: refused at completion, nothing processed
        more = dt.axial_series(24, 24, 3, phi=None)  # about 1.9 kB a file, 5.8 kB together
        up2 = self.start_upload(item_id, 3)
        for i, (_, data) in enumerate(more):
            self.put_part(up2, i + 1, data)
        body = self.assertProblem(self.client.post(up2["complete_url"]), 413)
        self.assertIn("dicom_max_bytes", body["detail"])
        # the first upload, still pending, can be completed once its files are in
        for i, (_, data) in enumerate(files):
            self.put_part(up, i + 1, data)
        self.assertEqual(self.client.post(up["complete_url"]).status, 202)
        item = self.wait_item(item_id)
        self.assertEqual(item["status"], "ready", item)


if __name__ == "__main__":
    import unittest
    unittest.main()
