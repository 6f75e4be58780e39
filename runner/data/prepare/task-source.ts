import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { UserError, type ErrorLocation } from '../../../common/errors.js';
import { indexTar, readTarMember, type TarIndex } from '../tar.js';

// A Decathlon task as distributed, read the same way from a folder or from its plain .tar:
// files are named by their path relative to the task folder (where dataset.json is), e.g.
// 'imagesTr/BRATS_001.nii.gz'.

export interface TaskSource {
  /** What was given on the command line. */
  path: string;
  /** Where a task file is, for error messages: its path, or the archive and the member. */
  locate(relative: string): ErrorLocation;
  exists(relative: string): boolean;
  /** The first `length` bytes (fewer for a shorter file). */
  head(relative: string, length: number): Buffer;
  read(relative: string): Buffer;
}

/** './imagesTr/X.nii.gz' -> 'imagesTr/X.nii.gz'; refuses paths that leave the task folder. */
export function taskRelative(name: string, where: ErrorLocation): string {
  const normal = posix.normalize(name.replace(/\\/g, '/'));
  if (normal.startsWith('/') || normal === '..' || normal.startsWith('../')) {
    throw new UserError(`the path '${name}' leads outside the task folder`, { location: where, value: name });
  }
  return normal.replace(/^\.\//, '');
}

function folderSource(dir: string): TaskSource {
  const full = (relative: string) => join(dir, relative);
  return {
    path: dir,
    locate: (relative) => ({ file: full(relative) }),
    exists: (relative) => existsSync(full(relative)) && statSync(full(relative)).isFile(),
    head(relative, length) {
      const fd = openSync(full(relative), 'r');
      try {
        const buf = Buffer.alloc(length);
        return buf.subarray(0, readSync(fd, buf, 0, length, 0));
      } finally {
        closeSync(fd);
      }
    },
    read: (relative) => readFileSync(full(relative)),
  };
}

/** macOS resource forks ('._name') sit beside the real files in the distributed archives. */
function isResourceFork(name: string): boolean {
  return posix.basename(name).startsWith('._');
}

function tarSource(path: string): TaskSource {
  const index: TarIndex = indexTar(path);
  // The task folder is where the shallowest dataset.json is ('Task01_BrainTumour/' in the download).
  const manifests = [...index.files.keys()].filter((n) => posix.basename(n) === 'dataset.json' && !isResourceFork(n));
  manifests.sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  const manifest = manifests[0];
  if (manifest === undefined) {
    throw new UserError('no dataset.json in the archive: not a Medical Segmentation Decathlon task', {
      location: { file: path },
      hint: `the archive holds ${index.files.size} files${index.files.size ? `, e.g. ${[...index.files.keys()].slice(0, 3).join(', ')}` : ''}`,
    });
  }
  const root = posix.dirname(manifest) === '.' ? '' : `${posix.dirname(manifest)}/`;
  const member = (relative: string) => `${root}${relative}`;
  const entry = (relative: string) => {
    const found = index.files.get(member(relative));
    if (!found) throw new UserError('file not found in the archive', { location: { file: path, at: member(relative) } });
    return found;
  };
  return {
    path,
    locate: (relative) => ({ file: path, at: member(relative) }),
    exists: (relative) => index.files.has(member(relative)),
    head: (relative, length) => readTarMember(index, entry(relative), 0, length),
    read: (relative) => readTarMember(index, entry(relative)),
  };
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** Opens a task folder or a plain .tar of one; UserErrors name what was given. */
export function openTask(path: string): TaskSource {
  if (!existsSync(path)) throw new UserError('the Decathlon task does not exist', { location: { file: path }, hint: 'give the task folder (with dataset.json) or its .tar' });
  if (statSync(path).isDirectory()) {
    if (!existsSync(join(path, 'dataset.json'))) {
      throw new UserError('no dataset.json in this folder: not a Medical Segmentation Decathlon task folder', {
        location: { file: path },
        hint: existsSync(join(path, 'Task01_BrainTumour', 'dataset.json')) ? `give ${join(path, 'Task01_BrainTumour')}` : 'give the folder that holds dataset.json, imagesTr/ and labelsTr/',
      });
    }
    return folderSource(path);
  }
  const fd = openSync(path, 'r');
  const magic = Buffer.alloc(2);
  try {
    readSync(fd, magic, 0, 2, 0);
  } finally {
    closeSync(fd);
  }
  if (magic.equals(GZIP_MAGIC)) {
    throw new UserError('the archive is gzip-compressed; only a plain .tar is read in place', {
      location: { file: path },
      hint: `decompress it first (gunzip -k ${basename(path)}) or extract it (tar xzf ${basename(path)}) and give the folder`,
    });
  }
  return tarSource(path);
}
