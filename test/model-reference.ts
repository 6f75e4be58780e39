import type { Activation, Layer, ModelGraph } from '../runner/model/graph.js';
import { weightKey } from '../runner/model/graph.js';
import { inferShapes } from '../runner/model/shapes.js';

// A plain TypeScript NHWC interpreter of a ModelGraph, written straight from the Keras layer
// definitions: slow, but independent of ONNX layouts. Tests check the engines against it on
// small models (layer kinds the Keras reference fixtures do not cover numerically).

interface T {
  shape: number[]; // per image: [H, W, C] or [F]
  data: Float32Array; // n images
}

function act(kind: Activation | undefined, t: T): T {
  const d = t.data;
  switch (kind ?? 'linear') {
    case 'linear':
      return t;
    case 'relu':
      return { shape: t.shape, data: d.map((v) => (v > 0 ? v : 0)) };
    case 'sigmoid':
      return { shape: t.shape, data: d.map((v) => 1 / (1 + Math.exp(-v))) };
    case 'tanh':
      return { shape: t.shape, data: d.map((v) => Math.tanh(v)) };
    case 'elu':
      return { shape: t.shape, data: d.map((v) => (v > 0 ? v : Math.exp(v) - 1)) };
    case 'softmax': {
      const c = t.shape[t.shape.length - 1] as number;
      const out = new Float32Array(d.length);
      for (let i = 0; i < d.length / c; i++) {
        let m = -Infinity;
        for (let k = 0; k < c; k++) m = Math.max(m, d[i * c + k] as number);
        let s = 0;
        for (let k = 0; k < c; k++) s += (out[i * c + k] = Math.exp((d[i * c + k] as number) - m));
        for (let k = 0; k < c; k++) (out[i * c + k] as number) /= s;
      }
      return { shape: t.shape, data: out };
    }
  }
}

/** TensorFlow's SAME padding before the first element. */
function padBefore(inSize: number, outSize: number, k: number, s: number, d: number): number {
  return Math.floor(Math.max((outSize - 1) * s + (k - 1) * d + 1 - inSize, 0) / 2);
}

