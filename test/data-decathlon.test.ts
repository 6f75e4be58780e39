import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { writeH5Atomic } from '../runner/hdf5.js';
import { describeData, expectChannels, expectModelInput, readSlices } from '../runner/data/decathlon.js';
import { writeSynthetic } from '../runner/data/synth.js';

type Data = Float32Array | Float64Array | Uint8Array | Int16Array | Int32Array;

let dir: string;
let synthetic: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'numa-sweep-decathlon-'));
  synthetic = join(dir, 'synthetic.h5');
  await writeSynthetic(synthetic, { seed: 3, train: 2, validation: 0, testing: 6, size: 32 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a hand-made file with the given datasets (and, optionally, groups). */
async function handMade(name: string, datasets: Record<string, [Data, number[]]>, groups: string[] = []): Promise<string> {
  const path = join(dir, name);
  await writeH5Atomic(path, (file) => {
    for (const [key, [data, shape]] of Object.entries(datasets)) file.create_dataset({ name: key, data, shape });
    for (const g of groups) file.create_group(g);
  });
  return path;
}

/** A consistent testing split of n slices of h x w x c, images counting up, masks 0/1. */
function testingSplit(n: number, h: number, w: number, c: number): Record<string, [Float32Array, number[]]> {
  const images = Float32Array.from({ length: n * h * w * c }, (_, i) => i / 10);
  const masks = Float32Array.from({ length: n * h * w }, (_, i) => i % 3 === 0 ? 1 : 0);
  return { imgs_testing: [images, [n, h, w, c]], msks_testing: [masks, [n, h, w, 1]] };
}

/** Expects a UserError whose message matches and whose location names the file (and dataset). */
async function rejectsUser(promise: Promise<unknown>, message: RegExp, file: string | undefined, at?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.match(err.message, message);
    assert.equal(err.location.file, file);
    if (at !== undefined) assert.equal(err.location.at, at);
    return true;
  });
}

