import { UserError, type ErrorLocation } from './errors.js';

// Linux CPU and memory-node list syntax, one parser for the orchestrator (lscpu, sysfs,
// cgroup files, --allowed-cpus, numactl/taskset arguments) and the runner (/proc/self/status).
// Kernel bitmap_parselist syntax: comma-separated items, each N, A-B, or A-B:U/G (in each
// group of G starting at A, the first U numbers, up to B). "" is the empty set.

/** Largest CPU or node number accepted; the kernel's NR_CPUS tops out far below. */
const MAX_ID = 65535;
const ITEM = /^(\d+)(?:-(\d+)(?::(\d+)\/(\d+))?)?$/;

/** Parses a CPU or node list into sorted unique numbers; `what` names the list in errors. */
export function parseCpuList(text: string, what = 'CPU list', location: ErrorLocation = {}): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const ids = new Set<number>();
  for (const raw of trimmed.split(',')) {
    const item = raw.trim();
    const m = ITEM.exec(item);
    const bad = (why: string): UserError =>
      new UserError(`${what}: '${item}' ${why}`, { location, value: text, hint: 'write a list such as 0-3,8,10-11' });
    if (!m) throw bad(item === '' ? 'is an empty item' : 'is not a number or a range');
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw bad('is a reversed range');
    if (hi > MAX_ID) throw bad(`goes beyond ${MAX_ID}`);
    const used = m[3] === undefined ? 1 : Number(m[3]);
    const group = m[4] === undefined ? 1 : Number(m[4]);
    if (group < 1 || used < 1 || used > group) throw bad('has a group form U/G that needs 1 <= U <= G');
    for (let start = lo; start <= hi; start += group) {
      for (let k = start; k < start + used && k <= hi; k++) ids.add(k);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

/** A set of numbers as the kernel prints it: [0, 1, 2, 3, 8, 10, 11] -> "0-3,8,10-11". */
export function formatCpuList(ids: readonly number[]): string {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`not a CPU number: ${id}`);
  }
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
