import { readOptional } from '../../common/read-optional.js';
import { join, posix } from 'node:path';
import { parseCpuList } from '../../common/cpulist.js';

// The cpuset this process's cgroup grants: cgroup v2 (cpuset.cpus.effective / cpuset.mems.effective)
// and v1 (cpuset.effective_cpus / cpuset.effective_mems) both, since hybrid hosts mount either.
// The cgroup's directory is its mount point plus its path below the mount's root (mountinfo),
// which also covers containers whose cgroup namespace makes the path '/'.

export interface CgroupCpuset {
  cpus: number[] | null;
  mems: number[] | null;
  /** Directories the values came from, for `sweep topology` to show. */
  from: string[];
}

interface Mount { root: string; point: string; fstype: string; superOpts: string[] }

/** Undo mountinfo's octal escapes (a space is written \040). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    mounts.push({
      root: unescape(fields[3]!), point: unescape(fields[4]!),
      fstype: fields[dash + 1]!, superOpts: fields[dash + 3]!.split(','),
    });
  }
  return mounts;
}

/** The directories of this process's cpuset cgroup, v2 first then v1, from /proc/self/{cgroup,mountinfo}. */
export function cpusetDirs(cgroupText: string, mountinfoText: string): { dir: string; version: 1 | 2; top: string }[] {
  const mounts = parseMountinfo(mountinfoText);
  const out: { dir: string; version: 1 | 2; top: string }[] = [];
  for (const line of cgroupText.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, , controllers, path] = m as unknown as [string, string, string, string];
    const v2 = controllers === '';
    if (!v2 && !controllers.split(',').includes('cpuset')) continue;
    const mount = mounts.find((mt) => (v2 ? mt.fstype === 'cgroup2' : mt.fstype === 'cgroup' && mt.superOpts.includes('cpuset')));
    if (!mount) continue;
    const rel = mount.root === '/' ? path : path.startsWith(mount.root) ? path.slice(mount.root.length) : '/';
    const dir = join(mount.point, posix.normalize(`/${rel}`)).replace(/(.)\/+$/, '$1');
    out.push({ dir, version: v2 ? 2 : 1, top: mount.point });
  }
  return out.sort((a, b) => b.version - a.version);
}

/** The nearest directory from `dir` up to `top` holding one of `names`, with its text. */
async function nearestFileUp(dir: string, top: string, names: string[]): Promise<{ path: string; text: string } | null> {
  for (let d = dir; ; d = join(d, '..')) {
    for (const n of names) {
      const text = await readOptional(join(d, n));
      if (text !== null && text.trim() !== '') return { path: join(d, n), text };
    }
    if (d === top || !d.startsWith(top) || d === '/') return null;
  }
}

function intersect(a: number[] | null, b: number[]): number[] {
  if (a === null) return b;
  const s = new Set(b);
  return a.filter((x) => s.has(x));
}

/** Read the effective cpuset of this process's cgroup(s); null fields where no cpuset applies. */
export async function readCgroupCpuset(procDir = '/proc/self'): Promise<CgroupCpuset> {
  const [cg, mi] = await Promise.all([readOptional(`${procDir}/cgroup`), readOptional(`${procDir}/mountinfo`)]);
  const result: CgroupCpuset = { cpus: null, mems: null, from: [] };
  if (cg === null || mi === null) return result;
  for (const { dir, version, top } of cpusetDirs(cg, mi)) {
    const cpuNames = version === 2 ? ['cpuset.cpus.effective'] : ['cpuset.effective_cpus', 'cpuset.cpus'];
    const memNames = version === 2 ? ['cpuset.mems.effective'] : ['cpuset.effective_mems', 'cpuset.mems'];
    const cpus = await nearestFileUp(dir, top, cpuNames);
    const mems = await nearestFileUp(dir, top, memNames);
    if (cpus) {
      result.cpus = intersect(result.cpus, parseCpuList(cpus.text, 'cgroup cpuset', { file: cpus.path }));
      result.from.push(cpus.path);
    }
    if (mems) {
      result.mems = intersect(result.mems, parseCpuList(mems.text, 'cgroup memory node set', { file: mems.path }));
      result.from.push(mems.path);
    }
  }
  return result;
}
