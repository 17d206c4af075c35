#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/ (valid inputs
and near-misses). Run it again after changing a format; crash inputs found by `make fuzz` are
added by hand (named crash-<what>) and are never removed. Existing files are left alone."""

import binascii
import gzip
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import dicom_testlib as dicom  # noqa: E402  (DICOM files written byte by byte)


def coco(counts):
    """COCO's compressed RLE string of a run-length list (as pycocotools writes it)."""
    out = []
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if c & 0x10 else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out).encode()


def nifti1(dims=(3, 4, 3, 2), datatype=4, bitpix=16, magic=b"n+1\0", offset=352.0, data=True, endian="<"):
    """A single-file NIfTI-1 volume: header, empty extension flag, voxels (counting up)."""
    h = bytearray(348)
    struct.pack_into(endian + "i", h, 0, 348)
    dim = list(dims) + [1] * (8 - len(dims))
    struct.pack_into(endian + "8h", h, 40, *dim)
    struct.pack_into(endian + "hh", h, 70, datatype, bitpix)
    struct.pack_into(endian + "8f", h, 76, 1.0, 1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0)
    struct.pack_into(endian + "fff", h, 108, offset, 1.0, 0.0)
    struct.pack_into(endian + "hh", h, 252, 1, 1)  # qform, sform codes
    struct.pack_into(endian + "12f", h, 280, -1, 0, 0, 4, 0, 0, 2, -5, 0, 3, 0, 6)  # srow_x/y/z (LSA)
    h[344:348] = magic
    out = bytes(h) + b"\0\0\0\0"
    if data:
        n = 1
        for d in dims[1:dims[0] + 1]:
            n *= d
        out += b"".join(struct.pack(endian + "h", i % 200 - 50) for i in range(n))
    return out


def labels(dims=(3, 8, 6, 4), srow=(-2, 0, 0, 7, 0, 1, 0, 0, 0, 0, 3, 0), datatype=2, bitpix=8):
    """A NIfTI-1 label map (uint8 by default) on the import fuzz target's volume grid, labels 0..3."""
    h = bytearray(nifti1(dims=dims, datatype=datatype, bitpix=bitpix, data=False)[:348])
    struct.pack_into("<12f", h, 280, *srow)
    n = dims[1] * dims[2] * dims[3]
    size = bitpix // 8
    fmt = {1: "B", 2: "h", 4: "f"}[size]
    return bytes(h) + b"\0\0\0\0" + b"".join(struct.pack("<" + fmt, (i * 7) % 4) for i in range(n))