describe('reading decathlon splits', () => {
  test('skip and count read exactly those rows of a full read', async () => {
    const full = await readSlices(synthetic, 'testing', 0, 6);
    assert.deepEqual(full.shape, [32, 32, 4]);
    assert.equal(full.n, 6);
    assert.equal(full.images.length, 6 * 32 * 32 * 4);
    assert.equal(full.masks.length, 6 * 32 * 32);
    const part = await readSlices(synthetic, 'testing', 2, 3);
    assert.equal(part.n, 3);
    assert.equal(part.skip, 2);
    assert.deepEqual(part.images, full.images.subarray(2 * 32 * 32 * 4, 5 * 32 * 32 * 4));
    assert.deepEqual(part.masks, full.masks.subarray(2 * 32 * 32, 5 * 32 * 32));
    const train = await readSlices(synthetic, 'train', 1, 1);
    assert.notDeepEqual(train.images, full.images.subarray(32 * 32 * 4, 2 * 32 * 32 * 4));
  });

  test('float64 images and uint8 masks are read as float32', async () => {
    const images = Float64Array.from({ length: 2 * 4 * 4 * 2 }, (_, i) => i * 0.25 - 3);
    const masks = Uint8Array.from({ length: 2 * 4 * 4 }, (_, i) => i % 2);
    const path = await handMade('f64-u8.h5', { imgs_testing: [images, [2, 4, 4, 2]], msks_testing: [masks, [2, 4, 4, 1]] });
    const info = await describeData(path);
    assert.deepEqual(info.splits.map((s) => [s.split, s.imagesType, s.masksType, s.shape]), [['testing', 'float64', 'uint8', [4, 4, 2]]]);
    assert.deepEqual(info.absent, ['train', 'validation']);
    const s = await readSlices(path, 'testing', 1, 1);
    assert.ok(s.images instanceof Float32Array && s.masks instanceof Float32Array);
    assert.deepEqual([...s.images], [...images.subarray(32)]);
    assert.deepEqual([...s.masks], [...masks.subarray(16)]);
  });

  test('a missing file and a file that is not HDF5 name the file', async () => {
    const missing = join(dir, 'nope.h5');
    await rejectsUser(readSlices(missing, 'testing', 0, 1), /data file not found/, missing);
    await rejectsUser(describeData(missing), /data file not found/, missing);
    const text = join(dir, 'text.h5');
    writeFileSync(text, 'imgs_testing,msks_testing\n1,2\n');
    await rejectsUser(readSlices(text, 'testing', 0, 1), /not an HDF5 file/, text);
  });

  test('a missing dataset names the file and the dataset', async () => {
    const onlyImages = await handMade('only-images.h5', { imgs_testing: testingSplit(2, 4, 4, 4).imgs_testing! });
    await rejectsUser(readSlices(onlyImages, 'testing', 0, 1), /dataset 'msks_testing' not found/, onlyImages, 'msks_testing');
    await rejectsUser(readSlices(onlyImages, 'validation', 0, 1), /dataset 'imgs_validation' not found/, onlyImages, 'imgs_validation');
    const other = await handMade('other.h5', { weights: [new Float32Array(3), [3]] });
    await rejectsUser(describeData(other), /no decathlon datasets found/, other);
    const group = await handMade('group.h5', { msks_testing: testingSplit(2, 4, 4, 4).msks_testing! }, ['imgs_testing']);
    await rejectsUser(readSlices(group, 'testing', 0, 1), /'imgs_testing' is not a dataset/, group, 'imgs_testing');
  });

  test('wrong ranks and shapes name the dataset and its shape', async () => {
    const split = testingSplit(2, 4, 4, 4);
    const rank3 = await handMade('rank3.h5', { ...split, imgs_testing: [split.imgs_testing![0], [2, 4, 16]] });
    await rejectsUser(readSlices(rank3, 'testing', 0, 1), /'imgs_testing' has shape 2 x 4 x 16; expected N x H x W x C/, rank3, 'imgs_testing');
    const wideMask = await handMade('wide-mask.h5', { imgs_testing: split.imgs_testing!, msks_testing: [new Float32Array(2 * 4 * 2 * 2), [2, 4, 2, 2]] });
    await rejectsUser(readSlices(wideMask, 'testing', 0, 1), /'msks_testing' has shape 2 x 4 x 2 x 2; expected N x H x W x 1/, wideMask, 'msks_testing');
    const fewerMasks = await handMade('fewer-masks.h5', { imgs_testing: split.imgs_testing!, msks_testing: [new Float32Array(16), [1, 4, 4, 1]] });
    await rejectsUser(
      readSlices(fewerMasks, 'testing', 0, 1),
      /'imgs_testing' \(2 x 4 x 4 x 4\) and 'msks_testing' \(1 x 4 x 4 x 1\) disagree in N, H or W/,
      fewerMasks,
      'msks_testing',
    );
    const otherHeight = await handMade('other-height.h5', { imgs_testing: split.imgs_testing!, msks_testing: [new Float32Array(2 * 2 * 8), [2, 2, 8, 1]] });
    await rejectsUser(readSlices(otherHeight, 'testing', 0, 1), /disagree in N, H or W/, otherHeight);
  });

  test('wrong element types name the dataset and the type found', async () => {
    const split = testingSplit(2, 4, 4, 4);
    const int16 = await handMade('int16.h5', { ...split, imgs_testing: [new Int16Array(2 * 4 * 4 * 4), [2, 4, 4, 4]] });
    await rejectsUser(readSlices(int16, 'testing', 0, 1), /'imgs_testing' holds int16; expected float32 or float64/, int16, 'imgs_testing');
    const int32 = await handMade('int32.h5', { ...split, msks_testing: [new Int32Array(2 * 4 * 4), [2, 4, 4, 1]] });
    await rejectsUser(describeData(int32), /'msks_testing' holds int32; expected float32 or float64 or uint8/, int32, 'msks_testing');
  });

  test('skip + count beyond N names the numbers', async () => {
    await rejectsUser(
      readSlices(synthetic, 'testing', 4, 3),
      /imgs_testing holds 6 images; skip 4 \+ images 3 = 7 goes beyond it/,
      synthetic,
      'imgs_testing',
    );
    await rejectsUser(readSlices(synthetic, 'validation', 0, 1), /imgs_validation holds 0 images; skip 0 \+ images 1 = 1/, synthetic);
    await assert.rejects(readSlices(synthetic, 'testing', -1, 1), (e: unknown) => e instanceof UserError && /skip must be/.test(e.message));
    await assert.rejects(readSlices(synthetic, 'testing', 0, 0), (e: unknown) => e instanceof UserError && /positive integer/.test(e.message));
  });

  test('non-finite image values and masks outside 0..1 name the element', async () => {
    const split = testingSplit(2, 4, 4, 4);
    const images = split.imgs_testing![0].slice();
    images[(1 * 16 + 2 * 4 + 3) * 4 + 1] = NaN;
    const nan = await handMade('nan.h5', { ...split, imgs_testing: [images, [2, 4, 4, 4]] });
    await rejectsUser(readSlices(nan, 'testing', 0, 2), /imgs_testing\[1, 2, 3, 1\] is NaN; expected a finite number/, nan, 'imgs_testing[1, 2, 3, 1]');
    // Rows outside the requested range are not read, so not checked.
    await readSlices(nan, 'testing', 0, 1);
    const masks = split.msks_testing![0].slice();
    masks[16 + 5] = 255;
    const bigMask = await handMade('mask-255.h5', { ...split, msks_testing: [masks, [2, 4, 4, 1]] });
    await rejectsUser(readSlices(bigMask, 'testing', 1, 1), /msks_testing\[1, 1, 1, 0\] is 255; expected a value from 0 to 1/, bigMask);
  });
});

describe('model input against the data', () => {
  const data = { file: '/data/brats.h5', dataset: 'imgs_testing', shape: [144, 144, 4] as [number, number, number] };

  test('a model with other input channels is refused, naming both counts', () => {
    assert.throws(
      () => expectModelInput(data, { name: 'unet-buda', inputShape: [256, 256, 3] }),
      (e: unknown) => e instanceof UserError && /model 'unet-buda' takes 3 input channels, but imgs_testing has 4/.test(e.message) && e.location.file === '/data/brats.h5',
    );
    assert.throws(() => expectChannels(data, 1, 'mono'), (e: unknown) => e instanceof UserError && /takes 1 input channels, but imgs_testing has 4/.test(e.message));
  });

  test('fixed height and width must match; null accepts any size', () => {
    assert.throws(
      () => expectModelInput(data, { name: 'unet', inputShape: [128, 128, 4] }),
      (e: unknown) => e instanceof UserError && /model 'unet' takes 128 x 128 images, but imgs_testing holds 144 x 144/.test(e.message),
    );
    expectModelInput(data, { name: 'unet', inputShape: [144, 144, 4] });
    expectModelInput(data, { name: 'unet', inputShape: [null, null, 4] });
    expectChannels(data, 4, 'unet');
  });
});
