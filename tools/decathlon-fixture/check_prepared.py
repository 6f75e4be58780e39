#!/usr/bin/env python3
"""Checks a file written by `sweep data prepare` against an independent implementation.

The steps of the IntelAI/unet 2D preparation (docs/data.md), done here with numpy, nibabel and
h5py and nothing of numa-sweep's: numpy's legacy generator splits the `training` list by
patient; each volume is read with nibabel (get_fdata: float64, scaling applied), centre
cropped on X, Y, Z, normalised per channel over the cropped volume, its labels turned into a
whole-tumour mask (label > 0), and axes 0 and 2 swapped. The prepared file is then read slice
by slice and compared. Prints a JSON report; the caller decides what passes.
"""
import argparse
import json
import os

import h5py
import nibabel as nib
import numpy as np

SPLITS = [("train", "training"), ("validation", "validation"), ("testing", "testing")]


def split_patients(count, seed, train_fraction):
    np.random.seed(seed)
    indices = np.arange(count)
    first = np.random.random(count)
    train = indices[first < train_fraction]
    other = indices[first >= train_fraction]
    second = np.random.random(len(other))
    return {"train": train, "validation": other[second >= 0.5], "testing": other[second < 0.5]}


def centre_crop(volume, crop):
    slices = []
    for axis in range(3):
        n = volume.shape[axis]
        start = max(n // 2 - crop // 2, 0)
        slices.append(slice(start, min(start + crop, n)))
    return volume[tuple(slices)]


def expected_images(path, crop):
    image = centre_crop(nib.load(path).get_fdata(), crop)
    for c in range(image.shape[3]):
        channel = image[..., c]
        image[..., c] = (channel - channel.mean()) / channel.std()
    return np.swapaxes(image, 0, 2)


def expected_masks(path, crop):
    label = centre_crop(nib.load(path).get_fdata(), crop)
    return np.swapaxes((label > 0).astype(np.float64), 0, 2)[..., np.newaxis]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True, help="task folder (with dataset.json)")
    p.add_argument("--prepared", required=True, help="HDF5 file written by sweep data prepare")
    p.add_argument("--size", type=int, default=144)
    p.add_argument("--seed", type=int, default=816)
    p.add_argument("--train-fraction", type=float, default=0.85)
    args = p.parse_args()

    with open(os.path.join(args.task, "dataset.json")) as f:
        manifest = json.load(f)
    cases = manifest["training"]
    split = split_patients(len(cases), args.seed, args.train_fraction)
    report = {"splits": {}, "slices_compared": 0, "max_abs_image_difference": 0.0, "mask_voxels_different": 0, "worst": None}
    with h5py.File(args.prepared, "r") as prepared:
        for name, prefix in SPLITS:
            images = prepared[f"imgs_{name}"]
            masks = prepared[f"msks_{name}"]
            listed = [s.decode() if isinstance(s, bytes) else s for s in prepared[f"{prefix}_input_files"][()]]
            row = 0
            tumour = 0
            for index in split[name]:
                case = cases[index]
                want_images = expected_images(os.path.join(args.task, case["image"]), args.size)
                want_masks = expected_masks(os.path.join(args.task, case["label"]), args.size)
                for z in range(want_images.shape[0]):
                    got_image = images[row]
                    got_mask = masks[row]
                    if got_image.shape != want_images[z].shape or got_mask.shape != want_masks[z].shape:
                        raise SystemExit(f"{name} row {row}: shape {got_image.shape} / {got_mask.shape}, expected {want_images[z].shape} / {want_masks[z].shape}")
                    diff = float(np.max(np.abs(got_image.astype(np.float64) - want_images[z])))
                    if diff > report["max_abs_image_difference"]:
                        report["max_abs_image_difference"] = diff
                        report["worst"] = {"split": name, "row": row, "image": case["image"], "z": z}
                    report["mask_voxels_different"] += int(np.sum(got_mask != want_masks[z]))
                    tumour += int(want_masks[z].any())
                    report["slices_compared"] += 1
                    row += 1
            report["splits"][name] = {
                "patients": [cases[i]["image"] for i in split[name]],
                "listed_in_file": listed,
                "slices_expected": row,
                "slices_in_file": int(images.shape[0]),
                "mask_rows_in_file": int(masks.shape[0]),
                "tumour_slices": tumour,
                "images_dtype": str(images.dtype),
                "masks_dtype": str(masks.dtype),
            }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