def nifti2(dims=(3, 2, 2, 2)):
    h = bytearray(540)
    struct.pack_into("<i8shh", h, 0, 540, b"n+2\0\r\n\x1a\n", 2, 8)
    struct.pack_into("<8q", h, 16, *(list(dims) + [1] * (8 - len(dims))))
    struct.pack_into("<8d", h, 104, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into("<q", h, 168, 544)
    return bytes(h) + b"\0\0\0\0" + bytes(range(8))


def dense(values):
    return b"".join(struct.pack("<h", v) for v in values)


def video_index(pts_flags, num=1, den=25, vfr=False, bad_crc=False, version=1):
    recs = b"".join(struct.pack("<qB", p, f) for p, f in pts_flags)
    crc = binascii.crc32(recs) ^ (1 if bad_crc else 0)
    head = b"LPVIDX\r\n" + struct.pack("<HHIiiiIqq", version, 48, 1 if vfr else 0, num, den, 0, crc,
                                         len(pts_flags), 0)
    return head + recs


ID = "0b7e3f1c-5d1a-4c1e-9a55-1f0e2d3c4b5a"
CLS = '"class_id":"6a52a094-d998-4e6e-81b3-6beeebfaae0b"'

WF_REVIEW_LOOP = (b'{"stages":[{"id":"in","type":"dataset"},{"id":"ann","type":"annotate","config":{"assignees":"any"}},'
                  b'{"id":"rev","type":"review"},{"id":"done","type":"complete"}],'
                  b'"edges":[{"from":"in","port":"next","to":"ann"},{"from":"ann","port":"done","to":"rev"},'
                  b'{"from":"rev","port":"approve","to":"done"},{"from":"rev","port":"reject","to":"ann"}]}')
WF_EVERY_TYPE = ('{"stages":[{"id":"in","type":"dataset"},{"id":"s","type":"sampling","config":{"percent":30}},'
                 '{"id":"a","type":"annotate","config":{"assignees":["%s"],"max_open_tasks":5,"states":["new","wip"]}},'
                 '{"id":"c","type":"consensus","config":{"annotators":3,"iou_threshold":0.6}},'
                 '{"id":"l","type":"logic","config":{"rules":[{"name":"cars","when":{"class_present":"%s",'
                 '"annotation_count":{"gte":1},"metadata":{"camera":"left"},"path":"/city","name_pattern":"*.png",'
                 '"slot_type":"video","property":{"name":"colour","value":"red"}}}]}},'
                 '{"id":"w","type":"webhook","config":{"wait":false}},{"id":"r","type":"review"},'
                 '{"id":"done","type":"complete"},{"id":"d","type":"discard"}],'
                 '"edges":[{"from":"in","port":"next","to":"s"},{"from":"s","port":"sampled","to":"a"},'
                 '{"from":"s","port":"rest","to":"l"},{"from":"a","port":"done","to":"c"},'
                 '{"from":"c","port":"agree","to":"l"},{"from":"c","port":"disagree","to":"r"},'
                 '{"from":"r","port":"approve","to":"l"},{"from":"r","port":"reject","to":"a"},'
                 '{"from":"l","port":"cars","to":"w"},{"from":"l","port":"default","to":"d"},'
                 '{"from":"w","port":"next","to":"done"}]}' % (ID, ID)).encode()
WF_TOP_SERIES = (b'{"stages":[{"id":"in","type":"dataset"},{"id":"t2","type":"sampling","config":{"top":2}},'
                 b'{"id":"t3","type":"sampling","config":{"top":3,"score":"priority"}},{"id":"x","type":"discard"},'
                 b'{"id":"ann","type":"annotate","config":{"assignees":"any"}}],'
                 b'"edges":[{"from":"in","port":"next","to":"t3"},{"from":"t3","port":"sampled","to":"t2"},'
                 b'{"from":"t3","port":"rest","to":"x"},{"from":"t2","port":"sampled","to":"ann"},'
                 b'{"from":"t2","port":"rest","to":"x"},{"from":"ann","port":"done","to":"ann"}]}')

def png(w, h, rows, filters=None, color=3):
    """An 8-bit one-channel PNG of rows (lists of values), each with its filter byte (0 unless given)."""
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(bytes([(filters or [0] * h)[y]]) + bytes(rows[y]) for y in range(h))
    plte = chunk(b"PLTE", bytes(range(9))) if color == 3 else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)) + plte +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def zipfile_bytes(members, symlink=None):
    """A ZIP archive of (name, bytes, deflated) members; symlink names one stored as a Unix symlink."""
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data, deflated in members:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
            if name == symlink:
                info.external_attr = (0o120777 << 16)
            z.writestr(info, data)
    return out.getvalue()


def webhook_signed(secret, msg_id, ts, body):
    """secret NUL id NUL timestamp NUL header NUL body, the header signed as Standard Webhooks does."""
    import base64
    import hashlib
    import hmac
    key = base64.b64decode(secret[len("whsec_"):])
    sig = base64.b64encode(hmac.new(key, b"%s.%s.%s" % (msg_id, ts, body), hashlib.sha256).digest())
    return b"\0".join([secret, msg_id, ts, b"v1," + sig, body])


def ppm(w, h):
    return b"P6\n%d %d\n255\n" % (w, h) + bytes(3 * w * h)


