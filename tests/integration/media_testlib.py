"""Shared by the media integration tests: media made at run time, and the upload → ready round trip.

Images come from ffmpeg's lavfi sources and libvips' command line; EXIF orientation and hostile PNG
headers are written byte by byte here. Nothing is read from outside the test's work directory.
"""

import json
import os
import shutil
import struct
import subprocess
import time
import urllib.request
import zlib

import loupe_harness as lh


def have(tool):
    return shutil.which(tool) is not None


def require_tools(*tools, purpose="to make the test files"):
    """Skips the whole file (lh.skip_file) unless every tool is on PATH."""
    missing = [t for t in tools if not have(t)]
    if missing:
        lh.skip_file("%s needed %s (make deps installs ffmpeg and libvips-tools)" % (", ".join(missing), purpose))


def run(*argv, timeout=300):
    proc = subprocess.run([str(a) for a in argv], capture_output=True, timeout=timeout * lh.TIMEOUT_SCALE)
    if proc.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(map(str, argv)), proc.returncode,
                                                     proc.stderr.decode("utf-8", "replace")[-2000:]))
    return proc.stdout


def ffmpeg(*args):
    return run("ffmpeg", "-nostdin", "-v", "error", "-y", *args)


# ---- images ---------------------------------------------------------------------------------


def two_band_jpeg(path, width, height, top="red", bottom="blue", quality=2):
    """A JPEG whose top half is `top` and bottom half `bottom` (ffmpeg colour names)."""
    half = height // 2
    ffmpeg("-f", "lavfi", "-i", "color=c=%s:s=%dx%d" % (top, width, half),
           "-f", "lavfi", "-i", "color=c=%s:s=%dx%d" % (bottom, width, height - half),
           "-filter_complex", "vstack", "-frames:v", "1", "-q:v", str(quality), path)
    return path


def with_exif_orientation(jpeg, orientation):
    """The JPEG bytes with an EXIF APP1 segment holding only the orientation tag."""
    assert jpeg[:2] == b"\xff\xd8"
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8)
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff + ifd
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + app1 + jpeg[2:]


def png_grey(width, height, value=128):
    """A uniform grey PNG (RGB, every channel value)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes([value]) * (3 * width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def png_header_only(width, height):
    """A PNG whose IHDR (correct CRC) declares width × height, with one tiny IDAT: a decompression bomb's header."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) +
            chunk(b"IEND", b""))


def header(path, field):
    """A header field as vipsheader prints it; enums as libvips' short names ("srgb", "uchar")."""
    text = run("vipsheader", "-f", field, path).decode().strip()
    for prefix in ("VIPS_INTERPRETATION_", "VIPS_FORMAT_"):
        if prefix in text:
            return text.split(prefix, 1)[1].rstrip(")").lower()
    return text


def pixel(path, x, y):
    """The pixel at (x, y) as a list of band values."""
    return [float(v) for v in run("vips", "getpoint", path, str(x), str(y)).decode().split()]


