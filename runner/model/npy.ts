import { readFileSync } from 'node:fs';
import { UserError } from '../../common/errors.js';

// A small reader for NumPy .npy files (format 1.0-3.0, C order), for reference inputs and
// outputs such as the Keras fixtures' exampleImage.npy. Values come back as float32.

export interface NpyArray {
  shape: number[];
  dtype: string;
  data: Float32Array;
}

const READERS: Record<string, [number, (v: DataView, o: number) => number]> = {
  '|u1': [1, (v, o) => v.getUint8(o)],
  '|i1': [1, (v, o) => v.getInt8(o)],
  '|b1': [1, (v, o) => v.getUint8(o)],
  '<u2': [2, (v, o) => v.getUint16(o, true)],
  '<i2': [2, (v, o) => v.getInt16(o, true)],
  '<u4': [4, (v, o) => v.getUint32(o, true)],
  '<i4': [4, (v, o) => v.getInt32(o, true)],
  '<f4': [4, (v, o) => v.getFloat32(o, true)],
  '<f8': [8, (v, o) => v.getFloat64(o, true)],
  '>f4': [4, (v, o) => v.getFloat32(o, false)],
};

export function readNpy(path: string): NpyArray {
  const buf = readFileSync(path);
  const fail = (why: string): never => {
    throw new UserError(`not a readable .npy file: ${why}`, { location: { file: path } });
  };
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail('no NumPy magic');
  const major = buf[6] as number;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) return fail(`cannot parse header ${header.trim()}`);
  if (fortran === 'True') fail('Fortran order is not supported');
  const reader = READERS[descr];
  if (!reader) return fail(`dtype '${descr}' is not supported`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const [size, get] = reader;
  const offset = start + headerLen;
  if (buf.length < offset + n * size) fail(`holds ${buf.length - offset} data bytes, shape [${shape.join(', ')}] needs ${n * size}`);
  const view = new DataView(buf.buffer, buf.byteOffset + offset, n * size);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = get(view, i * size);
  return { shape, dtype: descr, data };
}
