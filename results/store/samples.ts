// Latency samples as a little-endian float32 BLOB: 4 bytes a sample instead of ~18 as JSON text,
// and float32's 7 significant digits are far finer than a millisecond timer's noise.

export function encodeSamples(samples: readonly number[]): Buffer {
  const buf = Buffer.alloc(samples.length * 4);
  samples.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf;
}

export function decodeSamples(blob: Buffer | null): number[] {
  if (!blob) return [];
  const out = new Array<number>(blob.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = blob.readFloatLE(i * 4);
  return out;
}