def rgb_of(path_or_bytes, work_dir, name="decoded"):
    """(width, height, RGB24 bytes) of an image or one-frame file, decoded by ffmpeg."""
    path = path_or_bytes
    if isinstance(path_or_bytes, (bytes, bytearray)):
        path = os.path.join(work_dir, name + ".img")
        with open(path, "wb") as f:
            f.write(path_or_bytes)
    w = int(run("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width",
                "-of", "csv=p=0", path).decode().strip())
    h = int(run("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=height",
                "-of", "csv=p=0", path).decode().strip())
    raw = ffmpeg("-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    return w, h, raw


def mean_abs_diff(a, b):
    assert len(a) == len(b), (len(a), len(b))
    return sum(abs(x - y) for x, y in zip(a, b)) / float(len(a))


# ---- the stack ------------------------------------------------------------------------------


class MediaTestCase(lh.LoupeTestCase):
    """A test with louped, workers, an API client and one dataset."""

    def start_stack(self, settings=None, workers=1, worker_settings=None):
        self.boot = self.bootstrap()
        self.daemon = self.start_louped(settings)
        ws = dict(settings or {})
        ws.update(worker_settings or {})
        self.workers = [self.start_worker(ws) for _ in range(workers)]
        self.client = self.daemon.client(api_key=self.boot["api_key"])
        r = self.client.post("/api/v1/datasets", json={"name": "media", "slug": "media"})
        self.assertEqual(r.status, 201, r.text)
        self.dataset_id = r.json()["id"]
        return self.client

    def path(self, name):
        return os.path.join(self.sandbox.work_dir, name)

    def make_item(self, name, slots=(("0", "image"),)):
        r = self.client.post("/api/v1/datasets/%s/items" % self.dataset_id,
                             json={"name": name, "slots": [{"name": n, "type": t} for n, t in slots]})
        self.assertEqual(r.status, 201, r.text)
        return r.json()["id"]

    def put_file(self, item_id, data, slot="0", content_type="application/octet-stream", expect=202):
        if isinstance(data, str):
            with open(data, "rb") as f:
                data = f.read()
        r = self.client.put("/api/v1/items/%s/slots/%s/file" % (item_id, slot), data=data,
                            headers={"Content-Type": content_type})
        self.assertEqual(r.status, expect, r.text)
        return r

    def wait_item(self, item_id, timeout=120):
        """The item once its status is ready or error."""
        def done():
            r = self.client.get("/api/v1/items/%s" % item_id)
            self.assertEqual(r.status, 200, r.text)
            body = r.json()
            return body if body["status"] in ("ready", "error") else None
        return lh.wait_until(done, timeout=timeout, interval=0.2, message="item %s to be ready or error" % item_id)

    def put_slow_image(self, name="big.jpg"):
        """A 7000 x 5000 JPEG uploaded into a new item: its normalization takes seconds, long enough
        to kill a worker in the middle of it. The item's id."""
        big = self.path(name)
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=7000x5000", "-frames:v", "1", "-q:v", "4", big)
        item_id = self.make_item(name)
        self.put_file(item_id, big, content_type="image/jpeg")
        return item_id

    def upload_and_wait(self, name, data, slot_type="image", content_type="application/octet-stream", timeout=120):
        item_id = self.make_item(name, slots=(("0", slot_type),))
        self.put_file(item_id, data, content_type=content_type)
        return item_id, self.wait_item(item_id, timeout=timeout)

    def slot_media(self, item_id, slot="0"):
        r = self.client.get("/api/v1/items/%s/slots/%s/media" % (item_id, slot))
        self.assertEqual(r.status, 200, r.text)
        return r.json()

    def follow(self, path, expect_prefix=None):
        """GET path (a 302 to a signed URL), then the URL itself; returns (location, response)."""
        r = self.client.get(path)
        self.assertEqual(r.status, 302, r.text)
        loc = r.header("Location")
        if expect_prefix:
            self.assertTrue(loc.startswith(expect_prefix), loc)
        return loc, fetch(loc)

    def job(self, job_id):
        r = self.client.get("/api/v1/jobs/%s" % job_id)
        self.assertEqual(r.status, 200, r.text)
        return r.json()


def fetch(url, method="GET", data=None, headers=None):
    """An unauthenticated request to a signed URL; returns lh.Response for any status."""
    return lh.HttpClient("http://unused").request(method, url, data=data, headers=headers or {})


def save(work_dir, name, data):
    path = os.path.join(work_dir, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def jobs_of(testcase, item_id):
    """The media.normalize jobs of an item (via the database), oldest first."""
    return testcase.query("SELECT id, status, attempts FROM jobs WHERE kind = 'media.normalize' "
                          "AND payload->>'item_id' = '%s' ORDER BY created_at" % item_id)


def wait(predicate, timeout=60, message="condition"):
    return lh.wait_until(predicate, timeout=timeout, interval=0.1, message=message)


def sleep(seconds):
    time.sleep(seconds)


def dumps(value):
    return json.dumps(value, indent=1, sort_keys=True)
