import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { UserError } from '../common/errors.js';
import { bone, viridis } from '../results/report/colormap.js';
import { crc32, encodePng, PNG_SIGNATURE, type RasterImage } from '../results/report/png.js';
import { checkPreview, renderPreview } from '../results/report/previews.js';
import { phantomPreview } from './report-sample.js';

// A PNG reader written from the specification, independent of the encoder: it checks the
// chunk CRCs (with zlib's CRC-32 where Node has it), inflates IDAT and undoes the filters.

interface Decoded {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
  chunks: string[];
  filters: Set<number>;
}

const zcrc = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

function decodePng(png: Buffer): Decoded {
  assert.deepEqual([...png.subarray(0, 8)], [...PNG_SIGNATURE], 'signature');
  let pos = 8;
  const chunks: string[] = [];
  const idat: Buffer[] = [];
  let width = 0;
  let height = 0;
  let channels = 0;
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const body = png.subarray(pos + 8, pos + 8 + len);
    const crc = png.readUInt32BE(pos + 8 + len);
    const typed = png.subarray(pos + 4, pos + 8 + len);
    assert.equal(crc, crc32(typed), `${type} CRC`);
    if (zcrc) assert.equal(crc, zcrc(typed), `${type} CRC against zlib.crc32`);
    chunks.push(type);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      assert.equal(body[8], 8, 'bit depth');
      channels = body[9] === 6 ? 4 : body[9] === 2 ? 3 : 0;
      assert.deepEqual([body[10], body[11], body[12]], [0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(body);
    pos += 12 + len;
  }
  assert.equal(pos, png.length, 'no trailing bytes');
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  assert.equal(raw.length, height * (stride + 1));
  const data = new Uint8Array(height * stride);
  const filters = new Set<number>();
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    filters.add(f);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? data[y * stride + i - channels]! : 0;
      const b = y > 0 ? data[(y - 1) * stride + i]! : 0;
      const c = y > 0 && i >= channels ? data[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][f];
      assert.notEqual(pred, undefined, `filter type ${f}`);
      data[y * stride + i] = (x + pred!) & 0xff;
    }
  }
  return { width, height, channels, data, chunks, filters };
}

function pattern(width: number, height: number, channels: 3 | 4, kind: number): RasterImage {
  const data = new Uint8Array(width * height * channels);
  let seed = 12345 + kind;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        const noise = seed >>> 24;
        const v = [x * 3 + c * 40, y * 5 + c * 17, (x + y) * 2, noise, (x * y) ^ c][kind % 5]!;
        data[(y * width + x) * channels + c] = v & 0xff;
      }
    }
  }
  return { width, height, channels, data };
}

test('crc32 matches the published check values', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.from('IEND')), 0xae426082);
});

test('encoded PNGs decode to the same pixels (RGB and RGBA, several patterns)', () => {
  const used = new Set<number>();
  for (const channels of [3, 4] as const) {
    for (let kind = 0; kind < 5; kind++) {
      const img = pattern(37, 23, channels, kind);
      const d = decodePng(encodePng(img));
      assert.deepEqual(d.chunks, ['IHDR', 'IDAT', 'IEND']);
      assert.equal(d.width, 37);
      assert.equal(d.height, 23);
      assert.equal(d.channels, channels);
      assert.deepEqual(d.data, img.data, `pixels of pattern ${kind}, ${channels} channels`);
      for (const f of d.filters) used.add(f);
    }
  }
  // The adaptive filter choice really varies, so the unfiltering above checked more than one path.
  assert.ok(used.size >= 3, `filter types used: ${[...used].join(',')}`);
});

test('a 1x1 image round-trips', () => {
  const d = decodePng(encodePng({ width: 1, height: 1, channels: 4, data: Uint8Array.of(1, 2, 3, 4) }));
  assert.deepEqual([...d.data], [1, 2, 3, 4]);
});

test('encodePng refuses sizes that do not match the data', () => {
  assert.throws(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }), RangeError);
  assert.throws(() => encodePng({ width: 0, height: 2, channels: 3, data: new Uint8Array(0) }), RangeError);
});

test('previews: bone for the input, viridis for mask and prediction, origin lower, doubled pixels', () => {
  // 3 rows x 4 columns, 2 channels; channel 0 rises with the row so the flip is visible.
  const h = 3;
  const w = 4;
  const image = new Float32Array(h * w * 2);
  const mask = new Float32Array(h * w);
  const prediction = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      image[(y * w + x) * 2] = 10 + y * 5; // min 10 (row 0), max 20 (row 2)
      image[(y * w + x) * 2 + 1] = 999; // channel 1 must not matter
      mask[y * w + x] = y === 0 && x === 0 ? 1 : 0;
      prediction[y * w + x] = 0.5;
    }
  }
  const r = renderPreview({ index: 40, height: h, width: w, channels: 2, image, mask, prediction, dice: 0.5 });
  assert.equal(r.width, 8);
  assert.equal(r.height, 6);
  const input = decodePng(r.input);
  const truth = decodePng(r.truth);
  const pred = decodePng(r.prediction);
  const px = (d: Decoded, x: number, y: number): number[] => [...d.data.subarray((y * d.width + x) * 3, (y * d.width + x) * 3 + 3)];
  // Source row 0 (the minimum) is drawn at the bottom, as matplotlib's origin='lower' does.
  assert.deepEqual(px(input, 0, 5), [0, 0, 0]);
  assert.deepEqual(px(input, 0, 4), [0, 0, 0]);
  assert.deepEqual(px(input, 7, 0), [255, 255, 255]);
  assert.deepEqual(px(input, 3, 2), bone(128 / 255), "the middle row sits halfway, quantised to 8 bits");
  assert.deepEqual(px(truth, 0, 5), viridis(1));
  assert.deepEqual(px(truth, 1, 4), viridis(1), 'a source pixel covers a 2x2 block');
  assert.deepEqual(px(truth, 2, 5), viridis(0));
  assert.deepEqual(px(truth, 0, 0), viridis(0));
  assert.deepEqual(px(pred, 5, 3), viridis(128 / 255));
  assert.deepEqual(viridis(0), [0x44, 0x01, 0x54]);
  assert.deepEqual(viridis(1), [0xfd, 0xe7, 0x25]);
});

test('a phantom 144x144x4 slice renders to 288x288 PNGs', () => {
  const r = renderPreview(phantomPreview(40));
  for (const png of [r.input, r.truth, r.prediction]) {
    const d = decodePng(png);
    assert.equal(d.width, 288);
    assert.equal(d.height, 288);
  }
});

test('a preview whose arrays do not match its size is a UserError naming it', () => {
  const p = phantomPreview(3, 8, 4);
  assert.throws(() => checkPreview({ ...p, mask: new Float32Array(10) }), (e: unknown) => e instanceof UserError && /mask holds 10 values, expected 64/.test(e.message) && e.location.at === 'previews[index=3]');
  assert.throws(() => checkPreview({ ...p, channels: 3 }), (e: unknown) => e instanceof UserError && /image holds 256 values, expected 192/.test(e.message));
  assert.throws(() => checkPreview({ ...p, height: 0 }), UserError);
});
