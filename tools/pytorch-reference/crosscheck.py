#!/usr/bin/python3
"""Runs a Keras-layout U-Net HDF5 file in PyTorch: the independent reference for the runner.

Loads the model with PyTorch's own Conv2d / ConvTranspose2d / MaxPool2d (weights converted from
Keras layouts, float16 widened to float32), predicts slices [skip, skip + images) of one split of
a decathlon-layout data file, optionally writes the probabilities (N x H x W x C float32,
dataset 'predictions') to an HDF5 file, and prints one JSON line with the reference benchmark's Dice and soft
Dice over those slices, pooled and on the slices with and without tumour. With --score it
scores an existing predictions file (the runner's --save-predictions) the same way instead.

    /usr/bin/python3 tools/pytorch-reference/crosscheck.py --model models/unet2d-decathlon.h5 \
        --data synth.h5 --split testing --skip 0 --images 4 --out torch-pred.h5
"""

import argparse
import json
import os
import sys
import time

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'train-demo-model'))
from dice import calc_dice, calc_soft_dice  # noqa: E402
from keras_h5 import load_keras_h5  # noqa: E402


def predict(args, x):
    torch.set_num_threads(args.threads)
    model = load_keras_h5(args.model)
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), args.batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[i:i + args.batch_size].transpose(0, 3, 1, 2)))
            preds.append(model(xb).numpy().transpose(0, 2, 3, 1))
    return np.ascontiguousarray(np.concatenate(preds), dtype=np.float32)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', required=True)
    p.add_argument('--data', required=True)
    p.add_argument('--split', default='testing')
    p.add_argument('--skip', type=int, default=0)
    p.add_argument('--images', type=int, default=0, help='0: all slices after --skip')
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', help='HDF5 file for the probabilities (dataset "predictions", NHWC)')
    p.add_argument('--score', metavar='PREDICTIONS_H5',
                   help='do not run the model: score this predictions file (e.g. the runner\'s --save-predictions) instead')
    args = p.parse_args(argv)
    with h5py.File(args.data, 'r') as f:
        imgs, msks = f[f'imgs_{args.split}'], f[f'msks_{args.split}']
        end = imgs.shape[0] if args.images <= 0 else min(imgs.shape[0], args.skip + args.images)
        x = np.asarray(imgs[args.skip:end], dtype=np.float32)
        y = np.asarray(msks[args.skip:end], dtype=np.float32)
    t0 = time.time()
    if args.score:
        with h5py.File(args.score, 'r') as f:
            pred = np.asarray(f['predictions'], dtype=np.float32)
        if pred.shape != y.shape:
            raise SystemExit(f'{args.score}: predictions {pred.shape} do not match masks {y.shape}')
    else:
        pred = predict(args, x)
    seconds = time.time() - t0
    if args.out:
        with h5py.File(args.out, 'w') as f:
            f.create_dataset('predictions', data=pred)
    tumour = y.reshape(len(y), -1).sum(axis=1) > 0
    result = {'model': args.model, 'scored': args.score or 'pytorch', 'data': args.data, 'split': args.split,
              'skip': args.skip, 'images': int(len(x)),
              'dice': calc_dice(y, pred), 'soft_dice': calc_soft_dice(y, pred),
              'dice_tumour_slices': calc_dice(y[tumour], pred[tumour]) if tumour.any() else None,
              'soft_dice_tumour_slices': calc_soft_dice(y[tumour], pred[tumour]) if tumour.any() else None,
              'dice_empty_slices': calc_dice(y[~tumour], pred[~tumour]) if (~tumour).any() else None,
              'tumour_slices': int(tumour.sum()),
              'empty_slices_false_positive_pixels': int(np.round(pred[~tumour]).sum()),
              'torch': torch.__version__, 'seconds': round(seconds, 3)}
    print(json.dumps(result))


if __name__ == '__main__':
    main(sys.argv[1:])
