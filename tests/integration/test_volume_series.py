"""Several DICOM series in one upload (a zip, or a multi-file upload): the files are grouped by Series
Instance UID and each series becomes its own normalized volume, ordered along its own slice normal —
by default one volume slot per series in the item ("<slot>", "<slot>-2" …, series ranked by Series
Number), with slots[].dicom_series "items" one item per series ("<item>-2" …). A series that cannot
be converted says why on its own slot while the others are kept; more series than dicom_max_series
are refused; a worker killed midway and the job redelivered leaves no duplicate slot or item."""
# ctest-timeout: 600

import glob
import json
import os

import loupe_harness as lh
import media_testlib as mt
import dicom_testlib as dt
import test_media_dicom as td

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("dcm2niix", purpose="to convert DICOM series")

AXIAL_UID = "1.2.826.0.1.3680043.9.7777.601"
SAGITTAL_UID = "1.2.826.0.1.3680043.9.7777.602"


def axial(series_number=3, **kw):
    """12 columns × 10 rows × 6 axial slices, 0.8 × 0.6 mm, 2 mm apart."""
    return dt.axial_series(12, 10, 6, spacing=(0.6, 0.8), step=2.0, origin=(-20.0, -10.0, 30.0),
                           series=AXIAL_UID, series_number=series_number, phi=td.PHI,
                           value=lambda i, j, k: 100 * k + 7 * j + i, **kw)


def sagittal(series_number=2, **kw):
    """8 columns × 9 rows × 5 sagittal slices (rows run head to foot), 1.5 mm apart."""
    return dt.axial_series(8, 9, 5, spacing=(1.1, 0.9), step=1.5, origin=(5.0, -30.0, 60.0),
                           orientation=(0, 1, 0, 0, 0, -1), series=SAGITTAL_UID, series_number=series_number,
                           phi=td.PHI, value=lambda i, j, k: 1000 - 50 * k - 3 * j - i, **kw)


def tagged(prefix, files):
    return [(prefix + name, data) for name, data in files]


def mixed(*series):
    """The files of all series interleaved, as a scanner's export folder has them."""
    out = [f for s in series for f in s]
    out.sort(key=lambda f: f[0][-9:])
    return out


