"""DICOM series in volume slots: a zip of a generated oblique, anisotropic 16-bit CT series (or one
DICOM file) is checked, de-identified and converted by the real dcm2niix into the normalized volume,
with every voxel where its patient coordinate puts it; no patient attribute put in the files appears
in any stored file, the metadata, the database or a log; hostile uploads end in an item error with a
sentence and the worker carries on."""
# ctest-timeout: 600

import ctypes
import gzip
import math
import os
import struct
import zipfile
import io

import loupe_harness as lh
import media_testlib as mt
import dicom_testlib as dt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("dcm2niix", purpose="to convert DICOM series")
mt.require_tools("vips", purpose="to read the slices")

PHI = {"PatientName": "DOE^JANE^QUINCY", "PatientID": "PID-778899", "PatientBirthDate": "19700321",
       "InstitutionName": "St Elsewhere General", "ReferringPhysicianName": "HOUSE^GREGORY",
       "AccessionNumber": "ACC991122", "StudyDescription": "HEAD CT for Quincy"}
SERIES_UID = "1.2.826.0.1.3680043.9.7777.424242"
NX, NY, NZ = 20, 16, 10
SPACING = (0.7, 0.9)  # between rows, between columns
STEP = 2.5
ANGLE = math.radians(30)
ORIENT = (math.cos(ANGLE), math.sin(ANGLE), 0, -math.sin(ANGLE), math.cos(ANGLE), 0)
ORIGIN = (-40.0, -30.0, 12.0)
BLOCK = (range(13, 15), range(4, 6), range(6, 8))  # columns, rows, slices


def bright(i, j, k):
    return 1500 if i in BLOCK[0] and j in BLOCK[1] and k in BLOCK[2] else -1000


def lps_of(i, j, k):
    """The patient (LPS) coordinate of column i, row j of slice k."""
    r, c = ORIENT[:3], ORIENT[3:]
    n = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    return tuple(ORIGIN[a] + k * STEP * n[a] + i * SPACING[1] * r[a] + j * SPACING[0] * c[a] for a in range(3))


def series(phi=PHI, **kw):
    return dt.axial_series(NX, NY, NZ, spacing=SPACING, step=STEP, origin=ORIGIN, orientation=ORIENT,
                           value=bright, series=SERIES_UID, phi=phi, **kw)


def read_nifti(raw):
    """(dims, affine rows, voxels as a flat list) of a NIfTI-1 file."""
    dims = struct.unpack_from("<8h", raw, 40)
    datatype = struct.unpack_from("<h", raw, 70)[0]
    offset = int(struct.unpack_from("<f", raw, 108)[0])
    slope, inter = struct.unpack_from("<ff", raw, 112)
    srow = [struct.unpack_from("<4f", raw, 280 + 16 * r) for r in range(3)]
    n = dims[1] * dims[2] * dims[3]
    fmt = {4: "h", 16: "f", 512: "H"}[datatype]
    vox = struct.unpack_from("<%d%s" % (n, fmt), raw, offset)
    if slope not in (0, 1) or inter:
        vox = [v * slope + inter for v in vox]
    return dims[1:4], srow, vox


