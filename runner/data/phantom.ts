import { Rng } from '../../common/prng.js';

// One synthetic axial brain slice in the four BraTS modalities, with its whole-tumour mask.
// Anatomy: an elliptical head with scalp, skull, a CSF rim, a cortex with gyral folding over
// white matter, deep grey nuclei, lateral ventricles and the midline fissure. A tumour (on about
// 60% of slices) is a lobulated oedema around a lobulated core; high-grade cores have an
// enhancing rim around necrosis, low-grade ones do not enhance. Then a smooth multiplicative
// bias field, Rician noise, and per-channel zero-mean unit-variance normalisation.
//
// Shapes are "blobs": an ellipse frame whose boundary radius is modulated by angular harmonics,
// evaluated with the cos/sin recurrence so no pixel needs atan2 or a trig call.

export const MODALITIES = ['FLAIR', 'T1w', 'T1gd', 'T2w'] as const;
export const CHANNELS = MODALITIES.length;

/** Probability that a slice has a tumour; the other ~40% have an empty mask. */
export const TUMOUR_PROBABILITY = 0.6;

type Contrast = readonly [flair: number, t1: number, t1gd: number, t2: number];

// Relative signal of each tissue per modality, after the usual appearance in clinical MRI:
// FLAIR suppresses CSF and shows oedema bright; T1 has white matter brighter than grey and
// CSF dark; T1gd adds gadolinium uptake in the enhancing rim; T2 shows CSF, oedema and
// necrosis bright.
const TISSUES = {
  scalp: [0.35, 0.85, 0.85, 0.45],
  bone: [0.05, 0.08, 0.08, 0.06],
  csf: [0.12, 0.18, 0.2, 1.0],
  grey: [0.55, 0.48, 0.5, 0.62],
  white: [0.45, 0.68, 0.7, 0.42],
  nuclei: [0.52, 0.56, 0.57, 0.54],
  oedema: [0.95, 0.4, 0.42, 0.88],
  enhancing: [0.78, 0.46, 1.15, 0.72],
  necrosis: [0.4, 0.22, 0.24, 0.98],
  lowGradeCore: [0.86, 0.34, 0.36, 0.93],
} satisfies Record<string, Contrast>;

type Tissue = keyof typeof TISSUES;

interface Blob {
  cx: number;
  cy: number;
  cos: number;
  sin: number;
  ax: number;
  ay: number;
  /** Boundary radius 1 + sum_k (h[2k-2] cos k theta + h[2k-1] sin k theta). */
  harm: Float64Array;
  /** Squared distance from the centre beyond which a pixel is surely outside (with a margin). */
  reach2: number;
}

/** The blob is surely 0 at (x, y): a cheap test that skips the exact evaluation. */
function outside(b: Blob, x: number, y: number): boolean {
  const dx = x - b.cx;
  const dy = y - b.cy;
  return dx * dx + dy * dy > b.reach2;
}

// Scratch outputs of frameAt (cos, sin of the angle). A typed array, because doubles in
// mutable closure or module variables are boxed by V8 and every write would allocate.
const frame = new Float64Array(2);

/** Normalised elliptical radius of (x, y) in the blob's frame; sets frame[0], frame[1] to its cos, sin. */
function frameAt(b: Blob, x: number, y: number): number {
  const dx = x - b.cx;
  const dy = y - b.cy;
  const u = (b.cos * dx + b.sin * dy) / b.ax;
  const v = (-b.sin * dx + b.cos * dy) / b.ay;
  const e = Math.sqrt(u * u + v * v);
  if (e > 0) {
    frame[0] = u / e;
    frame[1] = v / e;
  } else {
    frame[0] = 1;
    frame[1] = 0;
  }
  return e;
}

function harmonic(c1: number, s1: number, h: Float64Array): number {
  let ck = c1;
  let sk = s1;
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) {
    sum += h[i]! * ck + h[i + 1]! * sk;
    const cn = ck * c1 - sk * s1;
    sk = sk * c1 + ck * s1;
    ck = cn;
  }
  return sum;
}

/** Harmonic coefficients for k in [kMin, kMax], each amplitude up to scale / k^decay. */
function harmonics(rng: Rng, kMin: number, kMax: number, scale: number, decay = 1): Float64Array {
  const h = new Float64Array(2 * kMax);
  for (let k = kMin; k <= kMax; k++) {
    const amp = rng.uniform(0, scale) / Math.pow(k, decay);
    const phase = rng.uniform(0, 2 * Math.PI);
    h[2 * k - 2] = amp * Math.cos(phase);
    h[2 * k - 1] = amp * Math.sin(phase);
  }
  return h;
}