class VolumeSeriesTest(mt.MediaTestCase):
    def slots_of(self, item_id):
        r = self.client.get("/api/v1/items/%s" % item_id)
        self.assertEqual(r.status, 200, r.text)
        return {s["name"]: s for s in r.json()["slots"]}

    def volume(self, item_id, slot):
        """(dims, affine, voxels) of a slot's normalized volume, and its media metadata."""
        _, r = self.follow("/api/v1/items/%s/slots/%s/volume" % (item_id, slot))
        self.assertEqual(r.status, 200)
        return td.read_nifti(r.body), self.slot_media(item_id, slot)["media"]

    def alone(self, files):
        """The volume of one series uploaded alone (the reference)."""
        item_id, item = self.upload_and_wait("alone-%d" % len(files), dt.zip_bytes(files), slot_type="volume")
        self.assertEqual(item["status"], "ready", item)
        return self.volume(item_id, "0")

    def assertSameVolume(self, got, want):
        (g, gm), (w, wm) = got, want
        self.assertEqual(g, w)
        for key in ("shape", "pixdim", "affine", "primary_plane", "modality"):
            self.assertEqual(gm[key], wm[key], key)
        self.assertEqual(list(gm["plane_map"].values()), list(wm["plane_map"].values()))  # keyed by slot name

    def send_files(self, item_id, files, slot="0"):
        r = self.client.post("/api/v1/items/%s/slots/%s/files" % (item_id, slot), json={"files": len(files)})
        self.assertEqual(r.status, 201, r.text)
        up = r.json()
        for i, (_, data) in enumerate(files):
            r = self.client.put(up["file_url"].replace("{n}", str(i + 1)), data=data,
                                headers={"Content-Type": "application/dicom"})
            self.assertEqual(r.status, 200, r.text)
        r = self.client.post(up["complete_url"])
        self.assertEqual(r.status, 202, r.text)
        return r.json()["job"]["id"]

    def assert_no_phi(self):
        phi = [v.encode() for v in td.PHI.values()] + [AXIAL_UID.encode(), SAGITTAL_UID.encode()]
        for root, _, names in os.walk(self.sandbox.storage_dir):
            for name in names:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                self.assertFalse([v for v in phi if v in data], os.path.join(root, name))
        for log in (self.workers[-1].log(), self.daemon.log()):
            self.assertFalse([v for v in phi if v in log.encode()])

    def test_two_series_become_two_slots_by_zip_and_by_files(self):
        self.start_stack()
        ax, sag = tagged("a-", axial()), tagged("s-", sagittal())
        want_ax, want_sag = self.alone(ax), self.alone(sag)
        self.assertNotEqual(want_ax[1]["shape"], want_sag[1]["shape"])

        # a zip: Series Number 2 (sagittal) ranks first and fills the slot; the axial series is "0-2"
        item_id, item = self.upload_and_wait("two.zip", dt.zip_bytes(mixed(ax, sag)), slot_type="volume")
        self.assertEqual(item["status"], "ready", item)
        slots = self.slots_of(item_id)
        self.assertEqual(sorted(slots), ["0", "0-2"])
        self.assertEqual([s["type"] for s in item["slots"]], ["volume", "volume"])
        self.assertSameVolume(self.volume(item_id, "0"), want_sag)
        self.assertSameVolume(self.volume(item_id, "0-2"), want_ax)
        self.assertEqual(self.slot_media(item_id, "0-2")["media"]["source"]["files"], 6)
        job = self.job(mt.jobs_of(self, item_id)[-1][0])
        self.assertEqual([(s["rank"], s["slot"], s["status"]) for s in job["result"]["series"]], [(2, "0-2", "ready")])

        # the same files sent one by one into another item: the same two slots
        files_id = self.make_item("two-files", slots=(("ct", "volume"),))
        self.send_files(files_id, mixed(sag, ax), slot="ct")
        self.assertEqual(self.wait_item(files_id)["status"], "ready")
        self.assertEqual(sorted(self.slots_of(files_id)), ["ct", "ct-2"])
        self.assertSameVolume(self.volume(files_id, "ct"), want_sag)
        self.assertSameVolume(self.volume(files_id, "ct-2"), want_ax)

        # a new upload into the slot replaces the series slots it made before, adding none
        self.put_file(files_id, dt.zip_bytes(mixed(ax, sag)), slot="ct")
        mt.wait(lambda: len(mt.jobs_of(self, files_id)) == 2 and self.wait_item(files_id)["status"] == "ready"
                and all(j[1] == "succeeded" for j in mt.jobs_of(self, files_id)), timeout=120,
                message="the second upload to be processed")
        self.assertEqual(sorted(self.slots_of(files_id)), ["ct", "ct-2"])
        self.assert_no_phi()

    def test_one_item_per_series(self):
        self.start_stack()
        ax, sag = tagged("a-", axial()), tagged("s-", sagittal())
        for slot, field in (({"name": "0", "type": "volume", "dicom_series": "stacks"}, "slots[0].dicom_series"),
                            ({"name": "0", "type": "image", "dicom_series": "items"}, "slots[0].dicom_series")):
            r = self.client.post("/api/v1/datasets/%s/items" % self.dataset_id, json={"name": "bad", "slots": [slot]})
            body = self.assertProblem(r, 422)
            self.assertIn(field, [e["field"] for e in body["errors"]], body)
        r = self.client.post("/api/v1/datasets/%s/items" % self.dataset_id,
                             json={"name": "study", "path": "/ct",
                                   "slots": [{"name": "vol", "type": "volume", "dicom_series": "items"}]})
        self.assertEqual(r.status, 201, r.text)
        item_id = r.json()["id"]
        # an unrelated item already holds the name "study-2": the series' item takes "study-2-2"
        r = self.client.post("/api/v1/datasets/%s/items" % self.dataset_id,
                             json={"name": "study-2", "path": "/ct", "slots": [{"name": "vol", "type": "volume"}]})
        self.assertEqual(r.status, 201, r.text)
        self.put_file(item_id, dt.zip_bytes(mixed(ax, sag)), slot="vol")
        self.assertEqual(self.wait_item(item_id)["status"], "ready")
        self.assertEqual(sorted(self.slots_of(item_id)), ["vol"])
        r = self.client.get("/api/v1/items", query={"dataset_id": self.dataset_id, "path": "/ct"})
        self.assertEqual(r.status, 200, r.text)
        names = {i["name"]: i["id"] for i in r.json()["items"]}
        self.assertEqual(sorted(names), ["study", "study-2", "study-2-2"])
        other = names["study-2-2"]
        self.assertEqual(self.wait_item(other)["status"], "ready")
        self.assertEqual(sorted(self.slots_of(other)), ["vol"])
        self.assertSameVolume(self.volume(item_id, "vol"), self.alone(sag))
        self.assertSameVolume(self.volume(other, "vol"), self.alone(ax))
        self.assertEqual(self.slots_of(names["study-2"])["vol"]["status"], "empty")
        # the item made for the series is audited like one registered through the API, once:
        # uploading the study again reuses it and writes no second row
        audit = "SELECT data::text FROM audit_log WHERE action = 'item.create' AND object_id = '%s'" % other
        rows = self.query(audit)
        self.assertEqual(len(rows), 1, rows)
        data = json.loads(rows[0][0])
        self.assertEqual(data["name"], "study-2-2")
        # series_of names the slot by its id, as the item's metadata.series_of does, and by its name
        vol_id = self.slots_of(item_id)["vol"]["id"]
        self.assertEqual(data["series_of"], {"item": item_id, "slot": vol_id, "slot_name": "vol", "rank": 2})
        r = self.client.get("/api/v1/items/%s" % other)
        self.assertEqual(r.json()["metadata"]["series_of"]["slot"], data["series_of"]["slot"])
        self.assertTrue(data["job_id"])
        self.put_file(item_id, dt.zip_bytes(mixed(ax, sag)), slot="vol")
        mt.wait(lambda: len(mt.jobs_of(self, item_id)) == 2 and self.wait_item(item_id)["status"] == "ready"
                and all(j[1] == "succeeded" for j in mt.jobs_of(self, item_id)), timeout=120,
                message="the second upload to be processed")
        job = self.job(mt.jobs_of(self, item_id)[-1][0])
        self.assertEqual([(s["rank"], s["item_id"]) for s in job["result"]["series"]], [(2, other)])
        self.assertEqual(len(self.query(audit)), 1)

        # renamed, the study and its series' item: the next upload still finds that item by its
        # metadata.series_of and makes no second one (it made "exam-2" beside "series two")
        for renamed, name in ((item_id, "exam"), (other, "series two")):
            r = self.client.patch("/api/v1/items/%s" % renamed, json={"name": name})
            self.assertEqual(r.status, 200, r.text)
        self.put_file(item_id, dt.zip_bytes(mixed(ax, sag)), slot="vol")
        mt.wait(lambda: len(mt.jobs_of(self, item_id)) == 3 and self.wait_item(item_id)["status"] == "ready"
                and all(j[1] == "succeeded" for j in mt.jobs_of(self, item_id)), timeout=120,
                message="the third upload to be processed")
        job = self.job(mt.jobs_of(self, item_id)[-1][0])
        self.assertEqual([(s["rank"], s["item_id"], s["item_name"]) for s in job["result"]["series"]],
                         [(2, other, "series two")])
        r = self.client.get("/api/v1/items", query={"dataset_id": self.dataset_id, "path": "/ct"})
        self.assertEqual(sorted(i["name"] for i in r.json()["items"]), ["exam", "series two", "study-2"])
        self.assertEqual(len(self.query(audit)), 1)

    def series_slot_named(self, upload, item_name, length):
        """An item whose volume slot is named with length bytes, given upload (two series): its
        second series' slot is named with the base cut by two bytes, so that "-2" fits. The item."""
        slot = "s" * length
        slot_item = self.make_item(item_name, slots=((slot, "volume"),))
        self.put_file(slot_item, upload, slot=slot)
        self.assertEqual(self.wait_item(slot_item)["status"], "ready")
        self.assertEqual(sorted(self.slots_of(slot_item)), ["s" * (length - 2) + "-2", slot])
        return slot_item

    def series_item_named(self, upload, first, accents):
        """An item named first + accents two-byte characters (its last byte but one inside a
        character), one item per series: the second series' item is named with the base cut at
        the character boundary before "-2", and the API takes that name. Its id."""
        name = first + "\u00e9" * accents
        r = self.client.post("/api/v1/datasets/%s/items" % self.dataset_id,
                             json={"name": name, "slots": [{"name": "v", "type": "volume", "dicom_series": "items"}]})
        self.assertEqual(r.status, 201, r.text)
        item_id = r.json()["id"]
        self.put_file(item_id, upload, slot="v")
        self.assertEqual(self.wait_item(item_id)["status"], "ready")
        job = self.job(mt.jobs_of(self, item_id)[-1][0])
        made = [s["item_name"] for s in job["result"]["series"]]
        self.assertEqual(made, [first + "\u00e9" * (accents - 1) + "-2"])
        other = job["result"]["series"][0]["item_id"]
        r = self.client.patch("/api/v1/items/%s" % other, json={"name": made[0], "priority": 3})
        self.assertEqual(r.status, 200, r.text)
        return other

    def test_names_made_for_series_stay_within_the_name_limits(self):
        """A slot named with the longest name a slot may have (255 bytes) and an item with the longest
        item name (1024 bytes, multi-byte characters up to its end): the series' slot and item are
        named with the base cut short at a character boundary so that "-2" fits, and the API takes
        those names (an annotation read by slot; a 257-byte slot name was refused)."""
        self.start_stack()
        upload = dt.zip_bytes(mixed(tagged("a-", axial()), tagged("s-", sagittal())))
        slot_item = self.series_slot_named(upload, "long-slot", 255)
        for name in self.slots_of(slot_item):
            r = self.client.get("/api/v1/items/%s/annotations" % slot_item, query={"slot": name})
            self.assertEqual(r.status, 200, r.text)
        other = self.series_item_named(upload, "a", 511)  # 1023 bytes; byte 1022 is inside a character
        self.assertEqual(self.wait_item(other)["status"], "ready")

    def test_names_made_for_series_follow_the_configured_limits(self):
        """slot_name_max and item_name_max set small, for louped and the worker alike: the series'
        slot and item names are cut to those limits (not the defaults), at a character boundary, and
        the API refuses a longer name naming the setting."""
        self.start_stack(settings={"slot_name_max": "20", "item_name_max": "24"})
        upload = dt.zip_bytes(mixed(tagged("a-", axial()), tagged("s-", sagittal())))
        r = self.client.post("/api/v1/datasets/%s/items" % self.dataset_id,
                             json={"name": "x", "slots": [{"name": "s" * 21, "type": "volume"}]})
        body = self.assertProblem(r, 422, "slots[0].name")
        self.assertIn("over the limit of 20 (slot_name_max)", body["errors"][0]["message"])
        self.series_slot_named(upload, "short-slot", 20)
        other = self.series_item_named(upload, "b", 11)  # 23 bytes; byte 22 is inside a character
        body = self.assertProblem(self.client.patch("/api/v1/items/%s" % other, json={"name": "c" * 25}), 422, "name")
        self.assertIn("is 25 bytes long, over the limit of 24 (item_name_max)", body["errors"][0]["message"])

    def test_a_broken_series_errs_on_its_own_slot(self):
        self.start_stack(settings={"dicom_max_series": "2"})
        ax = tagged("a-", axial())
        broken = tagged("s-", sagittal(series_number=7))
        broken = broken[:2] + broken[3:]  # a slice missing
        item_id, item = self.upload_and_wait("broken.zip", dt.zip_bytes(mixed(ax, broken)), slot_type="volume")
        self.assertEqual(item["status"], "error", item)
        self.assertIn('slot "0-2"', item["error"])
        self.assertIn("slices are missing", item["error"])
        slots = self.slots_of(item_id)
        self.assertEqual(slots["0"]["status"], "ready")
        self.assertEqual(slots["0-2"]["status"], "error")
        self.assertIn("slices are missing", self.slot_media(item_id, "0-2")["error"])
        self.assertSameVolume(self.volume(item_id, "0"), self.alone(ax))

        # one item per series: the broken series' own item says why, the first item is ready
        r = self.client.post("/api/v1/datasets/%s/items" % self.dataset_id,
                             json={"name": "split", "slots": [{"name": "0", "type": "volume", "dicom_series": "items"}]})
        self.assertEqual(r.status, 201, r.text)
        split_id = r.json()["id"]
        self.put_file(split_id, dt.zip_bytes(mixed(ax, broken)))
        self.assertEqual(self.wait_item(split_id)["status"], "ready")
        r = self.client.get("/api/v1/items", query={"dataset_id": self.dataset_id})
        other = [i for i in r.json()["items"] if i["name"] == "split-2"]
        self.assertEqual(len(other), 1, r.json())
        other = self.wait_item(other[0]["id"])
        self.assertEqual(other["status"], "error", other)
        self.assertIn("slices are missing", other["error"])
        self.assertEqual(other["metadata"]["series_of"], {"item": split_id, "slot": self.slots_of(split_id)["0"]["id"],
                                                          "rank": 2})

        # past dicom_max_series: the whole upload is refused and says which limit
        third = tagged("t-", dt.axial_series(6, 6, 3, origin=(0, 0, 300), series="1.2.826.0.1.3680043.9.7777.603"))
        _, item = self.upload_and_wait("three.zip", dt.zip_bytes(ax + sagittal() + third), slot_type="volume")
        self.assertEqual(item["status"], "error", item)
        self.assertIn("more than 2 DICOM series (dicom_max_series)", item["error"])
        self.assertTrue(all(w.alive() for w in self.workers))

    def test_worker_killed_midway_adds_no_duplicates(self):
        """A converter wrapper hangs on the second series, leaving a marker in its output directory
        (under Landlock it may write nowhere else): the worker is killed there, the wrapper is
        rewritten to convert at once, the job is redelivered to a new worker, and the item ends
        with exactly its two slots (in slots mode) or two items (in items mode)."""
        script = self.path("converter.sh")

        def converter(hang):
            with open(script, "w") as f:
                f.write("#!/bin/bash\n"
                        "case \"${@: -1}\" in\n  */2) if %s; then : > hanging; sleep 120; fi ;;\nesac\n"
                        "exec /usr/bin/dcm2niix \"$@\"\n" % ("true" if hang else "false"))
            os.chmod(script, 0o755)

        def markers():
            return set(glob.glob(os.path.join(self.sandbox.scratch_dir, "**", "hanging"), recursive=True))

        converter(hang=True)
        self.start_stack(worker_settings={"dicom_converter": script})
        upload = dt.zip_bytes(mixed(tagged("a-", axial()), tagged("s-", sagittal())))
        for mode in ("slots", "items"):
            converter(hang=True)
            before = markers()  # a killed worker's directory may still hold its marker
            r = self.client.post("/api/v1/datasets/%s/items" % self.dataset_id,
                                 json={"name": "killed-" + mode,
                                       "slots": [{"name": "0", "type": "volume", "dicom_series": mode}]})
            self.assertEqual(r.status, 201, r.text)
            item_id = r.json()["id"]
            self.put_file(item_id, upload)
            worker = self.workers[-1]

            mt.wait(lambda: markers() - before, timeout=120, message="the second series to be converted")
            worker.kill()
            converter(hang=False)
            self.workers.append(self.start_worker({"dicom_converter": script}))
            self.assertEqual(self.wait_item(item_id, timeout=240)["status"], "ready")
            job = self.job(mt.jobs_of(self, item_id)[0][0])
            self.assertEqual(job["status"], "succeeded", job)
            self.assertGreaterEqual(job["attempts"], 2, job)
            if mode == "slots":
                self.assertEqual(sorted(self.slots_of(item_id)), ["0", "0-2"])
            else:
                self.assertEqual(sorted(self.slots_of(item_id)), ["0"])
                r = self.client.get("/api/v1/items", query={"dataset_id": self.dataset_id})
                extra = [i for i in r.json()["items"] if i["name"].startswith("killed-items-")]
                self.assertEqual([i["name"] for i in extra], ["killed-items-2"])
                self.assertEqual(self.wait_item(extra[0]["id"])["status"], "ready")


if __name__ == "__main__":
    import unittest
    unittest.main()
