import { readFileSync } from 'node:fs';

// Where this process's memory really is: the pages of its anonymous mappings (heap, stack and
// anonymous mmaps, which hold the model's weights, activations and images) per NUMA node, from
// /proc/self/numa_maps. File-backed mappings are left out: their pages are the page cache,
// shared with every process that read the file, and placed wherever the first reader ran.
// A memory policy (numactl --membind) says where pages may go; these counts say where they went.

export interface NumaPages {
  /** Size of the pages counted, in KiB: huge pages count as this many base pages each. */
  page_kb: number;
  /** Node -> pages of anonymous mappings on it (nodes without such pages are absent). */
  by_node: Record<string, number>;
  /** Anonymous mappings that had pages. */
  mappings: number;
}

/** The base page size counted in (x86-64 and most Linux machines: 4 KiB). */
export const BASE_PAGE_KB = 4;

/** Per-node page counts of the anonymous mappings in the text of /proc/<pid>/numa_maps. */
export function parseNumaPages(numaMapsText: string): NumaPages {
  const byNode = new Map<number, number>();
  let mappings = 0;
  for (const line of numaMapsText.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // "<address> <policy> [file=PATH | heap | stack | anon=N] ... N0=pages ... kernelpagesize_kB=4"
    if (fields.length < 3 || fields.some((f) => f.startsWith('file='))) continue;
    const pageKb = Number(fields.find((f) => f.startsWith('kernelpagesize_kB='))?.slice('kernelpagesize_kB='.length) ?? BASE_PAGE_KB);
    let had = false;
    for (const f of fields) {
      const m = /^N(\d+)=(\d+)$/.exec(f);
      if (!m) continue;
      const node = Number(m[1]);
      byNode.set(node, (byNode.get(node) ?? 0) + (Number(m[2]) * pageKb) / BASE_PAGE_KB);
      had = true;
    }
    if (had) mappings++;
  }
  const by_node: Record<string, number> = {};
  for (const node of [...byNode.keys()].sort((a, b) => a - b)) by_node[String(node)] = byNode.get(node)!;
  return { page_kb: BASE_PAGE_KB, by_node, mappings };
}

/** This process's anonymous pages per node; undefined where numa_maps is absent (a kernel without NUMA, not Linux). */
export function readNumaPages(file = '/proc/self/numa_maps'): NumaPages | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return parseNumaPages(text);
}

/** Pages on nodes outside `nodes`, of how many in all. */
export function pagesOutside(pages: NumaPages, nodes: readonly number[]): { outside: number; total: number } {
  const allowed = new Set(nodes);
  let outside = 0;
  let total = 0;
  for (const [node, count] of Object.entries(pages.by_node)) {
    total += count;
    if (!allowed.has(Number(node))) outside += count;
  }
  return { outside, total };
}
