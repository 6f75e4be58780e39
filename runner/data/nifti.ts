import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { UserError, type ErrorLocation } from '../../common/errors.js';

// NIfTI-1/-2 volumes (.nii or .nii.gz): nifti-reader-js parses the header; gzip is undone with
// node:zlib; the voxels are returned as a typed array in the file's own order (x fastest, then
// y, z, and the 4th dimension: Fortran order, as nibabel indexes them). Every failure is a
// UserError at the file's location (a path, or an archive and its member).

const GZIP_MAGIC = [0x1f, 0x8b];
/** Enough decompressed bytes for a NIfTI-2 header (540) and the extension flag after it. */
const HEADER_BYTES = 544;

type VoxelArray = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

interface VoxelType {
  name: string;
  bytes: number;
  array: { new (buffer: ArrayBuffer, offset: number, length: number): VoxelArray; new (length: number): VoxelArray };
  get: (view: DataView, at: number, littleEndian: boolean) => number;
}

// NIfTI datatype codes (nifti1.h) this reader accepts: the real-valued scalar types.
const VOXEL_TYPES: Record<number, VoxelType> = {
  2: { name: 'uint8', bytes: 1, array: Uint8Array, get: (v, at) => v.getUint8(at) },
  4: { name: 'int16', bytes: 2, array: Int16Array, get: (v, at, le) => v.getInt16(at, le) },
  8: { name: 'int32', bytes: 4, array: Int32Array, get: (v, at, le) => v.getInt32(at, le) },
  16: { name: 'float32', bytes: 4, array: Float32Array, get: (v, at, le) => v.getFloat32(at, le) },
  64: { name: 'float64', bytes: 8, array: Float64Array, get: (v, at, le) => v.getFloat64(at, le) },
  256: { name: 'int8', bytes: 1, array: Int8Array, get: (v, at) => v.getInt8(at) },
  512: { name: 'uint16', bytes: 2, array: Uint16Array, get: (v, at, le) => v.getUint16(at, le) },
  768: { name: 'uint32', bytes: 4, array: Uint32Array, get: (v, at, le) => v.getUint32(at, le) },
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface NiftiHeader {
  /** The volume's shape, dims[1..dims[0]] of the header (X, Y, Z[, T]). */
  shape: number[];
  type: string;
  /** Bytes from the start of the (decompressed) file to the first voxel. */
  voxOffset: number;
  littleEndian: boolean;
  /** Value scaling (scl_slope, scl_inter), applied as nibabel does: a slope of 0 or NaN means none. */
  slope: number;
  inter: number;
}

export interface NiftiVolume {
  header: NiftiHeader;
  /** Raw voxel values, Fortran order; scale with header.slope and header.inter. */
  voxels: VoxelArray;
}

function fail(where: ErrorLocation, message: string, hint?: string, cause?: unknown): never {
  throw new UserError(message, { location: where, hint, cause });
}

function isGzip(raw: Buffer): boolean {
  return raw.length >= 2 && raw[0] === GZIP_MAGIC[0] && raw[1] === GZIP_MAGIC[1];
}

function asArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

function gunzip(raw: Buffer, where: ErrorLocation, partial: boolean): Buffer {
  try {
    // A partial read flushes what the first bytes decode to, without needing the stream's end.
    return partial ? gunzipSync(raw, { finishFlush: zlibConstants.Z_SYNC_FLUSH }) : gunzipSync(raw);
  } catch (err) {
    const message = (err as Error).message;
    if (/unexpected end of file/i.test(message)) {
      fail(where, 'truncated gzip stream: the file ends before its compressed data does', 'the file is incomplete; copy or download it again', err);
    }
    fail(where, `not a valid gzip file (${message})`, undefined, err);
  }
}

/** Parses the header from the first decompressed bytes of a NIfTI file. */
function parseHeader(bytes: Buffer, where: ErrorLocation): NiftiHeader {
  const data = asArrayBuffer(bytes);
  if (bytes.length < 348 || !nifti.isNIFTI(data)) {
    fail(where, bytes.length < 348 ? `not a NIfTI file (${bytes.length} bytes, shorter than a NIfTI header)` : 'not a NIfTI file (no NIfTI-1 or NIfTI-2 magic in its header)');
  }
  let header: nifti.NIFTI1 | nifti.NIFTI2;
  try {
    header = nifti.readHeader(data);
  } catch (err) {
    fail(where, `unreadable NIfTI header: ${(err as Error).message}`, undefined, err);
  }
  const rank = header.dims[0]!;
  if (!(rank >= 1 && rank <= 7)) fail(where, `NIfTI header has ${rank} dimensions; expected 1 to 7`);
  const shape = header.dims.slice(1, rank + 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 1)) fail(where, `NIfTI header has the shape ${shape.join(' x ')}; every size must be at least 1`);
  const type = VOXEL_TYPES[header.datatypeCode];
  if (!type) fail(where, `NIfTI datatype code ${header.datatypeCode} is not supported; expected one of ${Object.values(VOXEL_TYPES).map((t) => t.name).join(', ')}`);
  const slope = header.scl_slope;
  const scaled = Number.isFinite(slope) && slope !== 0;
  return {
    shape,
    type: type.name,
    voxOffset: Number(header.vox_offset),
    littleEndian: header.littleEndian,
    slope: scaled ? slope : 1,
    inter: scaled && Number.isFinite(header.scl_inter) ? header.scl_inter : 0,
  };
}

/** The header alone, from the first bytes of the file (a few KiB are enough, compressed or not). */
export function readNiftiHeader(head: Buffer, where: ErrorLocation): NiftiHeader {
  const bytes = isGzip(head) ? gunzip(head, where, true) : head;
  return parseHeader(bytes.subarray(0, Math.min(bytes.length, HEADER_BYTES)), where);
}

export function voxelCount(header: NiftiHeader): number {
  return header.shape.reduce((a, b) => a * b, 1);
}

/** The whole volume; the file must hold every voxel its header announces. */
export function readNifti(raw: Buffer, where: ErrorLocation): NiftiVolume {
  const bytes = isGzip(raw) ? gunzip(raw, where, false) : raw;
  const header = parseHeader(bytes.subarray(0, Math.min(bytes.length, HEADER_BYTES)), where);
  const type = Object.values(VOXEL_TYPES).find((t) => t.name === header.type)!;
  const count = voxelCount(header);
  const needed = header.voxOffset + count * type.bytes;
  if (bytes.length < needed) {
    fail(where, `truncated NIfTI file: its header announces ${header.shape.join(' x ')} ${header.type} voxels (${needed} bytes), but it holds ${bytes.length} bytes`, 'the file is incomplete; copy or download it again');
  }
  const start = bytes.byteOffset + header.voxOffset;
  // A typed-array view when the bytes are in the host's order and aligned, a converted copy otherwise.
  if (header.littleEndian === HOST_LITTLE_ENDIAN && start % type.bytes === 0) {
    return { header, voxels: new type.array(bytes.buffer as ArrayBuffer, start, count) };
  }
  const view = new DataView(bytes.buffer, start, count * type.bytes);
  const voxels = new type.array(count);
  for (let i = 0; i < count; i++) voxels[i] = type.get(view, i * type.bytes, header.littleEndian);
  return { header, voxels };
}
