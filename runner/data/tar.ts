import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../../common/errors.js';

// Reads a plain (uncompressed) tar archive in place: one pass over the 512-byte headers builds
// an index of regular files (name -> offset, size), skipping their data; members are then read
// by offset. Nothing is extracted and only the members asked for are read.
//
// Formats: POSIX ustar (the name's `prefix` field), pax extended headers (`path`, `size`), GNU
// long names (type 'L'), and old v7 headers; sizes in octal or GNU base-256.

const BLOCK = 512;

export interface TarEntry {
  /** Path inside the archive, without a leading './'. */
  name: string;
  /** Byte offset of the member's data in the archive. */
  offset: number;
  size: number;
}

export interface TarIndex {
  path: string;
  /** Regular files by name (a later member of the same name replaces an earlier one, as tar extracts). */
  files: Map<string, TarEntry>;
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** A numeric field: octal digits (space or NUL terminated), or base-256 when the high bit is set. */
function number(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const digits = text(block, start, length).trim();
  return digits === '' ? 0 : parseInt(digits, 8);
}

/** The header checksum: the sum of all bytes with the checksum field itself counted as spaces. */
function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === number(block, 148, 8);
}

/** Records of a pax extended header: "LENGTH key=value\n" repeated. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

function cleanName(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** Indexes the regular files of a tar archive; a UserError names the archive when it is not one or is cut short. */
export function indexTar(path: string): TarIndex {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < BLOCK) {
      throw new UserError(`not a tar archive (${size} bytes, less than one tar header)`, { location: { file: path } });
    }
    const files = new Map<string, TarEntry>();
    let offset = 0;
    let longName: string | undefined;
    let pax = new Map<string, string>();
    while (offset + BLOCK <= size) {
      const header = readAt(fd, offset, BLOCK);
      if (header.every((b) => b === 0)) break; // end of archive
      if (!checksumOk(header)) {
        throw new UserError(
          offset === 0 ? 'not a tar archive (the first header has no valid tar checksum)' : `corrupt tar archive: bad header checksum at byte ${offset}`,
          { location: { file: path }, hint: offset === 0 ? 'give the Decathlon task as distributed: a folder or the plain .tar (not .tar.gz)' : undefined },
        );
      }
      const type = String.fromCharCode(header[156]!);
      const ustar = text(header, 257, 6).startsWith('ustar');
      const prefix = ustar ? text(header, 345, 155) : '';
      const headerName = prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100);
      const dataSize = pax.has('size') ? Number(pax.get('size')) : number(header, 124, 12);
      const dataOffset = offset + BLOCK;
      if (dataOffset + dataSize > size) {
        throw new UserError(`truncated tar archive: member '${cleanName(longName ?? pax.get('path') ?? headerName)}' needs ${dataSize} bytes at byte ${dataOffset}, but the archive ends at ${size}`, {
          location: { file: path },
          hint: 'download the archive again',
        });
      }
      if (type === 'L') {
        longName = text(readAt(fd, dataOffset, dataSize), 0, dataSize);
      } else if (type === 'x') {
        pax = paxRecords(readAt(fd, dataOffset, dataSize));
      } else {
        if (type === '0' || type === '\0' || type === '7') {
          const name = cleanName(pax.get('path') ?? longName ?? headerName);
          files.set(name, { name, offset: dataOffset, size: dataSize });
        }
        longName = undefined;
        pax = new Map();
      }
      offset = dataOffset + Math.ceil(dataSize / BLOCK) * BLOCK;
    }
    return { path, files };
  } finally {
    closeSync(fd);
  }
}

/** `length` bytes of a member from `start` (fewer at its end). */
export function readTarMember(index: TarIndex, entry: TarEntry, start = 0, length = entry.size - start): Buffer {
  const fd = openSync(index.path, 'r');
  try {
    return readAt(fd, entry.offset + start, Math.max(0, Math.min(length, entry.size - start)));
  } finally {
    closeSync(fd);
  }
}
