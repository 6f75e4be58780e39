import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../common/errors.js';
import { describeData, readSlices } from '../runner/data/decathlon.js';
import { GENERATOR, GENERATOR_VERSION, writeSynthetic } from '../runner/data/synth.js';
import { MODALITIES } from '../runner/data/phantom.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'numa-sweep-synth-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('synthetic decathlon data', () => {
  test('the same seed gives a byte-identical file, written a second later; another seed does not', async () => {
    const opts = { seed: 11, train: 2, validation: 1, testing: 3, size: 32 };
    const a = join(dir, 'a.h5');
    const b = join(dir, 'b.h5');
    const c = join(dir, 'c.h5');
    await writeSynthetic(a, opts);
    // HDF5 stamps object headers with the time in whole seconds: make sure the clock moved.
    await sleep(1100);
    await writeSynthetic(b, opts);
    await writeSynthetic(c, { ...opts, seed: 12 });
    assert.equal(sha256(a), sha256(b));
    assert.notEqual(sha256(a), sha256(c));
  });

  test('writes the six datasets with the decathlon layout, float32 images and masks, and generator attributes', async () => {
    const path = join(dir, 'layout.h5');
    const summary = await writeSynthetic(path, { seed: 5, train: 3, validation: 2, testing: 6, size: 48 });
    const info = await describeData(path);
    assert.deepEqual(
      info.splits.map((s) => [s.split, s.images, s.masks, s.count, s.shape, s.imagesType, s.masksType]),
      [
        ['train', 'imgs_train', 'msks_train', 3, [48, 48, 4], 'float32', 'float32'],
        ['validation', 'imgs_validation', 'msks_validation', 2, [48, 48, 4], 'float32', 'float32'],
        ['testing', 'imgs_testing', 'msks_testing', 6, [48, 48, 4], 'float32', 'float32'],
      ],
    );
    assert.deepEqual(info.absent, []);
    assert.equal(info.attributes.generator, GENERATOR);
    assert.equal(info.attributes.generator_version, GENERATOR_VERSION);
    assert.equal(info.attributes.seed, 5);
    assert.equal(info.attributes.testing_count, 6);
    assert.equal(info.attributes.channels, MODALITIES.join(','));
    assert.deepEqual(summary.counts, { train: 3, validation: 2, testing: 6 });
    const slices = await readSlices(path, 'testing', 0, 6);
    assert.ok(slices.masks.every((v) => v === 0 || v === 1), 'masks are 0/1');
    const withTumour = Array.from({ length: 6 }, (_, k) => slices.masks.subarray(k * 48 * 48, (k + 1) * 48 * 48).some((v) => v === 1)).filter(Boolean).length;
    assert.equal(withTumour, summary.tumourSlices.testing);
  });

  test('a split with no slices is an empty N = 0 dataset', async () => {
    const path = join(dir, 'empty-split.h5');
    await writeSynthetic(path, { seed: 1, train: 0, validation: 0, testing: 2, size: 32 });
    const info = await describeData(path);
    assert.deepEqual(info.splits.map((s) => [s.split, s.count]), [['train', 0], ['validation', 0], ['testing', 2]]);
  });

  test('slice i of a split does not depend on the other counts', async () => {
    const a = join(dir, 'streams-a.h5');
    const b = join(dir, 'streams-b.h5');
    await writeSynthetic(a, { seed: 9, train: 3, validation: 0, testing: 4, size: 32 });
    await writeSynthetic(b, { seed: 9, train: 0, validation: 2, testing: 6, size: 32 });
    const sa = await readSlices(a, 'testing', 0, 4);
    const sb = await readSlices(b, 'testing', 0, 4);
    assert.deepEqual(sa.images, sb.images);
    assert.deepEqual(sa.masks, sb.masks);
  });

  describe('statistics over 200 slices of 32 x 32', () => {
    const n = 200;
    const size = 32;
    const px = size * size;
    let images: Float32Array;
    let masks: Float32Array;
    before(async () => {
      const path = join(dir, 'stats.h5');
      await writeSynthetic(path, { seed: 2024, train: 0, validation: 0, testing: n, size });
      ({ images, masks } = await readSlices(path, 'testing', 0, n));
    });

    test('about 40% of the slices have an empty mask', () => {
      let empty = 0;
      for (let k = 0; k < n; k++) if (!masks.subarray(k * px, (k + 1) * px).some((v) => v > 0)) empty++;
      const fraction = empty / n;
      assert.ok(fraction > 0.3 && fraction < 0.5, `empty fraction ${fraction}`);
    });

    test('each slice and channel has mean 0 and standard deviation 1', () => {
      for (let k = 0; k < n; k += 17) {
        for (let c = 0; c < 4; c++) {
          let sum = 0;
          let sumSq = 0;
          for (let i = 0; i < px; i++) {
            const v = images[(k * px + i) * 4 + c]!;
            sum += v;
            sumSq += v * v;
          }
          const mean = sum / px;
          assert.ok(Math.abs(mean) < 1e-4, `slice ${k} channel ${c} mean ${mean}`);
          assert.ok(Math.abs(Math.sqrt(sumSq / px - mean * mean) - 1) < 1e-3, `slice ${k} channel ${c} std`);
        }
      }
    });

    test('tumour contrasts: bright in FLAIR and T2, darker in T1, enhancing in T1gd', () => {
      // "Tissue" is what is brighter than the slice mean in T1w: grey and white matter and
      // scalp, not CSF, bone or background. Compare the tumour with the tissue outside it.
      const inside = [0, 0, 0, 0];
      const outside = [0, 0, 0, 0];
      let enhanceIn = 0;
      let enhanceOut = 0;
      let nIn = 0;
      let nOut = 0;
      for (let k = 0; k < n; k++) {
        const m = masks.subarray(k * px, (k + 1) * px);
        if (!m.some((v) => v > 0)) continue;
        for (let i = 0; i < px; i++) {
          const at = (k * px + i) * 4;
          const v = [images[at]!, images[at + 1]!, images[at + 2]!, images[at + 3]!];
          if (m[i] === 1) {
            v.forEach((x, c) => (inside[c]! += x));
            enhanceIn += v[2]! - v[1]!;
            nIn++;
          } else if (v[1]! > 0) {
            v.forEach((x, c) => (outside[c]! += x));
            enhanceOut += v[2]! - v[1]!;
            nOut++;
          }
        }
      }
      const mi = inside.map((s) => s / nIn);
      const mo = outside.map((s) => s / nOut);
      assert.ok(mi[0]! > mo[0]! + 0.5, `FLAIR tumour ${mi[0]} vs tissue ${mo[0]}`);
      assert.ok(mi[3]! > mo[3]! + 0.5, `T2 tumour ${mi[3]} vs tissue ${mo[3]}`);
      assert.ok(mi[1]! < mo[1]!, `T1 tumour ${mi[1]} vs tissue ${mo[1]}`);
      assert.ok(enhanceIn / nIn > enhanceOut / nOut + 0.2, `T1gd - T1 tumour ${enhanceIn / nIn} vs tissue ${enhanceOut / nOut}`);
    });
  });

  test('bad options are UserErrors naming the value, and nothing is written', async () => {
    const path = join(dir, 'bad.h5');
    const bad = [
      [{ seed: -1, train: 0, validation: 0, testing: 1 }, /seed must be an integer/],
      [{ seed: 1.5, train: 0, validation: 0, testing: 1 }, /seed must be an integer/],
      [{ seed: 1, train: 0, validation: 0, testing: 2.5 }, /testing count must be an integer/],
      [{ seed: 1, train: -3, validation: 0, testing: 1 }, /train count must be an integer/],
      [{ seed: 1, train: 0, validation: 0, testing: 1, size: 8 }, /size must be an integer from 16/],
    ] as const;
    for (const [opts, message] of bad) {
      await assert.rejects(writeSynthetic(path, opts), (err: unknown) => err instanceof UserError && message.test(err.message));
    }
    await assert.rejects(
      writeSynthetic(join(dir, 'no-such-folder', 'x.h5'), { seed: 1, train: 0, validation: 0, testing: 1, size: 16 }),
      (err: unknown) => err instanceof UserError && /folder .*no-such-folder does not exist/.test(err.message) && err.location.file === join(dir, 'no-such-folder', 'x.h5'),
    );
    assert.equal(existsSync(path), false);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('bad') || f.endsWith('.tmp')), []);
  });
});
