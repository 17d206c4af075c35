# ctest-timeout: 900
"""The volume viewer end to end in a real headless Chromium against a real louped and worker.

tests/e2e/volume.spec.mjs on a generated 96×80×48 CT-like phantom (an elliptic body of soft tissue,
two lungs, a bone ring, stored L→R with anisotropic spacing): opens it in NiiVue's three planes
and 3D render, sets each window preset, scrolls axial slices, paints with the brush and erases,
sees the mask and its raster layer frame saved through the annotations API, undoes and redoes a
polygon (each state saved), keeps a stroke made while the annotations API is unreachable through a
reload (the editor's journal) and saves it once it answers, and after a reload finds the painted
voxels back; on an item with two volume slots it switches from one to the other. Screenshots (1280×720 and 1920×1080) are kept under the build
directory (e2e-screenshots/volume)."""

import gzip
import struct
import unittest

import loupe_harness as lh
import web_e2e_lib as we

lh.require_services(("louped", "loupe-worker"))

NX, NY, NZ = 96, 80, 48


def phantom(NX=NX, NY=NY, NZ=NZ):
    """A NIfTI-1 int16 CT-like volume: air -1000, body 40, lungs -800, a bone ring 900."""
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, 3, NX, NY, NZ, 1, 1, 1, 1)
    struct.pack_into("<hh", h, 70, 4, 16)
    struct.pack_into("<8f", h, 76, 1.0, 2.0, 2.0, 3.0, 1, 1, 1, 1)
    struct.pack_into("<fff", h, 108, 352.0, 1.0, 0.0)
    struct.pack_into("<hh", h, 252, 0, 1)
    struct.pack_into("<12f", h, 280, -2.0, 0, 0, 95.0, 0, 2.0, 0, -80.0, 0, 0, 3.0, -72.0)
    h[344:348] = b"n+1\0"
    vox = bytearray(NX * NY * NZ * 2)
    for k in range(NZ):
        dz = (k - NZ / 2) / (NZ / 2)
        for j in range(NY):
            for i in range(NX):
                x, y = (i - NX / 2) / (NX * 0.42), (j - NY / 2) / (NY * 0.38)
                r = x * x + y * y + 0.3 * dz * dz
                v = -1000
                if r < 1:
                    v = 40
                    if 0.78 < r < 0.9:
                        v = 900
                    elif ((x - 0.4) ** 2 + y * y < 0.09 or (x + 0.4) ** 2 + y * y < 0.09) and abs(dz) < 0.8:
                        v = -800
                struct.pack_into("<h", vox, 2 * (i + NX * (j + NY * k)), v)
    return bytes(h) + b"\0\0\0\0" + bytes(vox)


class VolumeViewerEndToEndTest(lh.LoupeTestCase):
    def test_volume_viewer(self):
        we.require_browser_test()
        boot = self.bootstrap(team="Radiology", email="ada@example.com", password="correct horse battery")
        d = self.start_louped(settings={"web_dir": we.DIST})
        self.start_workers(1)
        client = d.client(api_key=boot["api_key"])
        r = client.post("/api/v1/classes", json={"name": "lesion", "annotation_types": ["mask", "raster_layer"],
                                                  "color": "#e4572e"})
        self.assertEqual(r.status, 201, r.text)
        cls = r.json()["id"]
        r = client.post("/api/v1/datasets", json={"name": "Scans"})
        self.assertEqual(r.status, 201, r.text)
        r = client.post("/api/v1/datasets/%s/items" % r.json()["id"],
                        json={"name": "chest.nii.gz", "slots": [{"name": "0", "type": "volume"}]})
        self.assertEqual(r.status, 201, r.text)
        item = r.json()["id"]
        r = client.put("/api/v1/items/%s/slots/0/file" % item, data=gzip.compress(phantom()),
                       headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 202, r.text)
        lh.wait_until(lambda: client.get("/api/v1/items/" + item).json()["status"] in ("ready", "error"), timeout=240,
                      message="the volume processed")
        got = client.get("/api/v1/items/" + item).json()
        self.assertEqual(got["status"], "ready", got)
        # an item with two volume slots (as a DICOM upload of two series makes): the viewer switches
        r = client.post("/api/v1/datasets/%s/items" % got["dataset_id"],
                        json={"name": "pair", "slots": [{"name": "0", "type": "volume"}, {"name": "0-2", "type": "volume"}]})
        self.assertEqual(r.status, 201, r.text)
        pair = r.json()["id"]
        for slot, data in (("0", phantom(32, 24, 16)), ("0-2", phantom(20, 28, 12))):
            r = client.put("/api/v1/items/%s/slots/%s/file" % (pair, slot), data=gzip.compress(data),
                           headers={"Content-Type": "application/octet-stream"})
            self.assertEqual(r.status, 202, r.text)
        lh.wait_until(lambda: client.get("/api/v1/items/" + pair).json()["status"] in ("ready", "error"), timeout=240,
                      message="the pair processed")
        env = {
            "LOUPE_E2E_URL": "http://127.0.0.1:%d" % d.port,
            "LOUPE_E2E_EMAIL": boot["email"],
            "LOUPE_E2E_PASSWORD": boot["password"],
            "LOUPE_E2E_API_KEY": boot["api_key"],
            "LOUPE_E2E_VOLUME_ITEM": item,
            "LOUPE_E2E_VOLUME_PAIR": pair,
            "LOUPE_E2E_CLASS": cls,
            "LOUPE_E2E_ARTIFACTS": we.artifacts_dir("volume"),
        }
        out = we.run_spec(self, "volume.spec.mjs", env)
        lh._say(out[-1500:])


if __name__ == "__main__":
    unittest.main()
