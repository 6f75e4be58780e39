import { UserError, type ErrorLocation } from '../common/errors.js';

// Linux CPU list syntax, as in /proc/self/status Cpus_allowed_list, sysfs `online` files,
// cpuset.cpus and numactl/taskset arguments: "0-3,8,10-11". Also used for memory node lists.

const RANGE = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/;

/**
 * Parse a CPU list into sorted, unique numbers. An empty string is the empty set (an empty
 * cpuset file). Accepts the kernel's stride form "0-15:4" too. `what` names the value in errors.
 */
export function parseCpuList(text: string, what = 'CPU list', location: ErrorLocation = {}): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const out = new Set<number>();
  for (const part of trimmed.split(',')) {
    const m = RANGE.exec(part.trim());
    if (!m) {
      throw new UserError(`${what}: '${part.trim()}' is not a number or range`, {
        location, value: text, hint: 'use Linux CPU list syntax such as 0-3,8,10-11',
      });
    }
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (hi < lo || step < 1) {
      throw new UserError(`${what}: range '${part.trim()}' is empty or reversed`, {
        location, value: text, hint: 'write ranges low-high, e.g. 0-3',
      });
    }
    for (let n = lo; n <= hi; n += step) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

/** Format numbers as the shortest CPU list: [0,1,2,3,8,10,11] -> "0-3,8,10-11". */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
