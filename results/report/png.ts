import { deflateSync } from 'node:zlib';

// A small PNG encoder (8-bit RGB or RGBA, no interlace): signature, IHDR, one IDAT, IEND.
// Each row gets the filter (None, Sub, Up, Average, Paeth) with the smallest sum of absolute
// filtered bytes, the heuristic the PNG specification suggests; it shrinks images a lot.

export interface RasterImage {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA). */
  channels: 3 | 4;
  /** Row-major, top row first, `channels` bytes per pixel. */
  data: Uint8Array;
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309 / ITU-T V.42, as PNG and zlib use it). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out, 4, 8 + data.length), 8 + data.length);
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Filtered scanlines, each prefixed with its filter type byte. */
function filterRows(img: RasterImage): Uint8Array {
  const bpp = img.channels;
  const stride = img.width * bpp;
  const out = new Uint8Array(img.height * (stride + 1));
  const candidate = new Uint8Array(stride);
  const best = new Uint8Array(stride);
  for (let y = 0; y < img.height; y++) {
    const row = y * stride;
    const prev = y > 0 ? row - stride : -1;
    let bestType = 0;
    let bestScore = Infinity;
    for (let type = 0; type < 5; type++) {
      let score = 0;
      for (let i = 0; i < stride; i++) {
        const x = img.data[row + i]!;
        const a = i >= bpp ? img.data[row + i - bpp]! : 0;
        const b = prev >= 0 ? img.data[prev + i]! : 0;
        const c = prev >= 0 && i >= bpp ? img.data[prev + i - bpp]! : 0;
        const predictor = type === 0 ? 0 : type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : paeth(a, b, c);
        const v = (x - predictor) & 0xff;
        candidate[i] = v;
        score += v < 128 ? v : 256 - v;
      }
      if (score < bestScore) {
        bestScore = score;
        bestType = type;
        best.set(candidate);
      }
    }
    const o = y * (stride + 1);
    out[o] = bestType;
    out.set(best, o + 1);
  }
  return out;
}

export function encodePng(img: RasterImage): Buffer {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodePng: bad size ${width}x${height}`);
  }
  if (channels !== 3 && channels !== 4) throw new RangeError(`encodePng: channels must be 3 or 4, got ${String(channels)}`);
  if (data.length !== width * height * channels) {
    throw new RangeError(`encodePng: ${data.length} bytes for ${width}x${height}x${channels}`);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 4 ? 6 : 2; // colour type: truecolour with or without alpha
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(filterRows(img), { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64')}`;
}
