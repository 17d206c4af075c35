"""Disk full in the storage directory (a small tmpfs mounted over it; a loop-mounted ext4 image
where tmpfs cannot be mounted): an upload (direct or by a presigned URL) answers 507 problem+json with a sentence that says what
to do, no partial file remains, the slot goes back to what it was, reads go on being served, and
uploads work again once there is space."""
# ctest-timeout: 300

import os
import subprocess
import unittest

import loupe_harness as lh
import media_testlib as mt

lh.require_services()

SIZE_MIB = 4


def mount_small(path, work_dir):
    """Mounts a SIZE_MIB file system over path; returns how (a word) or None with why."""
    why = []
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0755" % SIZE_MIB, "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode == 0:
        return "tmpfs", None
    why.append("tmpfs: " + (r.stderr.strip() or "exit %d" % r.returncode))
    image = os.path.join(work_dir, "storage.ext4")
    with open(image, "wb") as f:
        f.truncate(SIZE_MIB * 1024 * 1024)
    r = subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", image], capture_output=True, text=True)
    if r.returncode == 0:
        r = subprocess.run(["mount", "-o", "loop", image, path], capture_output=True, text=True)
        if r.returncode == 0:
            return "ext4 image", None
    why.append("loop ext4: " + (r.stderr.strip() or "exit %d" % r.returncode))
    return None, "; ".join(why)


def files_under(root):
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(d, n), root) for n in names]
    return sorted(out)


class DiskFullTest(mt.MediaTestCase):
    def setUp(self):
        super().setUp()
        storage = self.sandbox.storage_dir
        how, why = mount_small(storage, self.sandbox.work_dir)
        if how is None:
            lh.skip("cannot mount a small file system over the storage directory (needs root): " + why)
        self.addCleanup(subprocess.run, ["umount", "-l", storage], capture_output=True)
        self.how = how

    def test_uploads_answer_507_and_reads_go_on(self):
        self.start_stack(workers=0)
        storage = self.sandbox.storage_dir
        small = b"\xff\xd8" + os.urandom(20000)
        first = self.make_item("first.jpg")
        self.put_file(first, small, content_type="image/jpeg")
        before = files_under(storage)

        # 1. a file bigger than the space left
        big_item = self.make_item("big.jpg")
        r = self.client.put("/api/v1/items/%s/slots/0/file" % big_item, data=os.urandom(SIZE_MIB * 2 * 1024 * 1024),
                            headers={"Content-Type": "image/jpeg"})
        body = self.assertProblem(r, 507)
        self.assertIn("the storage is full", body["detail"])
        self.assertIn("free some space", body["hint"])
        lh.wait_until(lambda: files_under(storage) == before, timeout=10, message="the partial file to be removed")
        rows = self.query("SELECT state FROM uploads WHERE item_id = '%s'" % big_item)
        self.assertEqual(rows, [["failed"]])
        self.assertEqual(self.client.get("/api/v1/items/" + big_item).json()["status"], "registered")

        # 2. the disk filled by something else: even a small upload has no room
        filler = os.path.join(storage, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        second = self.make_item("second.jpg")
        r = self.client.put("/api/v1/items/%s/slots/0/file" % second, data=small, headers={"Content-Type": "image/jpeg"})
        self.assertProblem(r, 507)
        # the same through a presigned upload URL (PUT /files/…)
        third = self.make_item("third.jpg")
        r = self.client.post("/api/v1/items/%s/slots/0/upload" % third, json={"content_type": "image/jpeg"})
        self.assertEqual(r.status, 201, r.text)
        up = r.json()
        r = lh.HttpClient("http://unused").put(up["upload_url"], data=small, headers=up["headers"])
        self.assertIn("free some space", self.assertProblem(r, 507)["hint"])
        self.assertEqual(files_under(storage), sorted(before + ["filler"]))

        # reads are served all the while
        reads = 0
        for _ in range(20):
            _, got = self.follow("/api/v1/items/%s/slots/0/original" % first)
            self.assertEqual((got.status, got.body), (200, small))
            r = self.client.get("/api/v1/items", query={"dataset_id": self.dataset_id})
            self.assertEqual(r.status, 200, r.text)
            reads += 2

        # 3. space again: the same upload goes through
        os.remove(filler)
        self.put_file(second, small, content_type="image/jpeg")
        _, got = self.follow("/api/v1/items/%s/slots/0/original" % second)
        self.assertEqual(got.body, small)
        leftovers = [f for f in files_under(storage) if ".tmp-" in f]
        print("disk full (%s of %d MiB): 3 uploads refused with 507 (2 direct, 1 by a presigned URL), %d partial files left, %d reads served "
              "meanwhile, the next upload stored" % (self.how, SIZE_MIB, len(leftovers), reads))
        self.assertEqual(leftovers, [])
        self.assertTrue(self.daemon.alive())


if __name__ == "__main__":
    unittest.main()