/** Gyral folding: many harmonics with Gaussian amplitudes (rms about `rms` in all), so no single lobe count dominates. */
function foldHarmonics(rng: Rng, kMin: number, kMax: number, rms: number): Float64Array {
  const h = new Float64Array(2 * kMax);
  const each = rms / Math.sqrt(kMax - kMin + 1);
  for (let k = kMin; k <= kMax; k++) {
    h[2 * k - 2] = rng.normal() * each;
    h[2 * k - 1] = rng.normal() * each;
  }
  return h;
}

/** Partial-volume fraction for a signed distance in pixels (negative inside): a 1-pixel ramp. */
function ramp(distPx: number): number {
  const m = 0.5 - distPx;
  return m <= 0 ? 0 : m >= 1 ? 1 : m;
}

/** A smooth random field (about unit variance) from a coarse grid with cubic-Hermite blending. */
function smoothField(rng: Rng, size: number, cells: number): Float64Array {
  const g = cells + 1;
  const grid = new Float64Array(g * g);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.normal();
  const out = new Float64Array(size * size);
  const wx = new Float64Array(size);
  const ix = new Int32Array(size);
  for (let x = 0; x < size; x++) {
    const gx = ((x + 0.5) / size) * cells;
    const i = Math.min(cells - 1, Math.floor(gx));
    const f = gx - i;
    ix[x] = i;
    wx[x] = f * f * (3 - 2 * f);
  }
  for (let y = 0; y < size; y++) {
    const j = ix[y]!;
    const fy = wx[y]!;
    for (let x = 0; x < size; x++) {
      const i = ix[x]!;
      const fx = wx[x]!;
      const top = grid[j * g + i]! * (1 - fx) + grid[j * g + i + 1]! * fx;
      const bottom = grid[(j + 1) * g + i]! * (1 - fx) + grid[(j + 1) * g + i + 1]! * fx;
      out[y * size + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

interface Tumour {
  core: Blob;
  oedema: Blob;
  /** Necrosis lies inside this fraction of the core radius (0: none). */
  necrosis: number;
  highGrade: boolean;
  texture: Float64Array;
}

interface Anatomy {
  head: Blob;
  brainHarm: Float64Array;
  greyHarm: Float64Array;
  greyDepth: number;
  ventricles: Blob[];
  nuclei: Blob[];
  fissureHalfWidth: number;
  tumour: Tumour | undefined;
  contrast: Record<Tissue, Contrast>;
}

const BRAIN_RADIUS = 0.88;

/** A point given in the head's normalised polar frame, in image coordinates. */
function headPoint(head: Blob, e: number, cos: number, sin: number): [number, number] {
  const lx = e * cos * head.ax;
  const ly = e * sin * head.ay;
  return [head.cx + head.cos * lx - head.sin * ly, head.cy + head.sin * lx + head.cos * ly];
}

function blobAt(cx: number, cy: number, angle: number, ax: number, ay: number, harm: Float64Array): Blob {
  let bound = 1;
  for (const h of harm) bound += Math.abs(h);
  // Outer radius bound plus two pixels of a 16-pixel image, the smallest size allowed.
  const reach = Math.max(ax, ay) * bound + 0.25;
  return { cx, cy, cos: Math.cos(angle), sin: Math.sin(angle), ax, ay, harm, reach2: reach * reach };
}

function makeAnatomy(rng: Rng, size: number): Anatomy {
  // Coordinates are normalised to [-1, 1] over the image; the head nearly fills it, as in the
  // 144x144 centre crops of BraTS.
  const scale = rng.uniform(0.72, 1.0);
  const angle = rng.uniform(-0.15, 0.15);
  const head = blobAt(rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), angle, 0.86 * scale * rng.uniform(0.93, 1.03), 0.98 * scale * rng.uniform(0.95, 1.04), new Float64Array(0));
  const brainHarm = new Float64Array(36);
  brainHarm.set(harmonics(rng, 2, 4, 0.04));
  const folds = harmonics(rng, 12, 18, 0.012 * 12, 1);
  for (let i = 6; i < folds.length; i++) brainHarm[i] = brainHarm[i]! + folds[i]!;
  const greyHarm = foldHarmonics(rng, 5, 26, 0.035);

  const ventricles: Blob[] = [];
  if (rng.chance(0.75)) {
    const dx = rng.uniform(0.07, 0.12);
    const dy = rng.uniform(-0.12, 0.08);
    const w = rng.uniform(0.04, 0.08);
    const h = rng.uniform(0.12, 0.28) * (scale > 0.85 ? 1 : 0.6);
    const tilt = rng.uniform(0.1, 0.35);
    for (const side of [-1, 1]) {
      const [cx, cy] = headPoint(head, Math.hypot(dx, dy), (side * dx) / Math.hypot(dx, dy), dy / Math.hypot(dx, dy));
      ventricles.push(blobAt(cx, cy, angle + side * tilt, w * head.ax, h * head.ay, harmonics(rng, 2, 3, 0.15)));
    }
  }
  const nuclei: Blob[] = [];
  if (rng.chance(0.5)) {
    const dx = rng.uniform(0.22, 0.3);
    const dy = rng.uniform(-0.05, 0.1);
    for (const side of [-1, 1]) {
      const [cx, cy] = headPoint(head, Math.hypot(dx, dy), (side * dx) / Math.hypot(dx, dy), dy / Math.hypot(dx, dy));
      nuclei.push(blobAt(cx, cy, angle - side * 0.3, 0.06 * head.ax, 0.13 * head.ay, harmonics(rng, 2, 3, 0.1)));
    }
  }

  const contrast = {} as Record<Tissue, Contrast>;
  for (const [name, c] of Object.entries(TISSUES) as [Tissue, Contrast][]) {
    contrast[name] = c.map((v) => v * rng.uniform(0.95, 1.05)) as unknown as Contrast;
  }

  let tumour: Tumour | undefined;
  if (rng.chance(TUMOUR_PROBABILITY)) {
    const theta = rng.uniform(0, 2 * Math.PI);
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    const rho = rng.uniform(0, 0.68) * BRAIN_RADIUS * (1 + harmonic(c, s, brainHarm));
    const [tx, ty] = headPoint(head, rho, c, s);
    // Core radius in normalised units, skewed towards small tumours, never under ~2.5 pixels.
    const minCore = Math.max(0.04, 5 / size);
    const rc = minCore + (0.2 - minCore) * Math.pow(rng.next(), 1.5);
    const aspect = rng.uniform(0.7, 1.3);
    const core = blobAt(tx, ty, rng.uniform(0, Math.PI), rc * aspect, rc / aspect, harmonics(rng, 2, 5, 0.35 * 1.5, 1));
    const spread = rng.chance(0.15) ? rng.uniform(1.05, 1.2) : rng.uniform(1.3, 2.3);
    const ro = rc * spread;
    const oAspect = rng.uniform(0.75, 1.3);
    const oedema = blobAt(
      tx + rng.uniform(-0.3, 0.3) * rc,
      ty + rng.uniform(-0.3, 0.3) * rc,
      rng.uniform(0, Math.PI),
      ro * oAspect,
      ro / oAspect,
      harmonics(rng, 2, 7, 0.5, 1),
    );
    const highGrade = rng.chance(0.7);
    const necrosis = highGrade && rc * size * 0.5 > 4 ? rng.uniform(0.4, 0.75) : 0;
    tumour = { core, oedema, necrosis, highGrade, texture: smoothField(rng, size, Math.max(2, Math.round(size / 12))) };
  }
  return {
    head,
    brainHarm,
    greyHarm,
    greyDepth: rng.uniform(0.76, 0.84),
    ventricles,
    nuclei,
    fissureHalfWidth: rng.uniform(0.006, 0.012),
    tumour,
    contrast,
  };
}

export interface SliceStats {
  tumourPixels: number;
}

/**
 * Renders one slice of `size` x `size` into `image` (channels last, CHANNELS per pixel) at
 * `imageOffset` and its whole-tumour mask (0/1) into `mask` at `maskOffset`.
 */
export function renderSlice(rng: Rng, size: number, image: Float32Array, imageOffset: number, mask: Float32Array, maskOffset: number): SliceStats {
  const a = makeAnatomy(rng, size);
  const px = size / 2; // pixels per normalised unit
  const n = size * size;
  const planes = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)] as const;
  const headPx = px * Math.min(a.head.ax, a.head.ay);
  const texture = smoothField(rng, size, Math.max(2, Math.round(size / 10)));
  const t = a.tumour;
  let tumourPixels = 0;

  // The pixel's four signals, painted over layer by layer with partial-volume fractions.
  const v = new Float64Array(CHANNELS);
  const paint = (m: number, c: Contrast, gain = 1): void => {
    if (m <= 0) return;
    const k = m * gain;
    v[0] = v[0]! * (1 - m) + k * c[0];
    v[1] = v[1]! * (1 - m) + k * c[1];
    v[2] = v[2]! * (1 - m) + k * c[2];
    v[3] = v[3]! * (1 - m) + k * c[3];
  };

  for (let y = 0; y < size; y++) {
    const yn = ((y + 0.5) / size) * 2 - 1;
    for (let x = 0; x < size; x++) {
      const xn = ((x + 0.5) / size) * 2 - 1;
      const i = y * size + x;
      const e = frameAt(a.head, xn, yn);
      if ((e - 1) * headPx > 1) continue; // background stays 0 before noise
      const c = frame[0]!;
      const s = frame[1]!;
      v.fill(0);
      paint(ramp((e - 1) * headPx), a.contrast.scalp);
      paint(ramp((e - 0.955) * headPx), a.contrast.bone);
      paint(ramp((e - 0.915) * headPx), a.contrast.csf);
      const brainR = BRAIN_RADIUS * (1 + harmonic(c, s, a.brainHarm));
      const inBrain = ramp((e - brainR) * headPx);
      if (inBrain > 0) {
        const tex = 1 + 0.05 * texture[i]!;
        paint(inBrain, a.contrast.grey, tex);
        const greyR = brainR * (a.greyDepth + harmonic(c, s, a.greyHarm));
        paint(ramp((e - greyR) * headPx), a.contrast.white, tex);
        for (const b of a.nuclei) {
          if (outside(b, xn, yn)) continue;
          const eb = frameAt(b, xn, yn);
          paint(ramp((eb - 1 - harmonic(frame[0]!, frame[1]!, b.harm)) * px * Math.min(b.ax, b.ay)), a.contrast.nuclei, tex);
        }
        for (const b of a.ventricles) {
          if (outside(b, xn, yn)) continue;
          const eb = frameAt(b, xn, yn);
          paint(ramp((eb - 1 - harmonic(frame[0]!, frame[1]!, b.harm)) * px * Math.min(b.ax, b.ay)), a.contrast.csf);
        }
        // Midline fissure: a thin CSF cleft through the outer brain, in front and behind.
        if (e > 0.55 * brainR) {
          const lateral = Math.abs(e * c * a.head.ax);
          paint(inBrain * ramp((lateral - a.fissureHalfWidth) * px), a.contrast.csf);
        }
        if (t && !(outside(t.oedema, xn, yn) && outside(t.core, xn, yn))) {
          const tt = 1 + 0.12 * t.texture[i]!;
          const eo = frameAt(t.oedema, xn, yn);
          const mo = ramp((eo - 1 - harmonic(frame[0]!, frame[1]!, t.oedema.harm)) * px * Math.min(t.oedema.ax, t.oedema.ay)) * inBrain;
          const ec = frameAt(t.core, xn, yn);
          const coreR = 1 + harmonic(frame[0]!, frame[1]!, t.core.harm);
          const corePx = px * Math.min(t.core.ax, t.core.ay);
          const mc = ramp((ec - coreR) * corePx) * inBrain;
          paint(mo, a.contrast.oedema, tt);
          paint(mc, t.highGrade ? a.contrast.enhancing : a.contrast.lowGradeCore, tt);
          if (t.necrosis > 0) paint(ramp((ec - t.necrosis * coreR) * corePx) * inBrain, a.contrast.necrosis, tt);
          if (Math.max(mo, mc) >= 0.5) {
            mask[maskOffset + i] = 1;
            tumourPixels++;
          }
        }
      }
      planes[0][i] = v[0]!;
      planes[1][i] = v[1]!;
      planes[2][i] = v[2]!;
      planes[3][i] = v[3]!;
    }
  }

  // Scanner effects: one smooth bias field shared by the sequences plus a weaker one of each,
  // then Rician noise (the magnitude of a complex signal with Gaussian noise in both parts).
  const bias = smoothField(rng, size, 2);
  for (let i = 0; i < n; i++) bias[i] = Math.exp(0.12 * bias[i]!);
  const sigma = rng.uniform(0.015, 0.04);
  const normals = new Float64Array(4096);
  for (let k = 0; k < normals.length; k++) normals[k] = rng.normal() * sigma;
  for (let ch = 0; ch < CHANNELS; ch++) {
    const own = smoothField(rng, size, 2);
    const plane = planes[ch]!;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const signal = plane[i]! * bias[i]! * (1 + 0.04 * own[i]!);
      const r = signal + normals[rng.nextU32() & 4095]!;
      const q = normals[rng.nextU32() & 4095]!;
      const v = Math.sqrt(r * r + q * q);
      plane[i] = v;
      sum += v;
      sumSq += v * v;
    }
    // Zero mean, unit variance per channel over the whole slice (background included), as the
    // reference preparation's conversion does per channel over each volume.
    const mean = sum / n;
    const std = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
    const inv = std > 1e-12 ? 1 / std : 1;
    for (let i = 0; i < n; i++) image[imageOffset + i * CHANNELS + ch] = (plane[i]! - mean) * inv;
  }
  return { tumourPixels };
}