function layerEval(graph: ModelGraph, layer: Layer, ins: T[], out: number[], n: number): T {
  const c = layer.config;
  const x = ins[0] as T;
  const w = (role: 'kernel' | 'bias' | 'gamma' | 'beta' | 'moving_mean' | 'moving_variance') => graph.weights.get(weightKey(layer.name, role))?.data;
  const [H, W, C] = x.shape as [number, number, number];
  const [OH, OW, OC] = out as [number, number, number];
  const size = out.reduce((a, b) => a * b, 1);
  const y = new Float32Array(n * size);
  switch (layer.kind) {
    case 'InputLayer':
      return x;
    case 'Conv2D': {
      const [kh, kw] = c.kernelSize ?? [1, 1];
      const [sh, sw] = c.strides ?? [1, 1];
      const [dh, dw] = c.dilationRate ?? [1, 1];
      const ph = c.padding === 'same' ? padBefore(H, OH, kh, sh, dh) : 0;
      const pw = c.padding === 'same' ? padBefore(W, OW, kw, sw, dw) : 0;
      const k = w('kernel') as Float32Array;
      const b = w('bias');
      for (let im = 0; im < n; im++)
        for (let oy = 0; oy < OH; oy++)
          for (let ox = 0; ox < OW; ox++)
            for (let o = 0; o < OC; o++) {
              let s = b ? (b[o] as number) : 0;
              for (let ky = 0; ky < kh; ky++) {
                const iy = oy * sh + ky * dh - ph;
                if (iy < 0 || iy >= H) continue;
                for (let kx = 0; kx < kw; kx++) {
                  const ix = ox * sw + kx * dw - pw;
                  if (ix < 0 || ix >= W) continue;
                  for (let i = 0; i < C; i++) s += (x.data[((im * H + iy) * W + ix) * C + i] as number) * (k[((ky * kw + kx) * C + i) * OC + o] as number);
                }
              }
              y[((im * OH + oy) * OW + ox) * OC + o] = s;
            }
      return act(c.activation, { shape: out, data: y });
    }
    case 'Conv2DTranspose': {
      const [kh, kw] = c.kernelSize ?? [1, 1];
      const [sh, sw] = c.strides ?? [1, 1];
      // Output cropped from the full scatter by TensorFlow's SAME amount at the start.
      const ph = c.padding === 'same' ? Math.floor(Math.max(kh - sh, 0) / 2) : 0;
      const pw = c.padding === 'same' ? Math.floor(Math.max(kw - sw, 0) / 2) : 0;
      const k = w('kernel') as Float32Array; // (kh, kw, out, in)
      const b = w('bias');
      for (let im = 0; im < n; im++) {
        for (let i = 0; i < OH * OW; i++) for (let o = 0; o < OC; o++) y[(im * OH * OW + i) * OC + o] = b ? (b[o] as number) : 0;
        for (let iy = 0; iy < H; iy++)
          for (let ix = 0; ix < W; ix++)
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * sh + ky - ph;
              if (oy < 0 || oy >= OH) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * sw + kx - pw;
                if (ox < 0 || ox >= OW) continue;
                for (let o = 0; o < OC; o++) {
                  let s = 0;
                  for (let i = 0; i < C; i++) s += (x.data[((im * H + iy) * W + ix) * C + i] as number) * (k[((ky * kw + kx) * OC + o) * C + i] as number);
                  (y[((im * OH + oy) * OW + ox) * OC + o] as number) += s;
                }
              }
            }
      }
      return act(c.activation, { shape: out, data: y });
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const [kh, kw] = c.poolSize ?? [2, 2];
      const [sh, sw] = c.strides ?? [kh, kw];
      const ph = c.padding === 'same' ? padBefore(H, OH, kh, sh, 1) : 0;
      const pw = c.padding === 'same' ? padBefore(W, OW, kw, sw, 1) : 0;
      const max = layer.kind === 'MaxPooling2D';
      for (let im = 0; im < n; im++)
        for (let oy = 0; oy < OH; oy++)
          for (let ox = 0; ox < OW; ox++)
            for (let ch = 0; ch < C; ch++) {
              let acc = max ? -Infinity : 0;
              let cnt = 0;
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++) {
                  const iy = oy * sh + ky - ph;
                  const ix = ox * sw + kx - pw;
                  if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                  const v = x.data[((im * H + iy) * W + ix) * C + ch] as number;
                  acc = max ? Math.max(acc, v) : acc + v;
                  cnt++;
                }
              y[((im * OH + oy) * OW + ox) * C + ch] = max ? acc : acc / cnt;
            }
      return { shape: out, data: y };
    }
    case 'UpSampling2D': {
      const [uh, uw] = c.size ?? [2, 2];
      const at = (im: number, iy: number, ix: number, ch: number) => x.data[((im * H + Math.min(Math.max(iy, 0), H - 1)) * W + Math.min(Math.max(ix, 0), W - 1)) * C + ch] as number;
      for (let im = 0; im < n; im++)
        for (let oy = 0; oy < OH; oy++)
          for (let ox = 0; ox < OW; ox++)
            for (let ch = 0; ch < C; ch++) {
              let v: number;
              if (c.interpolation === 'bilinear') {
                const fy = Math.max((oy + 0.5) / uh - 0.5, 0);
                const fx = Math.max((ox + 0.5) / uw - 0.5, 0);
                const y0 = Math.floor(fy);
                const x0 = Math.floor(fx);
                const ay = fy - y0;
                const ax = fx - x0;
                v = (1 - ay) * ((1 - ax) * at(im, y0, x0, ch) + ax * at(im, y0, x0 + 1, ch)) + ay * ((1 - ax) * at(im, y0 + 1, x0, ch) + ax * at(im, y0 + 1, x0 + 1, ch));
              } else v = at(im, Math.floor(oy / uh), Math.floor(ox / uw), ch);
              y[((im * OH + oy) * OW + ox) * C + ch] = v;
            }
      return { shape: out, data: y };
    }
    case 'Concatenate': {
      // Only the last axis is concatenated here (channels, or features of flat tensors).
      const per = ins.map((t) => t.shape[t.shape.length - 1] as number);
      const total = per.reduce((a, b) => a + b, 0);
      const rows = size / total;
      for (let r = 0; r < n * rows; r++) {
        let off = 0;
        ins.forEach((t, j) => {
          const cj = per[j] as number;
          y.set(t.data.subarray(r * cj, (r + 1) * cj), r * total + off);
          off += cj;
        });
      }
      return { shape: out, data: y };
    }
    case 'BatchNormalization': {
      const ch = x.shape[x.shape.length - 1] as number;
      const g = w('gamma');
      const b = w('beta');
      const m = w('moving_mean') as Float32Array;
      const v = w('moving_variance') as Float32Array;
      for (let i = 0; i < x.data.length; i++) {
        const k = i % ch;
        y[i] = (((x.data[i] as number) - (m[k] as number)) / Math.sqrt((v[k] as number) + (c.epsilon ?? 1e-3))) * (g ? (g[k] as number) : 1) + (b ? (b[k] as number) : 0);
      }
      return { shape: out, data: y };
    }
    case 'Activation':
      return act(c.activation, x);
    case 'Dropout':
    case 'SpatialDropout2D':
      return x;
    case 'ZeroPadding2D':
    case 'Cropping2D': {
      const [[t], [l]] = c.pads ?? [[0, 0], [0, 0]];
      const sign = layer.kind === 'ZeroPadding2D' ? 1 : -1;
      for (let im = 0; im < n; im++)
        for (let oy = 0; oy < OH; oy++)
          for (let ox = 0; ox < OW; ox++) {
            const iy = oy - sign * t;
            const ix = ox - sign * l;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            for (let ch = 0; ch < C; ch++) y[((im * OH + oy) * OW + ox) * C + ch] = x.data[((im * H + iy) * W + ix) * C + ch] as number;
          }
      return { shape: out, data: y };
    }
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling2D': {
      const max = layer.kind === 'GlobalMaxPooling2D';
      for (let im = 0; im < n; im++)
        for (let ch = 0; ch < C; ch++) {
          let acc = max ? -Infinity : 0;
          for (let p = 0; p < H * W; p++) {
            const v = x.data[(im * H * W + p) * C + ch] as number;
            acc = max ? Math.max(acc, v) : acc + v;
          }
          y[im * C + ch] = max ? acc : acc / (H * W);
        }
      return { shape: out, data: y };
    }
    case 'Flatten':
      return { shape: out, data: x.data };
    case 'Dense': {
      const F = x.shape[0] as number;
      const U = out[0] as number;
      const k = w('kernel') as Float32Array;
      const b = w('bias');
      for (let im = 0; im < n; im++)
        for (let u = 0; u < U; u++) {
          let s = b ? (b[u] as number) : 0;
          for (let f = 0; f < F; f++) s += (x.data[im * F + f] as number) * (k[f * U + u] as number);
          y[im * U + u] = s;
        }
      return act(c.activation, { shape: out, data: y });
    }
  }
}

/** Runs `n` NHWC images of `inputShape` through the graph; returns the output (batch first). */
export function referenceEval(graph: ModelGraph, input: Float32Array, n: number, inputShape: [number, number, number]): { data: Float32Array; shape: number[] } {
  const shapes = inferShapes(graph, inputShape);
  const values = new Map<string, T>();
  for (const layer of graph.layers) {
    const out = (shapes.get(layer.name) ?? []) as number[];
    const ins = layer.inputs.map((name) => values.get(name) as T);
    values.set(layer.name, layer.kind === 'InputLayer' ? { shape: [...inputShape], data: input } : layerEval(graph, layer, ins, out, n));
  }
  const y = values.get(graph.output) as T;
  return { data: y.data, shape: [n, ...y.shape] };
}
