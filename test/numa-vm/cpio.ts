// A cpio archive in the "newc" format, the one the Linux kernel unpacks as an initramfs:
// a 110-byte ASCII header per entry (magic 070701, then 13 eight-digit hex fields), the
// name with its NUL, padded to 4 bytes, then the data, padded to 4 bytes; "TRAILER!!!" ends it.

export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  name: string;
  /** 'dir', 'file' or 'symlink' (data is the link target). */
  kind: 'dir' | 'file' | 'symlink';
  /** Permission bits (0o755, ...). */
  mode: number;
  data?: Buffer;
}

const TYPE_BITS = { dir: 0o040000, file: 0o100000, symlink: 0o120000 } as const;

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function header(ino: number, mode: number, nlink: number, size: number, nameSize: number): Buffer {
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, nameSize, 0];
  return Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'ascii');
}

/** The archive's bytes; entries are written in the order given (parents before children). */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const push = (ino: number, mode: number, nlink: number, name: string, data: Buffer) => {
    const nameBytes = Buffer.from(name + '\0', 'utf8');
    const head = header(ino, mode, nlink, data.length, nameBytes.length);
    parts.push(head, nameBytes, pad4(head.length + nameBytes.length), data, pad4(data.length));
  };
  entries.forEach((e, i) => {
    const data = e.kind === 'dir' ? Buffer.alloc(0) : (e.data ?? Buffer.alloc(0));
    push(i + 1, TYPE_BITS[e.kind] | e.mode, e.kind === 'dir' ? 2 : 1, e.name, data);
  });
  push(0, 0, 1, 'TRAILER!!!', Buffer.alloc(0));
  return Buffer.concat(parts);
}
