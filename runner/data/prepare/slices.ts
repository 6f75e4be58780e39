import type { NiftiVolume } from '../nifti.js';

// One patient's volumes -> 2-D slices, as the IntelAI/unet 2D preparation does it:
// - a centre crop of X, Y and Z each to the crop size (start = max(size // 2 - crop // 2, 0),
//   end = min(start + crop, size)), so Z 155 -> slices 5..148 at 144;
// - images: each channel normalised over the cropped volume, (v - mean) / std (population std);
// - labels: every label above 0 becomes 1 (whole tumour);
// - axes 0 and 2 swapped: slice z holds rows y and columns x (Z x Y x X x C).
// NIfTI voxels are in Fortran order: (x, y, z, c) is at x + X * (y + Y * (z + Z * c)).

export interface CropWindow {
  /** First voxel kept on X, Y, Z. */
  start: [number, number, number];
  /** Voxels kept on X, Y, Z. */
  length: [number, number, number];
}

export function centreCrop(shape: readonly number[], crop: number): CropWindow {
  const start = [0, 1, 2].map((axis) => Math.max(Math.floor(shape[axis]! / 2) - Math.floor(crop / 2), 0)) as [number, number, number];
  const length = [0, 1, 2].map((axis) => Math.min(start[axis]! + crop, shape[axis]!) - start[axis]!) as [number, number, number];
  return { start, length };
}

/** Calls visit(value, outIndex) for each voxel of one channel inside the window, in output order. */
function forEachCropped(volume: NiftiVolume, window: CropWindow, channel: number, visit: (value: number, out: number) => void): void {
  const [X, Y, Z] = volume.header.shape as [number, number, number];
  const [x0, y0, z0] = window.start;
  const [nx, ny, nz] = window.length;
  const { slope, inter } = volume.header;
  const voxels = volume.voxels;
  let out = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const row = x0 + X * (y0 + y + Y * (z0 + z + Z * channel));
      for (let x = 0; x < nx; x++) visit(voxels[row + x]! * slope + inter, out++);
    }
  }
}

/** nz x ny x nx x C float32, each channel at zero mean and unit variance over the window (all zero where it is constant). */
export function imageSlices(volume: NiftiVolume, window: CropWindow, channels: number): Float32Array {
  const [nx, ny, nz] = window.length;
  const count = nx * ny * nz;
  const out = new Float32Array(count * channels);
  const values = new Float64Array(count);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    forEachCropped(volume, window, c, (v, i) => {
      values[i] = v;
      sum += v;
    });
    const mean = sum / count;
    let squares = 0;
    for (let i = 0; i < count; i++) squares += (values[i]! - mean) ** 2;
    const std = Math.sqrt(squares / count);
    for (let i = 0; i < count; i++) out[i * channels + c] = std > 0 ? (values[i]! - mean) / std : 0;
  }
  return out;
}

/** nz x ny x nx float32 whole-tumour mask: 1 where the label is above 0. */
export function maskSlices(volume: NiftiVolume, window: CropWindow): Float32Array {
  const [nx, ny, nz] = window.length;
  const out = new Float32Array(nx * ny * nz);
  forEachCropped(volume, window, 0, (v, i) => {
    out[i] = v > 0 ? 1 : 0;
  });
  return out;
}
