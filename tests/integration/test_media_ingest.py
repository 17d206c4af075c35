"""Video ingest through the whole pipeline: the worker's one pass makes the mezzanine (keeping the
audio), the HLS renditions (fMP4, fixed segments) and the audio peaks; louped serves the frame
manifest and the playlists. Generated videos — H.264 with audio and a long GOP, rotated H.264,
VP9 at a variable frame rate without audio — are checked against ffprobe's full decode: the
manifest has as many frames, and the first frame of every segment (fetched by byte range through
its signed URL) is the frame the manifest says. Limits on codec and frame size are refused with
the reason on the item."""
# ctest-timeout: 600

import struct
import json
import os
import re
import unittest

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker"))
mt.require_tools("ffmpeg", "ffprobe", purpose="to make and check the test videos")


def expand(runs):
    """Values of [first, step, count] runs, in order."""
    out = []
    for first, step, count in runs:
        out.extend(first + i * step for i in range(count))
    return out


def decoded_frames(path):
    """(frame count, pts times) of a full decode of path's first video stream, by ffprobe."""
    out = mt.run("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                 "stream=nb_read_frames:frame=best_effort_timestamp_time,key_frame", "-of", "json", path)
    doc = json.loads(out)
    times = [float(f["best_effort_timestamp_time"]) for f in doc.get("frames", [])]
    keys = [int(f["key_frame"]) for f in doc.get("frames", [])]
    return int(doc["streams"][0]["nb_read_frames"]), times, keys


def streams(path):
    out = mt.run("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,width,height", "-of",
                 "json", path)
    return json.loads(out)["streams"]



def top_level_boxes(path):
    """The types of an MP4 file's top-level boxes, in order."""
    out = []
    with open(path, "rb") as f:
        while True:
            head = f.read(8)
            if len(head) < 8:
                return out
            size, kind = struct.unpack(">I4s", head)
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0] - 8
            out.append(kind.decode("latin-1"))
            f.seek(size - 8, 1)


