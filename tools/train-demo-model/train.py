#!/usr/bin/python3
"""Trains the bundled demo model: the reference benchmark's 2D U-Net on `sweep data synth` phantoms.

CPU only (PyTorch with oneDNN), fixed seeds, a bounded number of epochs. Most epochs run on
random crops (the network is fully convolutional, and a 96x96 crop costs under half of a
144x144 slice), the last ones on whole slices so the borders are learnt as the runner sees
them. Writes a Keras-layout HDF5 (float16 weights by default) and a JSON training log.

    /usr/bin/python3 tools/train-demo-model/train.py --data /tmp/synth-train.h5 \
        --out models/unet2d-decathlon.h5 --log tools/train-demo-model/training-log.json
"""

import argparse
import json
import math
import os
import platform
import sys
import time

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dice import calc_dice, calc_soft_dice, combined_loss  # noqa: E402
from keras_h5 import save_keras_h5  # noqa: E402
from unet import UNet, param_count  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='decathlon-layout HDF5 (sweep data synth)')
    p.add_argument('--out', required=True, help='Keras HDF5 model file to write')
    p.add_argument('--log', help='JSON training log to write')
    p.add_argument('--fms', type=int, default=32)
    p.add_argument('--seed', type=int, default=1234, help='torch / numpy seed')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--lr', type=float, default=1e-3, help='Adam learning rate (cosine decay to lr/100)')
    p.add_argument('--crop', type=int, default=96, help='crop size for the crop epochs (multiple of 16)')
    p.add_argument('--crop-epochs', type=int, default=4)
    p.add_argument('--full-epochs', type=int, default=1)
    p.add_argument('--train-limit', type=int, default=0, help='use only the first N training slices (0: all)')
    p.add_argument('--dice-weight', type=float, default=0.9, help='weight of -log(soft Dice); BCE gets 1 - it')
    p.add_argument('--dtype', choices=['float16', 'float32'], default='float16', help='stored weight type')
    p.add_argument('--max-minutes', type=float, default=30.0, help='stop early (keeping the best model) after this')
    return p.parse_args(argv)


def load_split(path, split, limit=0):
    """Images and masks of one split as NCHW float32 arrays."""
    with h5py.File(path, 'r') as f:
        imgs, msks = f[f'imgs_{split}'], f[f'msks_{split}']
        n = imgs.shape[0] if limit <= 0 else min(limit, imgs.shape[0])
        x = np.asarray(imgs[:n], dtype=np.float32).transpose(0, 3, 1, 2)
        y = np.asarray(msks[:n], dtype=np.float32).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def random_crops(rng, x, y, size):
    """One random size x size window per slice (the same window for image and mask)."""
    n, _, h, w = x.shape
    if size >= h and size >= w:
        return x, y
    tops = rng.integers(0, h - size + 1, n)
    lefts = rng.integers(0, w - size + 1, n)
    xs = np.stack([x[i, :, t:t + size, l:l + size] for i, (t, l) in enumerate(zip(tops, lefts))])
    ys = np.stack([y[i, :, t:t + size, l:l + size] for i, (t, l) in enumerate(zip(tops, lefts))])
    return xs, ys


def predict(model, x, batch_size=8):
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out.append(model(torch.from_numpy(x[i:i + batch_size])).numpy())
    return np.concatenate(out)


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    x_train, y_train = load_split(args.data, 'train', args.train_limit)
    x_val, y_val = load_split(args.data, 'validation')
    print(f'train {x_train.shape} (tumour pixels {y_train.mean():.4f}), validation {x_val.shape}', flush=True)

    model = UNet(args.fms, x_train.shape[1], y_train.shape[1])
    print(f'parameters {param_count(model)}', flush=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    epochs = [args.crop] * args.crop_epochs + [x_train.shape[2]] * args.full_epochs
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    total_steps = steps_per_epoch * len(epochs)
    min_lr = args.lr / 100

    history, best = [], None
    started = time.time()
    step = 0
    for epoch, size in enumerate(epochs, start=1):
        model.train()
        t0 = time.time()
        order = rng.permutation(len(x_train))
        losses = []
        for b in range(steps_per_epoch):
            idx = np.sort(order[b * args.batch_size:(b + 1) * args.batch_size])
            xb, yb = random_crops(rng, x_train[idx], y_train[idx], size)
            lr = min_lr + 0.5 * (args.lr - min_lr) * (1 + math.cos(math.pi * step / total_steps))
            for group in optimizer.param_groups:
                group['lr'] = lr
            optimizer.zero_grad()
            loss = combined_loss(torch.from_numpy(yb), model(torch.from_numpy(xb)), args.dice_weight)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
            if (b + 1) % 25 == 0:
                print(f'  epoch {epoch} step {b + 1}/{steps_per_epoch} loss {np.mean(losses[-25:]):.4f} '
                      f'({time.time() - t0:.0f} s)', flush=True)
        train_s = time.time() - t0
        model.eval()
        p_val = predict(model, x_val)
        record = {'epoch': epoch, 'input': size, 'loss': float(np.mean(losses)), 'lr_end': lr,
                  'val_dice': calc_dice(y_val, p_val), 'val_soft_dice': calc_soft_dice(y_val, p_val),
                  'train_s': round(train_s, 1), 'elapsed_s': round(time.time() - started, 1)}
        history.append(record)
        print(json.dumps(record), flush=True)
        if best is None or record['val_dice'] > best[0]['val_dice']:
            best = (record, {k: v.clone() for k, v in model.state_dict().items()})
        if (time.time() - started) / 60 > args.max_minutes and epoch < len(epochs):
            print(f'stopping after epoch {epoch}: over --max-minutes {args.max_minutes}', flush=True)
            break

    model.load_state_dict(best[1])
    model.eval()
    wall_s = time.time() - started
    dtype = np.float16 if args.dtype == 'float16' else np.float32
    save_keras_h5(model, args.out, dtype=dtype, input_size=x_train.shape[2],
                  attrs={'numa_sweep_training': json.dumps({'data': os.path.basename(args.data), 'seed': args.seed,
                                                            'best_epoch': best[0]['epoch']})})
    print(f'wrote {args.out} ({os.path.getsize(args.out)} bytes) from epoch {best[0]["epoch"]} '
          f'(val Dice {best[0]["val_dice"]:.4f}); training took {wall_s:.0f} s', flush=True)
    if args.log:
        log = {'command': ' '.join([os.path.basename(sys.executable)] + sys.argv), 'args': vars(args),
               'train_slices': int(len(x_train)), 'validation_slices': int(len(x_val)),
               'parameters': param_count(model), 'torch': torch.__version__, 'threads': args.threads,
               'cpu': platform.processor() or platform.machine(), 'wall_s': round(wall_s, 1),
               'best_epoch': best[0]['epoch'], 'history': history}
        with open(args.log, 'w') as f:
            json.dump(log, f, indent=2)
            f.write('\n')


if __name__ == '__main__':
    main(sys.argv[1:])
