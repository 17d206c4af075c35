"""DICOM files written byte by byte for the tests and the volume benchmark: single-frame 16-bit
slices in explicit or implicit VR little endian, with patient attributes the de-identification must
drop, and series of them in a zip. No DICOM library is needed."""

import io
import struct
import zipfile

EXPLICIT = "1.2.840.10008.1.2.1"
IMPLICIT = "1.2.840.10008.1.2"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


def _pad(value, vr):
    if isinstance(value, str):
        value = value.encode("ascii")
    if len(value) % 2:
        value += b"\0" if vr in ("UI", "OB", "OW") else b" "
    return value


def element(group, elem, vr, value, implicit=False):
    """One element; value is bytes, str or (for US) an int."""
    if vr == "US" and isinstance(value, int):
        value = struct.pack("<H", value)
    value = _pad(value, vr)
    tag = struct.pack("<HH", group, elem)
    if implicit:
        return tag + struct.pack("<I", len(value)) + value
    if vr in LONG_VRS:
        return tag + vr.encode() + b"\0\0" + struct.pack("<I", len(value)) + value
    return tag + vr.encode() + struct.pack("<H", len(value)) + value


def sequence(group, elem, items, implicit=False):
    """A sequence of undefined length holding items of undefined length (bytes of elements)."""
    body = b"".join(struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + it + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
                    for it in items)
    head = struct.pack("<HH", group, elem) + (struct.pack("<I", 0xFFFFFFFF) if implicit
                                              else b"SQ\0\0" + struct.pack("<I", 0xFFFFFFFF))
    return head + body + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def part10(dataset, syntax=EXPLICIT, sop_instance="1.2.3.4"):
    meta = (element(2, 1, "OB", b"\0\1") + element(2, 2, "UI", CT_IMAGE) + element(2, 3, "UI", sop_instance)
            + element(2, 0x10, "UI", syntax))
    return b"\0" * 128 + b"DICM" + element(2, 0, "UL", struct.pack("<I", len(meta))) + meta + dataset


def ds(*numbers):
    return "\\".join("%.6g" % n for n in numbers)


def slice_file(pixels, rows, cols, position, orientation=(1, 0, 0, 0, 1, 0), spacing=(0.7, 0.7), instance=1,
               series="1.2.826.0.1.3680043.9.7777.1", study="1.2.826.0.1.3680043.9.7777.2", phi=None,
               syntax=EXPLICIT, window=(40, 400), modality="CT", tilt=None, extra=b"", series_number=3):
    """A CT slice: pixels are rows×cols little-endian int16 bytes; phi maps attribute names
    (PatientName, PatientID, PatientBirthDate, InstitutionName, ReferringPhysicianName,
    AccessionNumber, StudyDescription) to values put in the file."""
    imp = syntax == IMPLICIT
    phi = phi or {}
    sop = "%s.%d" % (series, instance)
    tags = {
        "AccessionNumber": (8, 0x50, "SH"), "InstitutionName": (8, 0x80, "LO"),
        "ReferringPhysicianName": (8, 0x90, "PN"), "StudyDescription": (8, 0x1030, "LO"),
        "PatientName": (0x10, 0x10, "PN"), "PatientID": (0x10, 0x20, "LO"), "PatientBirthDate": (0x10, 0x30, "DA"),
    }
    els = [(8, 8, "CS", "ORIGINAL\\PRIMARY\\AXIAL"), (8, 0x16, "UI", CT_IMAGE), (8, 0x18, "UI", sop),
           (8, 0x20, "DA", "20240102"), (8, 0x60, "CS", modality)]
    for name, value in phi.items():
        g, e, vr = tags[name]
        els.append((g, e, vr, value))
    els += [(0x18, 0x50, "DS", ds(1.0)), (0x20, 0xD, "UI", study), (0x20, 0xE, "UI", series),
            (0x20, 0x11, "IS", str(series_number)), (0x20, 0x13, "IS", str(1000 - instance)),
            (0x20, 0x32, "DS", ds(*position)), (0x20, 0x37, "DS", ds(*orientation)),
            (0x20, 0x52, "UI", study + ".9"), (0x28, 2, "US", 1), (0x28, 4, "CS", "MONOCHROME2"),
            (0x28, 0x10, "US", rows), (0x28, 0x11, "US", cols), (0x28, 0x30, "DS", ds(*spacing)),
            (0x28, 0x100, "US", 16), (0x28, 0x101, "US", 16), (0x28, 0x102, "US", 15), (0x28, 0x103, "US", 1)]
    if tilt is not None:
        els.append((0x18, 0x1120, "DS", ds(tilt)))
    if window:
        els += [(0x28, 0x1050, "DS", ds(window[0])), (0x28, 0x1051, "DS", ds(window[1]))]
    els += [(0x28, 0x1052, "DS", ds(0)), (0x28, 0x1053, "DS", ds(1))]
    els.sort(key=lambda t: (t[0], t[1]))
    body = b"".join(element(g, e, vr, v, imp) for g, e, vr, v in els)
    # a private sequence with a name in it, to be dropped with everything else
    body += sequence(0x0029, 0x1010, [element(0x0010, 0x0010, "PN", phi.get("PatientName", "X"), imp)], imp)
    body += extra
    body += element(0x7FE0, 0x10, "OW", pixels, imp)
    return part10(body, syntax, sop)


def axial_series(nx, ny, nz, spacing=(0.7, 0.7), step=1.25, origin=(-100.0, -120.0, 50.0),
                 orientation=(1, 0, 0, 0, 1, 0), value=lambda i, j, k: (i + 2 * j + 3 * k) % 2000 - 1000, **kw):
    """nz slices of ny rows × nx columns, stepping `step` mm along the normal; voxel (i, j, k) =
    value(i, j, k) (i the column, j the row). Returns [(name, bytes)] in a shuffled order."""
    r = orientation[:3]
    c = orientation[3:]
    n = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    files = []
    for k in range(nz):
        pos = tuple(origin[a] + k * step * n[a] for a in range(3))
        px = b"".join(struct.pack("<%dh" % nx, *[value(i, j, k) for i in range(nx)]) for j in range(ny))
        files.append(("IM%05d.dcm" % ((k * 7919) % 100003), slice_file(px, ny, nx, pos, orientation, spacing,
                                                                      instance=k + 1, **kw)))
    files.sort()
    return files


def zip_bytes(files, compress=True):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in files:
            z.writestr(name, data)
    return buf.getvalue()