# api_body_fuzz: byte 0 picks the route among those with a JSON body (in routes.def order, modulo
# their count); the seeds cover each index with a body of the shape most routes read.
API_BODIES = [b"{}", b'{"name":"n","slug":"s"}', b'{"url":"https://example.com/h","events":["item.*"]}',
              b'{"filters":{"dataset_id":"00000000-0000-4000-8000-0000000000c3"},"priority":1e999}',
              b'{"annotations":[{"type":"bounding_box","data":{"x":1,"y":2,"w":3,"h":4}}]}', b"[]",
              b'{"name":"\\ud800","email":"a@b","password":"x","role":"owner"}']


SEEDS = {
    "traceparent_fuzz": {
        "valid": b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "uppercase": b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        "zero-trace": b"00-00000000000000000000000000000000-00f067aa0ba902b7-00",
        "version-ff": b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "later-version": b"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds",
        "v00-extra": b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        "short": b"00-4bf92f35-00f067aa-01",
    },
    "unzip_fuzz": {
        "stored-and-deflated": zipfile_bytes([("a.txt", b"hello", False), ("d/", b"", False),
                                              ("d/b.json", b'{"x":1}' * 20, True)]),
        "zip-slip": zipfile_bytes([("../../etc/x", b"x", False)]),
        "absolute": zipfile_bytes([("/tmp/x", b"x", False)]),
        "symlink": zipfile_bytes([("link", b"/etc/passwd", False)], symlink="link"),
        "bomb": zipfile_bytes([("zeros", bytes(2 << 20), True)]),
        "truncated": zipfile_bytes([("a.txt", b"hello" * 50, True)])[:-30],
    },
    "net_addr_fuzz": {
        "loopback": b"127.0.0.1", "mapped": b"::ffff:127.0.0.1", "bracketed": b"[fe80::1]",
        "decimal-url": b"http://2130706433/", "hex-url": b"https://0x7f000001/x", "octal-url": b"http://017700000001/",
        "v6-url": b"http://[::ffff:7f00:1]:8080/x", "credentials": b"https://user:pw@example.com/", "unspecified": b"0.0.0.0",
        "metadata": b"http://169.254.169.254/latest/meta-data/", "allowlist": b"10.0.0.0/8, ::1/128,127.0.0.2",
        "nat64": b"64:ff9b::7f00:1", "public": b"https://example.com:443/a?b#c",
    },
    "webhook_sig_fuzz": {
        "valid": webhook_signed(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b"msg_1", b"1700000000", b'{"type":"x"}'),
        "stale": webhook_signed(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b"msg_1", b"1600000000", b"{}"),
        "several": b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\0m\01700000000\0v1,AAAA v2,BBBB v1,\0body",
        "bad-secret": b"whsec_***\0m\0-1\0v1,=\0",
    },
    "queue_messages_fuzz": {
        "webhook-wakeup": b'{"v":1,"due_at":1700000000000}', "webhook-old": b'{"v":1,"delivery_id":"x"}',
        "webhook-bad-due": b'{"v":1,"due_at":"soon"}',
        "infer-request": b'{"v":1,"rpc":"models.infer","team_id":"t","model_id":"m","item_id":"i","slot":"0",'
                         b'"expires_at_ms":1}',
        "model-spec": b'{"name":"faces","task":"detect","runtime":"onnx","input":{"width":128,"height":128,'
                      b'"layout":"nchw","mean":[0,0,0],"std":[1,1,1]},"output":{"decoder":"blazeface"},'
                      b'"labels":["face"],"class_map":{"face":"00000000-0000-4000-8000-0000000000c3"}}',
        "model-spec-bad": b'{"task":1,"labels":[null],"score_threshold":1e999,"output":{"strides":[-1]}}',
    },
    "media_probe_fuzz": {
        "png": png(4, 3, [[0, 1, 1, 0], [2, 2, 0, 0], [0, 0, 0, 1]]),
        "png-truncated": png(4, 3, [[0, 1, 1, 0], [2, 2, 0, 0], [0, 0, 0, 1]])[:40],
        "png-huge": png(1, 1, [[1]]).replace(b"\x00\x00\x00\x01\x00\x00\x00\x01\x08", b"\x7f\xff\xff\xff\x7f\xff\xff\xff\x08"),
        "ppm": ppm(2, 2), "ppm-short": b"P6\n99999 99999\n255\n", "ppm-spaces": b"P6 \t2\n\n2 255\n" + bytes(12),
        "gif-header": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "svg-polyglot": b"\x89PNG\r\n\x1a\n<svg/>",
        "jpeg-soi": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "mp4-ftyp": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
        "hls-playlist": b"#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1/x.ts\n",
    },
    "api_body_fuzz": dict(("route-%02d-%d" % (i, j), bytes([i]) + body)
                          for i in range(48) for j, body in enumerate(API_BODIES) if (i + j) % 3 == 0 or j == 0),
    "api_request_fuzz": {
        "items-page": b"\x00/api/v1/items?page[size]=5&page[after]=YWJjH3h5eg",
        "items-filters": b"\x00/api/v1/datasets/00000000-0000-4000-8000-0000000000c3/items?status=ready&sort=-name&q=%00",
        "bad-page": b"\x00/api/v1/datasets?page[size]=-1&page[size]=99999999999999999999",
        "tasks": b"\x00/api/v1/tasks?stage_id=x&assignee=me&state=open,done",
        "no-method": b"\x03/api/v1/datasets", "dotdot": b"\x00/api/v1/../../etc/passwd",
        "nul-in-path": b"\x00/api/v1/items/%00", "encoded-slash": b"\x00/files/a%2F..%2F..%2Fx",
        "deep": b"\x00/" + b"a/" * 200, "jobs": b"\x00/api/v1/jobs?status=running&kind=%ff%fe",
        "audit": b"\x00/api/v1/audit?since=1e999&until=NaN", "post-items": b"\x01/api/v1/items/move?x=1",
    },

    "rle_fuzz": {
        # bytes 0 and 1: width and height - 1 (mod 64); then the COCO string / dense values
        "coco-4x4-square": b"\x03\x03" + coco([5, 2, 2, 2, 5]),
        "coco-8x2-empty": b"\x07\x01" + coco([16]),
        "coco-1x1-full": b"\x00\x00" + coco([0, 1]),
        "coco-too-long": b"\x01\x01" + coco([3, 9]),
        "coco-bad-char": b"\x03\x03" + b"5\x7f2",
        "dense-3x3": b"\x02\x02" + dense([0, 4, 1, 5]),
        "dense-negative": b"\x02\x02" + dense([1, -3, 2, 12]),
        "empty": b"",
    },
    "volume_dicom_fuzz": {
        "ct-explicit": dicom.axial_series(4, 3, 1, phi={"PatientName": "DOE^JANE"})[0][1],
        "ct-implicit": dicom.axial_series(3, 2, 1, syntax=dicom.IMPLICIT)[0][1],
        "jpeg-syntax": dicom.axial_series(2, 2, 1, syntax="1.2.840.10008.1.2.4.70")[0][1],
        "huge-dims": dicom.slice_file(b"\0" * 8, 60000, 60000, (0, 0, 0)),
        "truncated": dicom.axial_series(4, 3, 1)[0][1][:-9],
        "tilt": dicom.axial_series(2, 2, 1, tilt=15)[0][1],
    },
    "volume_nifti_fuzz": {
        "int16-lsa": nifti1(),
        "big-endian": nifti1(endian=">"),
        "4d-two-volumes": nifti1(dims=(4, 2, 2, 2, 2)),
        "float32": nifti1(datatype=16, bitpix=32, data=False) + struct.pack("<12f", *range(12)) * 2,
        "nifti2-uint8": nifti2(),
        "truncated-data": nifti1()[:360],
        "huge-dims": nifti1(dims=(3, 32767, 32767, 32767), data=False),
        "two-file-magic": nifti1(magic=b"ni1\0"),
        "rgb": nifti1(datatype=128, bitpix=24),
        "offset-inside": nifti1(offset=100.0),
    },
    "config_fuzz": {
        "valid": b"# comment\n\nhttp_port = 9000\nstorage_dir = \"/srv/loupe data\"\n"
                 b"log_level = debug  # trailing comment\nhttp_body_limit=2M\n",
        "durations": b"shutdown_grace = 1500ms\ndb_pool_size = 8\n",
        "no-equals": b"http_port 9000\n",
        "unknown-key": b"no_such_setting = 1\n",
        "unterminated-quote": b"storage_dir = \"/srv\n",
        "size-overflow": b"http_body_limit = 99999999999999999999T\n",
        "bool-and-nul": b"s3_path_style = yes\x00\nhttp_port = -1\n",
    },
    "media_video_index_fuzz": {
        "cfr-3-frames": video_index([(0, 1), (1, 0), (2, 0)]),
        "vfr-bframes": video_index([(0, 1), (3, 0), (7, 1), (8, 0)], num=1, den=1000, vfr=True),
        "bad-crc": video_index([(0, 1), (1, 0)], bad_crc=True),
        "no-keyframe": video_index([(0, 0), (1, 0)]),
        "not-increasing": video_index([(5, 1), (5, 0)]),
        "version-2": video_index([(0, 1)], version=2),
        "truncated": video_index([(0, 1), (1, 0)])[:60],
        "zero-time-base": video_index([(0, 1)], num=0),
    },
    "s3_xml_fuzz": {
        "initiate": b'<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult '
                    b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key>'
                    b"<UploadId>VXBsb2FkSWQ</UploadId></InitiateMultipartUploadResult>",
        "complete": b"<CompleteMultipartUploadResult><ETag>&quot;3858f62230ac3c915f300c664312c11f-2&quot;"
                    b"</ETag></CompleteMultipartUploadResult>",
        "error": b"<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
                 b"</Error>",
        "unterminated": b"<Error><Code>NoSuch",
        "cdata-and-entities": b"<Error><Message><![CDATA[a<b]]>&amp;&#x41;&#65;&bogus;</Message></Error>",
        "empty": b"",
    },
    "annotation_fuzz": {
        "rotated-box": ('{%s,"rotated_box":{"x":1,"y":2,"w":30,"h":10,"angle":0.5},"frames":{"0":{"rotated_box":'
                        '{"x":1,"y":2,"w":30,"h":10,"angle":-3},"keyframe":true},"9":{"rotated_box":{"x":1,"y":2,'
                        '"w":-1,"h":1e400,"angle":"x"}}}}' % CLS).encode(),
        "polygon-box": ('{%s,"polygon":{"paths":[[{"x":1,"y":2},{"x":3,"y":4},{"x":5,"y":0}]]},'
                        '"bounding_box":{"x":1,"y":0,"w":4,"h":4},"text":{"text":"hi"},"z":-2,'
                        '"instance_id":{"value":3},"name":"kept"}' % CLS).encode(),
        "line": ('{%s,"line":{"path":[{"x":1,"y":2},{"x":8,"y":9}]}}' % CLS).encode(),
        "video-frames": ('{%s,"frames":{"10":{"keypoint":{"x":1,"y":1}},"2":{"keyframe":false,'
                         '"tag":{}}},"ranges":[[2,12]]}' % CLS).encode(),
        "rle-mask": ('{%s,"raster_layer":{"dense_rle":[0,4,1,5],"mask_annotation_ids_mapping":{}}}'
                     % CLS).encode(),
        "wrong-types": ('{"polygon":{"paths":[[{"x":1,"y":2},{"x":"3","y":4},{"x":5}]]},"confidence":2,'
                        '%s}' % CLS).encode(),
        "deep-nesting": b"[" * 200 + b"]" * 200,
        "bad-escape": b'{"class_id":"\\ud800","tag":{}}',
        "truncated": ('{%s,"polygon":{"paths":[[{"x":1' % CLS).encode(),
        "darwin-types": ('{"id":"uuid-1","name":"doc","slot_names":["0"],"table":{"bounding_box":'
                         '{"x":1,"y":2,"w":3,"h":4},"cells":[]},"annotators":[{"email":"a@b.c","full_name":"A"}],'
                         '"inference":{"confidence":0.5},"measures":{}}').encode(),
        "legacy-polygon": ('{%s,"polygon":{"path":[{"x":0,"y":0},{"x":4,"y":0},{"x":4,"y":4}]},'
                           '"complex_polygon":{"path":[[{"x":0,"y":0}]]}}' % CLS).encode(),
        "video-as-sent": ('{"name":"car","frames":{"0":{"keypoint":{"x":1,"y":1},"graph":{"nodes":[],'
                          '"edges":[]}}},"hidden_areas":[],"interpolated":false}').encode(),
    },
    "job_message_fuzz": {
        "echo": ('{"v":1,"job_id":"%s","kind":"system.echo"}' % ID).encode(),
        "normalize-extra": ('{"kind":"media.normalize","job_id":"%s","v":1,"attempt":3,"extra":[1]}' % ID).encode(),
        "duplicate-key": b'{"v":1,"v":1}',
        "version-2": ('{"v":2,"job_id":"%s","kind":"system.echo"}' % ID).encode(),
        "bad-id-kind": b'{"v":1,"job_id":"nope","kind":"System.Echo","attempt":0}',
        "not-json": b"\xff\xfe{",
    },
    "http_range_fuzz": {
        "first-100": b"bytes=0-99",
        "suffix": b"bytes=-500",
        "open-end": b"bytes=9500-",
        "multi": b"bytes=0-1,5-9",
        "reversed": b"bytes=10-5",
        "overflow": b"bytes=0-184467440737095516150",
        "unit": b"items=0-1",
        "spaces": b"bytes = 1 - 2",
    },
    "workflow_graph_fuzz": {
        "review-loop": WF_REVIEW_LOOP,
        "every-type": WF_EVERY_TYPE,
        "top-in-series": WF_TOP_SERIES,
        "automatic-loop": WF_EVERY_TYPE.replace(b'"default","to":"d"', b'"default","to":"s"'),
        "unjoined-port": WF_REVIEW_LOOP.replace(b',{"from":"rev","port":"reject","to":"ann"}', b""),
        "bad-config": b'{"stages":[{"id":"in","type":"dataset","config":{"states":[]}},'
                      b'{"id":"s","type":"sampling","config":{"percent":1e300,"top":-1}}],"edges":[{}]}',
        "model": b'{"stages":[{"id":"in","type":"dataset"},{"id":"m","type":"model"}],'
                 b'"edges":[{"from":"in","port":"next","to":"m"}]}',
        "not-object": b"[]",
        "deep-nesting": b'{"stages":' + b"[" * 100 + b"]" * 100 + b"}",
    },
    "voc_import_fuzz": {
        "robndbox": b"<annotation><filename>a.jpg</filename><size><width>100</width><height>80</height></size>"
                    b"<object><name>cat</name><bndbox><xmin>10</xmin><ymin>20</ymin><xmax>50</xmax><ymax>60</ymax>"
                    b"</bndbox><robndbox><cx>30</cx><cy>40</cy><w>30</w><h>10</h><angle>0.5</angle></robndbox>"
                    b"</object><object><name>c</name><robndbox><cx>nan</cx><w>-1</w></robndbox></object></annotation>",
        "voc": b"<annotation><folder>x</folder><filename>a.jpg</filename><size><width>10</width><height>8</height>"
               b"<depth>3</depth></size><object><name>cat</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>5</xmax>"
               b"<ymax>8</ymax></bndbox><loupe_id>a1</loupe_id></object></annotation>",
        "voc-bad-box": b"<annotation><object><name>c</name><bndbox><xmin>9</xmin><ymin>1e400</ymin><xmax>-1</xmax>"
                       b"</bndbox></object><object/></annotation>",
        "labelmap": b"# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:255,0,0::\na:b:1,2,3::\nbad\n",
        "doctype": b'<!DOCTYPE a [<!ENTITY x "y">]><annotation>&x;</annotation>',
        "deep": b"<annotation>" + b"<object>" * 40 + b"</object>" * 40 + b"</annotation>",
    },
    "yolo_import_fuzz": {
        "obb": b"task: obb\nnames: [a, b]\n0 0.1 0.1 0.5 0.1 0.5 0.3 0.1 0.3\n1 0.2 0.1 0.5 0.4 0.2 0.7 -0.1 0.4\n"
               b"0 0.1 0.1 0.5 0.1 0.5 0.3\n0 nan 0 0 0 0 0 0 0\n",
        "data-yaml": b"path: .\ntrain: images\ntask: detect\nnc: 2\nnames:\n  0: \"cat\"\n  1: \"d\\u00e9g\"\n",
        "names-inline": b"names: ['a', \"b\", c]\nnames: {0: x, 1: 'y''s'}\n",
        "names-list": b"names:\n  - a\n  -\n  - 'b\n",
        "detect": b"0 0.5 0.5 0.25 0.125\n1 0.1 0.2 0.3 0.4\n",
        "segment": b"0 0.1 0.1 0.9 0.1 0.9 0.9 0.1 0.9\n",
        "bad-lines": b"0 nan 0.5 0.1 0.1\n-1 0 0 0 0\n99999999999 1 1 1 1\n0 1e400 0 0 0\n0 0.5\n",
        "pose": b"task: pose\nkpt_shape: [3, 3]\nnames: [p, q]\nkpt_names:\n  0: [\"a\", \"b, c\"]\n  1:\n    - x\n"
                b"    -\n  99999999: [z]\nkpt_edges:\n  0: [[0, 1], [1, 9], [2]]\n  1: [[0, 0]\n"
                b"0 0.5 0.5 0.2 0.2 0.1 0.1 2 0.2 0.2 1 0 0 0\n1 0.5 0.5 0.2 0.2 0.1 0.1 2 0.2 0.2 0 0.3 0.3 2\n"
                b"0 0.5 0.5 0.2 0.2 0.1\n",
        "pose-2d": b"task: pose\nkpt_shape: [2, 2]\nnames:\n  0: p\n0 0.5 0.5 0.2 0.2 0.1 0.1 0.2 0.2\n",
    },
    "cvat_import_fuzz": {
        "rotated": b'<annotations><image id="0" name="r.jpg" width="100" height="80">'
                   b'<box label="c" xtl="10" ytl="20" xbr="50" ybr="30" rotation="30.5"/>'
                   b'<box label="c" xtl="1" ytl="2" xbr="3" ybr="4" rotation="-1e400"/></image>'
                   b'<track id="0" label="c"><box frame="0" keyframe="1" outside="0" xtl="0" ytl="0" xbr="2" ybr="2" '
                   b'rotation="0"/><box frame="5" keyframe="1" outside="0" xtl="0" ytl="0" xbr="2" ybr="2" '
                   b'rotation="90"/></track></annotations>',
        "images": b'<annotations><version>1.1</version><image id="0" name="a/b.jpg" width="10" height="8">'
                  b'<box label="c" xtl="1" ytl="2" xbr="3" ybr="4" z_order="1" source="auto"/>'
                  b'<polygon label="c" points="0,0;4,0;4,4"/><polyline label="c" points="0,0;1,1"/>'
                  b'<points label="c" points="1,1"/><ellipse label="c" cx="5" cy="4" rx="2" ry="1" rotation="30"/>'
                  b'<skeleton label="p"><points label="n" points="1,2" occluded="1"/><points label="e" points="x"/>'
                  b'</skeleton><tag label="c"/><mask label="c" rle="1, 2" left="0" top="0" width="1" height="3"/>'
                  b'</image></annotations>',
        "video": b'<annotations><meta><task><name>v.mp4</name><size>20</size></task></meta>'
                 b'<track id="0" label="c"><box frame="0" keyframe="1" outside="0" xtl="0" ytl="0" xbr="2" ybr="2"/>'
                 b'<box frame="4" keyframe="0" outside="0" xtl="1" ytl="1" xbr="3" ybr="3"/>'
                 b'<box frame="10" keyframe="1" outside="1" xtl="1" ytl="1" xbr="3" ybr="3"/>'
                 b'<polygon frame="12" keyframe="1" outside="0" points="0,0;1,0;1,1"/></track>'
                 b'<track label="c"><box frame="5" outside="0" xtl="0" ytl="0" xbr="2" ybr="2"/>'
                 b'<box frame="5" outside="1" xtl="0" ytl="0" xbr="2" ybr="2"/></track></annotations>',
        "cuboid-masks": b'<annotations><image name="a.jpg" width="4" height="3"><cuboid label="c" xtl1="1" ytl1="2" '
                        b'xbl1="1" ybl1="6" xtr1="4" ytr1="2" xbr1="4" ybr1="6" xtl2="5" ytl2="6" xbl2="5" ybl2="14" '
                        b'xtr2="12" ytr2="6" xbr2="12" ybr2="14"/><mask label="c" rle="1, 2, 1" left="1" top="0" '
                        b'width="2" height="2"/><mask label="d" rle="0, 99999999999" left="0" top="0" width="4" '
                        b'height="3"/><mask label="c" rle=", ,1,,1" left="3" top="2" width="1" height="1"/>'
                        b'<mask label="c" rle="1" left="-1" top="1e9" width="0" height="x"/></image>'
                        b'<image name="b.jpg"><mask label="c" rle="1"/></image></annotations>',
        "bad-numbers": b'<annotations><image name="x"><box label="c" xtl="nan" ytl="1e999" xbr="-1" ybr=""/>'
                       b'<polygon label="c" points=";,;1,"/></image><track label="c">'
                       b'<box frame="-5"/><box frame="99999999999999"/></track></annotations>',
    },
    "nifti_import_fuzz": {
        "mapping": b'index,class,color\n0,background,#000000\n1,liver,#ff0000\n2,"sp""leen",#00ff00\nx,y\n',
        "labels-source": labels(),
        "labels-ras": labels(srow=(2, 0, 0, -7, 0, 1, 0, 0, 0, 0, 3, 0)),
        "labels-gz": gzip.compress(labels(), mtime=0),
        "labels-int16": labels(datatype=4, bitpix=16),
        "labels-float": labels(datatype=16, bitpix=32),
        "labels-shifted": labels(srow=(-2, 0, 0, 9, 0, 1, 0, 0, 0, 0, 3, 0)),
        "labels-wrong-shape": labels(dims=(3, 6, 8, 4)),
        "labels-truncated-gz": gzip.compress(labels(), mtime=0)[:60],
    },
    "mask_import_fuzz": {
        "mapping": b'index,class,color\n0,background,#000000\n1,"c""at",#ff0000\n2,dog,#00ff00\nx,y\n',
        "png": png(4, 3, [[0, 1, 1, 0], [2, 2, 0, 0], [0, 0, 0, 1]]),
        "png-filters": png(3, 5, [[1, 2, 3]] * 5, filters=[0, 1, 2, 3, 4], color=0),
        "png-interlaced": png(2, 2, [[0, 1], [1, 0]]).replace(b"IHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x03\x00\x00\x00",
                                                              b"IHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x03\x00\x00\x01"),
        "instances": b'image,instance,class,annotation_id\nb.jpg,1,cat,4f58cca2-e174-4564-b242-1d17042f1b01\n'
                     b'b.jpg,2,"d""og",x\nb.jpg,300,cat,\n,1,,\nb.jpg,2,cat\n',
        "png-huge": png(1, 1, [[1]]).replace(b"\x00\x00\x00\x01\x00\x00\x00\x01\x08", b"\x7f\xff\xff\xff\x7f\xff\xff\xff\x08"),
    },
}


def main():
    made = 0
    for target, files in SEEDS.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            p = os.path.join(d, name)
            if not os.path.exists(p):
                with open(p, "wb") as f:
                    f.write(data)
                made += 1
    print("make_seeds.py: %d new seed files" % made)
    return 0


if __name__ == "__main__":
    sys.exit(main())
