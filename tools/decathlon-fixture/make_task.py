#!/usr/bin/env python3
"""Writes a tiny Medical Segmentation Decathlon task shaped like Task01_BrainTumour, for tests.

The task folder holds dataset.json, imagesTr/BRATS_NNN.nii.gz (X x Y x Z x 4: FLAIR, T1w,
t1gd, T2w), labelsTr/BRATS_NNN.nii.gz (X x Y x Z, labels 0-3 in nested spheres around a known
tumour centre), one unlabelled imagesTs/ case, and macOS '._' resource-fork files beside the
volumes as in the distributed archive. Volumes are small and of several shapes and NIfTI
datatypes (float32, float64, int16 with scl_slope/scl_inter, big-endian float32); one patient
has no tumour.
With --tar, the same folder is also archived as a plain tar (top folder = the task folder's name).

Faults, for the error tests: --three-modalities I gives patient I's image 3 channels;
--label-mismatch I gives patient I's label one slice fewer on Z than its image.

Needs Debian's python3-nibabel (and numpy). Prints a JSON summary of what it wrote.
"""
import argparse
import json
import os
import tarfile

import nibabel as nib
import numpy as np

# (X, Y, Z) per patient: odd and even sizes, Z below and above a 32 crop, Y exactly 32.
SHAPES = [(40, 36, 20), (41, 37, 36), (36, 40, 33), (44, 34, 24), (40, 40, 40), (33, 35, 18), (38, 32, 27), (42, 39, 31)]
MODALITIES = {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"}
LABELS = {"0": "background", "1": "edema", "2": "non-enhancing tumor", "3": "enhancing tumour"}
NO_TUMOUR = 5
BIG_ENDIAN = 7


def case_name(i):
    return f"BRATS_{i + 1:03d}.nii.gz"


def volumes(i, shape, channels):
    """A brain-like ellipsoid per modality with noise, and a tumour of three nested labels."""
    rng = np.random.default_rng(1000 + i)
    x, y, z = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    cx, cy, cz = [(n - 1) / 2 for n in shape]
    brain = ((x - cx) / (shape[0] * 0.45)) ** 2 + ((y - cy) / (shape[1] * 0.45)) ** 2 + ((z - cz) / (shape[2] * 0.45)) ** 2 <= 1
    label = np.zeros(shape, dtype=np.uint8)
    if i != NO_TUMOUR:
        # Near the middle, so the 32-voxel crop keeps it; a radius of 4-6 voxels.
        tx, ty, tz = [int(round(c + rng.uniform(-3, 3))) for c in (cx, cy, cz)]
        r = rng.uniform(4, 6)
        d = np.sqrt((x - tx) ** 2 + (y - ty) ** 2 + (z - tz) ** 2)
        label[d <= r] = 1
        label[d <= r * 2 / 3] = 2
        label[d <= r / 3] = 3
    image = np.zeros(shape + (channels,), dtype=np.float64)
    for c in range(channels):
        base = 200.0 + 150.0 * c + 0.8 * x + 0.5 * y - 0.3 * z
        tumour_gain = (1.0 + 0.4 * c) * 180.0 * (label > 0) + 60.0 * (label == 3)
        image[..., c] = brain * (base + tumour_gain + rng.normal(0, 25, shape))
    return image, label


def write_nifti(array, path, dtype, slope=None, inter=None, endianness="<"):
    header = nib.Nifti1Header(endianness=endianness)
    header.set_data_dtype(dtype)
    img = nib.Nifti1Image(array, np.eye(4), header)
    if slope is not None:
        # Stored as int16 with explicit scaling: readers must apply value * slope + inter.
        img.header.set_slope_inter(slope, inter)
        raw = np.round((array - inter) / slope).astype(dtype)
        img = nib.Nifti1Image(raw, np.eye(4), img.header)
        img.header.set_slope_inter(slope, inter)
    nib.save(img, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="task folder to create (e.g. DIR/Task01_BrainTumour)")
    p.add_argument("--tar", help="also write the task as a plain tar here")
    p.add_argument("--patients", type=int, default=len(SHAPES))
    p.add_argument("--shape", help="X,Y,Z of every patient instead of the built-in small shapes (240,240,155 is BraTS)")
    p.add_argument("--three-modalities", type=int, default=None)
    p.add_argument("--label-mismatch", type=int, default=None)
    args = p.parse_args()

    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    training = []
    for i in range(args.patients):
        shape = tuple(int(n) for n in args.shape.split(",")) if args.shape else SHAPES[i % len(SHAPES)]
        channels = 3 if i == args.three_modalities else 4
        image, label = volumes(i, shape, channels)
        name = case_name(i)
        image_path = os.path.join(args.out, "imagesTr", name)
        if i == 2:
            write_nifti(image, image_path, np.int16, slope=0.5, inter=10.0)
        elif i == NO_TUMOUR:
            write_nifti(image, image_path, np.float64)
        elif i == BIG_ENDIAN:
            write_nifti(image.astype(np.float32), image_path, np.float32, endianness=">")
        else:
            write_nifti(image.astype(np.float32), image_path, np.float32)
        if i == args.label_mismatch:
            label = label[:, :, :-1]
        write_nifti(label, os.path.join(args.out, "labelsTr", name), np.uint8)
        for sub in ("imagesTr", "labelsTr"):
            with open(os.path.join(args.out, sub, "._" + name), "wb") as f:
                f.write(b"\x00\x05\x16\x07 macOS resource fork, not a NIfTI file")
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    test_name = case_name(args.patients)
    test_image, _ = volumes(args.patients, SHAPES[0], 4)
    write_nifti(test_image.astype(np.float32), os.path.join(args.out, "imagesTs", test_name), np.float32)

    manifest = {
        "name": "BRATS",
        "description": "Tiny test fixture shaped like Task01_BrainTumour (synthetic volumes)",
        "reference": "numa-sweep tools/decathlon-fixture",
        "licence": "CC-BY-SA 4.0",
        "release": "fixture 1",
        "tensorImageSize": "4D",
        "modality": MODALITIES,
        "labels": LABELS,
        "numTraining": args.patients,
        "numTest": 1,
        "training": training,
        "test": [f"./imagesTs/{test_name}"],
    }
    with open(os.path.join(args.out, "dataset.json"), "w") as f:
        json.dump(manifest, f, indent=4)
    if args.tar:
        with tarfile.open(args.tar, "w") as tar:
            tar.add(args.out, arcname=os.path.basename(os.path.normpath(args.out)))
    print(json.dumps({"task": args.out, "tar": args.tar, "patients": args.patients}))


if __name__ == "__main__":
    main()