class IngestTest(mt.MediaTestCase):
    def setUp(self):
        super().setUp()
        self.start_stack(settings={"thumbnail_size": "128", "preview_size": "256", "video_codecs": "h264,vp9",
                                   "video_max_side": "1000"})

    def make(self, name, *args):
        path = self.path(name)
        mt.ffmpeg(*args, path)
        return path

    def storage_path(self, item_id, member):
        rows = self.query("SELECT storage->>'%s' FROM slots WHERE item_id = '%s'" % (member, item_id))
        self.assertTrue(rows and rows[0][0], "slot storage has no %s" % member)
        return os.path.join(self.sandbox.storage_dir, rows[0][0])

    def ranged(self, url, byterange):
        """GET of a signed URL for 'length@offset'; checks 206 and the long cache."""
        length, offset = (int(x) for x in byterange.split("@"))
        r = mt.fetch(url, headers={"Range": "bytes=%d-%d" % (offset, offset + length - 1)})
        self.assertEqual(r.status, 206, r.text)
        self.assertEqual(len(r.body), length)
        self.assertIn("immutable", r.header("Cache-Control"))
        return r.body

    def check_video(self, item_id, src, renditions, audio):
        count, times, _ = decoded_frames(src)
        base = "/api/v1/items/%s/slots/0" % item_id
        r = self.client.get(base + "/manifest")
        self.assertEqual(r.status, 200, r.text)
        self.assertIn("immutable", r.header("Cache-Control"))
        r304 = self.client.get(base + "/manifest", headers={"If-None-Match": r.header("ETag")})
        self.assertEqual(r304.status, 304)
        m = r.json()
        # as many frames as a full decode, at the same times
        self.assertEqual(m["frame_count"], count)
        pts = expand(m["pts"])
        self.assertEqual(len(pts), count)
        tb = m["time_base"][0] / m["time_base"][1]
        t0 = pts[0] * tb
        for i in range(count):
            self.assertAlmostEqual(pts[i] * tb - t0, times[i] - times[0], delta=0.002, msg="frame %d" % i)
        g = m["segment_frames"]
        firsts = expand(m["segments"])
        self.assertEqual(firsts, list(range(0, count, g)))
        self.assertEqual(m["segment_count"], len(firsts))
        self.assertIn(0, expand(m["keyframes"]))

        media = self.slot_media(item_id)
        pb = media["playback"]
        self.assertEqual(pb["segment_frames"], g)
        self.assertEqual([t["name"] for t in pb["renditions"]], renditions)
        self.assertEqual(pb["audio"] is not None, audio)
        self.assertEqual(media["files"]["peaks"] is not None, audio)

        r = self.client.get(base + "/hls/master.m3u8")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.content_type, "application/vnd.apple.mpegurl")
        master = r.text
        for t in pb["renditions"]:
            self.assertIn("RESOLUTION=%dx%d" % (t["width"], t["height"]), master)
            self.assertIn("%s.m3u8" % t["name"], master)
        self.assertEqual('AUDIO="audio"' in master, audio)
        self.assertEqual(self.client.get(base + "/hls/master.m3u8",
                                         headers={"If-None-Match": r.header("ETag")}).status, 304)

        for t in pb["renditions"]:
            r = self.client.get(t["playlist"])
            self.assertEqual(r.status, 200, r.text)
            # names signed URLs: cached no longer than they are valid
            self.assertRegex(r.header("Cache-Control"), r"^private, max-age=[0-9]+$")
            pl = r.text
            init = re.search(r'#EXT-X-MAP:URI="([^"]+)",BYTERANGE="([0-9@]+)"', pl)
            self.assertIsNotNone(init, pl)
            self.assertEqual(mt.fetch(init.group(1)).status, 200)
            head = self.ranged(init.group(1), init.group(2))
            segs = re.findall(r"#EXT-X-BYTERANGE:([0-9@]+)\n(\S+)", pl)
            self.assertEqual(len(segs), len(firsts))
            for k, (br, url) in enumerate(segs):
                self.assertEqual(url, init.group(1))
                part = mt.save(self.sandbox.work_dir, "seg-%s-%d.mp4" % (t["name"], k), head + self.ranged(url, br))
                n, seg_times, keys = decoded_frames(part)
                first = firsts[k]
                # segment k holds frames first .. first + g - 1, starting with a keyframe
                self.assertEqual(n, min(g, count - first), "segment %d of %s" % (k, t["name"]))
                self.assertEqual(keys[0], 1)
                self.assertAlmostEqual(seg_times[0] - (pts[0] * tb), pts[first] * tb - pts[0] * tb, delta=0.002,
                                       msg="segment %d of %s starts at the wrong frame" % (k, t["name"]))
            rs = streams(part)
            self.assertEqual((rs[0]["width"], rs[0]["height"]), (t["width"], t["height"]))
        return m, pb

    def test_h264_with_audio_long_gop(self):
        src = self.make("av.mp4", "-f", "lavfi", "-i", "testsrc2=size=640x400:rate=25:duration=3", "-f", "lavfi",
                        "-i", "sine=frequency=440:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-g", "250",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")
        item_id, item = self.upload_and_wait("av.mp4", src, slot_type="video", content_type="video/mp4")
        self.assertEqual(item["status"], "ready", item)
        m, pb = self.check_video(item_id, src, ["1080p", "360p"], audio=True)
        self.assertEqual(m["segment_frames"], 50)
        self.assertEqual(expand(m["keyframes"]), [0])  # the source's one keyframe
        self.assertEqual((pb["renditions"][0]["width"], pb["renditions"][0]["height"]), (640, 400))
        self.assertEqual((pb["renditions"][1]["width"], pb["renditions"][1]["height"]), (576, 360))
        # the mezzanine keeps the audio stream
        mezz = streams(self.storage_path(item_id, "mezzanine"))
        self.assertEqual(sorted(s["codec_type"] for s in mezz), ["audio", "video"])
        self.assertEqual(self.slot_media(item_id)["media"]["mezzanine"]["audio"], "copy")
        # and one global index (sidx) ahead of its fragments, so a reader opens it without
        # reading every fragment's header
        boxes = top_level_boxes(self.storage_path(item_id, "mezzanine"))
        self.assertIn("sidx", boxes, boxes)
        self.assertLess(boxes.index("sidx"), boxes.index("moof"), boxes)
        # the audio track of the renditions and its playlist
        r = self.client.get(pb["audio"]["playlist"])
        self.assertEqual(r.status, 200, r.text)
        self.assertIn("#EXT-X-BYTERANGE:", r.text)
        # peaks: header and one min/max pair per 10 ms
        r = mt.fetch(self.slot_media(item_id)["files"]["peaks"]["url"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body[:8], b"LPPEAKS\n")
        buckets = int.from_bytes(r.body[24:32], "little")
        self.assertAlmostEqual(buckets, 300, delta=5)
        self.assertEqual(len(r.body), 32 + 2 * buckets)
        # unknown playlists
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/hls/720p.m3u8" % item_id), 404)
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/hls/master" % item_id), 404)

    def test_vp9_variable_rate_and_rotated(self):
        vfr = self.make("vfr.webm", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-vf",
                        "setpts='if(lt(N,10),N/25,0.4+(N-10)/10)/TB'", "-fps_mode", "vfr", "-c:v", "libvpx-vp9",
                        "-deadline", "realtime", "-cpu-used", "8", "-g", "30")
        item_id, item = self.upload_and_wait("vfr.webm", vfr, slot_type="video")
        self.assertEqual(item["status"], "ready", item)
        m, _ = self.check_video(item_id, vfr, ["360p"], audio=False)
        self.assertTrue(m["variable_frame_rate"])
        self.assertGreater(len(m["pts"]), 1)
        self.assertEqual(self.slot_media(item_id)["files"]["peaks"], None)

        plain = self.make("plain.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "1",
                          "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p")
        rot = self.make("rot.mp4", "-i", plain, "-c", "copy", "-metadata:s:v", "rotate=90")
        item_id, item = self.upload_and_wait("rot.mp4", rot, slot_type="video")
        self.assertEqual(item["status"], "ready", item)
        _, pb = self.check_video(item_id, rot, ["360p"], audio=False)
        # upright in the pixels
        self.assertEqual((pb["renditions"][0]["width"], pb["renditions"][0]["height"]), (240, 320))

    def test_limits_refused_with_reason(self):
        mp4v = self.make("mpeg4.avi", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "1",
                         "-c:v", "mpeg4")
        item_id, item = self.upload_and_wait("mpeg4.avi", mp4v, slot_type="video")
        self.assertEqual(item["status"], "error", item)
        self.assertIn("mpeg4", item["error"])
        self.assertIn("video_codecs", item["error"])
        wide = self.make("wide.mp4", "-f", "lavfi", "-i", "testsrc2=size=1280x64:rate=10", "-t", "1",
                         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
        item_id, item = self.upload_and_wait("wide.mp4", wide, slot_type="video")
        self.assertEqual(item["status"], "error", item)
        self.assertIn("video_max_side", item["error"])
        self.assertProblem(self.client.get("/api/v1/items/%s/slots/0/manifest" % item_id), 409)


if __name__ == "__main__":
    unittest.main()
