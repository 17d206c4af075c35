#!/usr/bin/python3
"""Orientation checked against nibabel: an oblique, anisotropic 16-bit volume
with one bright voxel at a known patient coordinate goes through volume_tool;
the written volume must equal nibabel's as_closest_canonical of the input (data
and affine), the bright voxel must sit at the same patient coordinate, and each
plane's slice must show it at the pixel the documented convention gives.

usage: nibabel_check.py VOLUME_TOOL WORKDIR   (exit 77 when nibabel is missing)"""
import json
import math
import os
import subprocess
import sys

try:
    import nibabel as nib
    import numpy as np
except ImportError:
    print("nibabel or numpy is not installed (python3-nibabel)")
    sys.exit(77)

tool, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
shape = (7, 9, 5)  # stored L→R reversed, axes 2 and 3 swapped, then turned 20° about the patient's z
angle = math.radians(20)
rot = np.array([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1]])
base = np.array([[-0.7, 0, 0], [0, 0, -2.5], [0, 1.3, 0]])  # columns: voxel axes in patient mm
affine = np.eye(4)
affine[:3, :3] = rot @ base
affine[:3, 3] = [12.0, -40.0, 7.5]
data = (np.arange(np.prod(shape)).reshape(shape) % 50).astype(np.int16)
marker = (5, 2, 3)
data[marker] = 3000
failures = []
for name in ("oblique.nii.gz", "oblique_qform.nii"):
    src = os.path.join(work, name)
    img = nib.Nifti1Image(data, affine)
    if name.endswith(".nii"):
        img.set_sform(None, code=0)  # the qform alone carries the orientation
        img.set_qform(affine, code=1)
    nib.save(img, src)
    out = os.path.join(work, "ras_" + name.replace(".nii.gz", ".nii") + ".gz")
    res = subprocess.run([tool, src, out], capture_output=True, text=True, check=True)
    doc = json.loads(res.stdout)
    want = nib.as_closest_canonical(nib.load(src))
    got = nib.load(out)
    if not np.array_equal(np.asanyarray(got.dataobj), np.asanyarray(want.dataobj)):
        failures.append(f"{name}: voxels differ from nibabel's canonical order")
    if not np.allclose(got.affine, want.affine, atol=1e-4):
        failures.append(f"{name}: affine {got.affine.tolist()} != nibabel's {want.affine.tolist()}")
    if not np.allclose(np.array(doc["meta"]["affine"]), want.affine, atol=1e-4):
        failures.append(f"{name}: metadata affine differs from nibabel's")
    if doc["meta"]["orientation"] != "RAS" or doc["meta"]["shape"] != list(want.shape):
        failures.append(f"{name}: orientation/shape {doc['meta']['orientation']} {doc['meta']['shape']}")
    world = affine @ np.array([*marker, 1.0])
    i, j, k = doc["brightest"]["voxel"]
    if not np.allclose(got.affine @ np.array([i, j, k, 1.0]), world, atol=1e-4):
        failures.append(f"{name}: the bright voxel moved in patient space")
    nx, ny, nz = want.shape
    expect = {"axial": [k, i, ny - 1 - j], "coronal": [j, i, nz - 1 - k], "sagittal": [i, j, nz - 1 - k]}
    for plane, pos in expect.items():
        if doc["brightest"].get(plane) != pos:
            failures.append(f"{name}: {plane} slice shows the voxel at {doc['brightest'].get(plane)}, expected {pos}")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
