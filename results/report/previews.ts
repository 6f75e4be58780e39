import { UserError } from '../../common/errors.js';
import { bone, lookupTable, viridis } from './colormap.js';
import { encodePng, type RasterImage } from './png.js';
import type { ReportPreview } from './types.js';

// The reference benchmark's plot_results as three PNGs per slice: MRI input (channel 0, FLAIR, "bone",
// min-max scaled over the slice), ground truth and prediction (viridis over a fixed 0..1, so
// that probabilities read the same on every slice), all drawn with origin='lower' (row 0 at
// the bottom) and scaled up with nearest neighbours so 144-pixel slices stay readable.

export const PREVIEW_SCALE = 2;

export interface RenderedPreview {
  index: number;
  dice: number;
  width: number;
  height: number;
  input: Buffer;
  truth: Buffer;
  prediction: Buffer;
}

const BONE = lookupTable(bone);
const VIRIDIS = lookupTable(viridis);

/** Fails with a UserError naming the preview and the array whose size is wrong. */
export function checkPreview(p: ReportPreview): void {
  const where = { at: `previews[index=${p.index}]` };
  for (const [name, v] of [['height', p.height], ['width', p.width], ['channels', p.channels]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new UserError(`preview ${name} must be a positive integer`, { location: where, value: v });
  }
  const plane = p.height * p.width;
  const sizes = [['image', p.image.length, plane * p.channels], ['mask', p.mask.length, plane], ['prediction', p.prediction.length, plane]] as const;
  for (const [name, got, want] of sizes) {
    if (got !== want) {
      throw new UserError(`preview ${name} holds ${got} values, expected ${want} for ${p.height}x${p.width}${name === 'image' ? `x${p.channels}` : ''}`, {
        location: where,
        value: got,
      });
    }
  }
}

/** Maps values to colours through `lut`, flipping rows (origin='lower') and repeating pixels `scale` times. */
function colourise(
  height: number,
  width: number,
  value: (y: number, x: number) => number,
  lut: Uint8Array,
  scale: number,
): RasterImage {
  const W = width * scale;
  const H = height * scale;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < height; y++) {
    const outRow = height - 1 - y;
    for (let x = 0; x < width; x++) {
      const v = value(y, x);
      const level = Number.isFinite(v) ? Math.round(Math.min(1, Math.max(0, v)) * 255) : 0;
      for (let dy = 0; dy < scale; dy++) {
        const rowStart = ((outRow * scale + dy) * W + x * scale) * 3;
        for (let dx = 0; dx < scale; dx++) data.set(lut.subarray(level * 3, level * 3 + 3), rowStart + dx * 3);
      }
    }
  }
  return { width: W, height: H, channels: 3, data };
}

export function renderPreview(p: ReportPreview, scale = PREVIEW_SCALE): RenderedPreview {
  checkPreview(p);
  const { height: h, width: w, channels: c } = p;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < h * w; i++) {
    const v = p.image[i * c]!;
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  // A flat slice shows black rather than dividing by zero.
  const range = hi > lo ? hi - lo : 1;
  const base = Number.isFinite(lo) ? lo : 0;
  return {
    index: p.index,
    dice: p.dice,
    width: w * scale,
    height: h * scale,
    input: encodePng(colourise(h, w, (y, x) => (p.image[(y * w + x) * c]! - base) / range, BONE, scale)),
    truth: encodePng(colourise(h, w, (y, x) => p.mask[y * w + x]!, VIRIDIS, scale)),
    prediction: encodePng(colourise(h, w, (y, x) => p.prediction[y * w + x]!, VIRIDIS, scale)),
  };
}