class DicomTest(mt.MediaTestCase):
    def phi_values(self):
        return [v.encode() for v in PHI.values()] + [SERIES_UID.encode(), b"DOE", b"Quincy", b"QUINCY"]

    def assert_no_phi(self, blob, where):
        for v in self.phi_values():
            self.assertNotIn(v, blob, "%r found in %s" % (v, where))

    def test_series_converted_deidentified_and_in_place(self):
        self.start_stack()
        files = series()
        upload = dt.zip_bytes(files, compress=False)  # stored: the names are plainly in the upload
        self.assertIn(b"DOE^JANE^QUINCY", upload)
        item_id, item = self.upload_and_wait("series.zip", upload, slot_type="volume")
        self.assertEqual(item["status"], "ready", item)
        slot = item["slots"][0]
        self.assertEqual(slot["format"], "dicom")

        meta = self.slot_media(item_id)["media"]
        self.assertEqual(meta["modality"], "CT")
        self.assertEqual(meta["windows"][0], {"name": "source", "center": 40, "width": 400})
        self.assertIn("soft_tissue", [w["name"] for w in meta["windows"]])
        self.assertEqual(meta["source"], {"format": "dicom", "files": NZ, "deidentified": True,
                                          "profile": "PS3.15 Basic Profile, retain list"})
        self.assertEqual(sorted(meta["shape"]), sorted([NX, NY, NZ]))
        self.assertEqual(sorted(round(p, 4) for p in meta["pixdim"]), sorted([0.7, 0.9, STEP]))

        # every bright voxel of the normalized volume sits where the series put it (RAS = LPS with x, y negated)
        loc, r = self.follow("/api/v1/items/%s/slots/0/volume" % item_id)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body[344:348], b"n+1\0")  # uncompressed (volume_gzip_level 0, the default)
        (nx, ny, nz), srow, vox = read_nifti(r.body)
        found = []
        for k in range(nz):
            for j in range(ny):
                for i in range(nx):
                    if vox[i + nx * (j + ny * k)] > 1000:
                        found.append(tuple(srow[a][0] * i + srow[a][1] * j + srow[a][2] * k + srow[a][3]
                                           for a in range(3)))
        expect = []
        for k in BLOCK[2]:
            for j in BLOCK[1]:
                for i in BLOCK[0]:
                    x, y, z = lps_of(i, j, k)
                    expect.append((-x, -y, z))
        self.assertEqual(len(found), len(expect))
        for p in sorted(found):
            self.assertTrue(any(all(abs(p[a] - q[a]) < 0.01 for a in range(3)) for q in expect), (p, expect))
        # and the axial slice through it shows it (slice index = position along S)
        ks = sorted({round((p[2] - srow[2][3]) / srow[2][2]) for p in found})
        rr = self.client.get("/api/v1/items/%s/slots/0/volume/axial/%d?window=source&format=jpeg&quality=100"
                             % (item_id, ks[0]))
        self.assertEqual(rr.status, 200, rr.text)

        # the original is gone: nothing stored, served, kept in the database or logged names the patient
        r = self.client.get("/api/v1/items/%s/slots/0/original" % item_id)
        self.assertEqual(r.status, 404, r.text)
        scanned = 0
        for root, _, names in os.walk(self.sandbox.storage_dir):
            for name in names:
                scanned += 1
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                if data[:2] == b"\x1f\x8b":
                    data = gzip.decompress(data)
                self.assert_no_phi(data, os.path.join(root, name))
        self.assertGreaterEqual(scanned, 3)  # the volume, its thumbnail and preview at least
        tables = [row[0] for row in self.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        self.assertIn("slots", tables)
        for t in tables:
            rows = self.query('SELECT t::text FROM "%s" t' % t)
            self.assert_no_phi("\n".join(r[0] for r in rows).encode(), "table " + t)
        self.assert_no_phi(self.client.get("/api/v1/items/%s" % item_id).body, "the item")
        self.assert_no_phi(self.client.get("/api/v1/items/%s/slots/0/media" % item_id).body, "the slot media")
        # the intermediate files (the upload, the de-identified copies, dcm2niix's output, the
        # volume before it was stored) went through the worker's scratch directory and are gone
        pools = os.listdir(self.sandbox.scratch_dir)
        self.assertEqual(len(pools), 1, pools)
        self.assertTrue(pools[0].startswith("loupe-decoder-"), pools)
        left = sorted(os.path.join(root, n) for root, dirs, names in os.walk(self.sandbox.scratch_dir)
                      for n in dirs + names)
        pool = os.path.join(self.sandbox.scratch_dir, pools[0])
        self.assertEqual(left, [pool, os.path.join(pool, ".loupe-lock")])  # the worker's lock on it, nothing else
        self.assert_no_phi(self.daemon.log().encode(), "louped's log")
        self.assert_no_phi(self.workers[0].log().encode(), "the worker's log")

    def test_a_scratch_directory_without_room_is_passed_over(self):
        # worker_scratch_room asks for more free room than any disk has: the job works in
        # worker_tmp_dir, says so in the worker's log, and the volume is made all the same
        self.start_stack(worker_settings={"worker_scratch_room": "1000000000"})
        item_id, item = self.upload_and_wait("series.zip", dt.zip_bytes(series()), slot_type="volume")
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual(sorted(self.slot_media(item_id)["media"]["shape"]), sorted([NX, NY, NZ]))
        self.assertIn("worker_scratch_dir has less than 1000000000 times the upload's", self.workers[0].log())
        pools = os.listdir(self.sandbox.scratch_dir)
        self.assertEqual(len(pools), 1, pools)
        self.assertEqual(os.listdir(os.path.join(self.sandbox.scratch_dir, pools[0])), [".loupe-lock"])

    def test_single_file_and_kept_original(self):
        self.start_stack(worker_settings={"dicom_keep_original": "true", "volume_gzip_level": "1"})
        one = dt.axial_series(6, 4, 1, phi=PHI, syntax=dt.IMPLICIT)[0][1]
        item_id, item = self.upload_and_wait("slice.dcm", one, slot_type="volume")
        self.assertEqual(item["status"], "ready", item)
        self.assertEqual(item["slots"][0]["frame_count"], 1)
        _, r = self.follow("/api/v1/items/%s/slots/0/original" % item_id)
        self.assertEqual(r.body, one)  # the team keeps its originals: as uploaded
        loc, r = self.follow("/api/v1/items/%s/slots/0/volume" % item_id)
        self.assertTrue(loc.split("?")[0].endswith("/volume-ras.nii.gz"), loc)  # volume_gzip_level 1
        raw = gzip.decompress(r.body)
        self.assertEqual(raw[344:348], b"n+1\0")
        self.assert_no_phi(raw, "the volume")

    def test_hostile_series_end_in_error_and_the_worker_carries_on(self):
        self.start_stack()
        good = series(phi=None)
        small = dt.axial_series(NX - 2, NY, 1, spacing=SPACING, origin=(0, 0, 200), orientation=ORIENT,
                                series=SERIES_UID)
        small = [("b-" + name, data) for name, data in small]
        tiny = io.BytesIO()
        with zipfile.ZipFile(tiny, "w", zipfile.ZIP_STORED) as z:
            for n in range(10000):
                z.writestr("f%05d" % n, b"x")
        cases = [
            ("truncated.dcm", good[0][1][:-100], ["truncated"]),
            ("huge.dcm", dt.slice_file(b"\0" * 64, 60000, 60000, (0, 0, 0)), ["volume_max_side"]),
            ("tiny-files.zip", tiny.getvalue(), ["10000 members", "dicom_max_files"]),
            ("missing-slice.zip", dt.zip_bytes(good[:3] + good[4:]), ["slices are missing"]),
            ("mixed-size.zip", dt.zip_bytes(good + small), ["another image size"]),
            ("jpeg.zip", dt.zip_bytes(series(phi=None, syntax="1.2.840.10008.1.2.4.70")), ["JPEG", "not supported"]),
            ("tilted.zip", dt.zip_bytes(series(phi=None, tilt=12)), ["gantry tilt"]),
            ("nothing.zip", dt.zip_bytes([("readme.txt", b"hello")]), ["no DICOM file"]),
        ]
        for name, data, phrases in cases:
            _, item = self.upload_and_wait(name, data, slot_type="volume")
            self.assertEqual(item["status"], "error", (name, item))
            for p in phrases:
                self.assertIn(p, item["error"], (name, item))
        _, item = self.upload_and_wait("fine.zip", dt.zip_bytes(good), slot_type="volume")
        self.assertEqual(item["status"], "ready", item)
        self.assertTrue(all(w.alive() for w in self.workers))

    def test_converter_deadline_crash_and_no_network(self):
        """The converter runs confined: killed at dicom_timeout, a crash is an item error, it cannot
        open a socket, and (Landlock) it can read no file of the worker's and write nowhere but its
        output directory. A stand-in converter, written afresh for each case, reports what it could
        do on its last line, which the worker logs."""
        script, secret = self.path("converter.sh"), self.path("worker-secret")
        outside = self.path("written-by-the-converter")
        with open(secret, "w") as f:
            f.write("not for the converter\n")
        self.start_stack(worker_settings={"dicom_converter": script, "dicom_timeout": "1s"})
        upload = dt.zip_bytes(series(phi=None))
        for mode, phrase in (("network", "could not convert this series (exit status 1)"),
                             ("hang", "longer than dicom_timeout (1s)"), ("crash", "crashed on this series (signal 11)")):
            with open(script, "w") as f:
                f.write("#!/bin/bash\n"
                        "case \"$(ls \"${@: -1}\" | head -1)\" in\n"
                        "  slice-000000.dcm) ;;\n  *) echo 'input: not the de-identified series'; exit 3 ;;\n"
                        "esac\n"
                        "case %s in\n  hang) sleep 60 ;;\n  crash) kill -SEGV $$ ;;\nesac\n"
                        # errors go into its own directory (/dev/null is not among what it may open)
                        "if exec 3<>/dev/tcp/127.0.0.1/%d 2>net.err; then net=open; else net=refused; fi\n"
                        "if cat %s >read.out 2>read.err; then rd=open; else rd=refused; fi\n"
                        "if echo x 2>write.err >%s; then wr=open; else wr=refused; fi\n"
                        "if echo x >out.txt; then own=open; else own=refused; fi\n"
                        "echo \"network: $net; reading the worker's files: $rd; writing them: $wr; "
                        "its own directory: $own\"\n"
                        "exit 1\n" % (mode, self.daemon_port(), secret, outside))
            os.chmod(script, 0o755)
            _, item = self.upload_and_wait(mode + ".zip", upload, slot_type="volume")
            self.assertEqual(item["status"], "error", item)
            self.assertIn(phrase, item["error"])
        log = self.workers[0].log()
        files = "refused" if landlock_enabled() else "open"  # a kernel without Landlock: seccomp only
        self.assertIn("network: refused; reading the worker's files: %s; writing them: %s; its own directory: open"
                      % (files, files), log)
        self.assertEqual(os.path.exists(outside), files == "open")
        self.assertNotIn("input: not", log)
        self.assertTrue(self.workers[0].alive())

    def daemon_port(self):
        return 9  # the discard port: whether anything listens does not matter, socket() itself is refused


def landlock_enabled():
    """Whether this kernel has Landlock (the converter is confined by it then): the ruleset call's
    ABI query (landlock_create_ruleset, 444 on every architecture, with LANDLOCK_CREATE_RULESET_VERSION)."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)) > 0


if __name__ == "__main__":
    import unittest
    unittest.main()
