// Colour maps for the segmentation previews, after matplotlib's: "bone" (its published
// piecewise-linear segments) for the MRI input and a viridis-like ramp (nine samples of
// viridis, linearly interpolated) for masks and probabilities.

export type Rgb = [number, number, number];
export type Colormap = (t: number) => Rgb;

type Segments = ReadonlyArray<readonly [number, number]>;

function interpolate(segments: Segments, t: number): number {
  for (let i = 1; i < segments.length; i++) {
    const [x1, y1] = segments[i]!;
    if (t <= x1) {
      const [x0, y0] = segments[i - 1]!;
      return y0 + ((t - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
  return segments[segments.length - 1]![1];
}

function clamp01(t: number): number {
  return Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
}

const BONE_R: Segments = [[0, 0], [0.746032, 0.652778], [1, 1]];
const BONE_G: Segments = [[0, 0], [0.365079, 0.319444], [0.746032, 0.777778], [1, 1]];
const BONE_B: Segments = [[0, 0], [0.365079, 0.444444], [1, 1]];

export const bone: Colormap = (t) => {
  const x = clamp01(t);
  return [interpolate(BONE_R, x) * 255, interpolate(BONE_G, x) * 255, interpolate(BONE_B, x) * 255].map(Math.round) as Rgb;
};

const VIRIDIS_HEX = ['440154', '472c7a', '3b518b', '2c718e', '21908d', '27ad81', '5cc863', 'aadc32', 'fde725'];
const VIRIDIS_CHANNELS = [0, 1, 2].map((c) =>
  VIRIDIS_HEX.map((hex, i) => [i / (VIRIDIS_HEX.length - 1), parseInt(hex.slice(c * 2, c * 2 + 2), 16)] as const),
);

export const viridis: Colormap = (t) => {
  const x = clamp01(t);
  return VIRIDIS_CHANNELS.map((segments) => Math.round(interpolate(segments, x))) as Rgb;
};

/** A 256-entry lookup table, so that mapping a whole image costs one index per pixel. */
export function lookupTable(map: Colormap): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.set(map(i / 255), i * 3);
  return lut;
}
