import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';
import { pagesOutside, parseNumaPages } from '../runner/measure/numa-maps.js';
import { checkBinding, MAX_PAGES_OFF_NODE_SHARE } from '../orchestrator/launch/binding-check.js';
import type { PlannedInstance } from '../orchestrator/plan.js';
import { openStore } from '../results/store/store.js';
import { pointOutcomeFixture, runnerResultFixture, sweepStartFixture } from './results-fixtures.js';

// /proc/self/numa_maps of a Node process in a 2-node QEMU guest (test/numa-vm), written by
//   numactl --membind=1 --physcpubind=1 node -e '<allocate 32 MiB, print numa_maps>'
//   numactl --interleave=0,1 node -e '<the same>'
const fixture = (name: string) => readFileSync(packagePath('test', 'fixtures', 'numa-maps', `${name}.txt`), 'utf8');
const membind1 = fixture('guest-2node-membind1');
const interleave01 = fixture('guest-2node-interleave01');

/** Sum of anon=N over the lines without file=: every page of such a mapping is anonymous. */
function anonPagesByOtherRoute(text: string): number {
  return text.split('\n').filter((l) => !l.includes(' file=')).reduce((sum, l) => sum + Number(/ anon=(\d+)/.exec(l)?.[1] ?? 0), 0);
}

test('a process bound with --membind=1 has all its anonymous pages on node 1', () => {
  const pages = parseNumaPages(membind1);
  assert.deepEqual(Object.keys(pages.by_node), ['1']);
  assert.equal(pages.by_node['1'], anonPagesByOtherRoute(membind1));
  // The 32 MiB buffer alone is 8192 pages of 4 KiB.
  assert.ok(pages.by_node['1']! >= 8192, `${pages.by_node['1']} pages`);
  assert.equal(pages.page_kb, 4);
  assert.deepEqual(pagesOutside(pages, [1]), { outside: 0, total: pages.by_node['1'] });
});

test('an interleaved process has its pages on both nodes, within one page per mapping of half each', () => {
  const pages = parseNumaPages(interleave01);
  const n0 = pages.by_node['0']!;
  const n1 = pages.by_node['1']!;
  assert.equal(n0 + n1, anonPagesByOtherRoute(interleave01));
  assert.ok(Math.abs(n0 - n1) <= pages.mappings, `${n0} vs ${n1} over ${pages.mappings} mappings`);
  assert.deepEqual(pagesOutside(pages, [0]), { outside: n1, total: n0 + n1 });
});

test('file-backed and empty mappings are left out; huge pages count as base pages; stacks count', () => {
  const text = [
    '55f6ab3ab000 default file=/usr/bin/cat mapped=2 N0=2 kernelpagesize_kB=4',
    '7f83b4e0f000 default file=/usr/lib/x86_64-linux-gnu/libc.so.6 anon=4 dirty=4 active=0 N1=4 kernelpagesize_kB=4',
    '7f83b4e32000 default',
    '7f0000000000 bind:0 anon=3 dirty=3 N0=3 kernelpagesize_kB=2048',
    '7ffc5b1c3000 default stack anon=9 dirty=9 active=0 N0=5 N1=4 kernelpagesize_kB=4',
    '',
  ].join('\n');
  assert.deepEqual(parseNumaPages(text), { page_kb: 4, by_node: { '0': 3 * 512 + 5, '1': 4 }, mappings: 2 });
  assert.deepEqual(parseNumaPages(''), { page_kb: 4, by_node: {}, mappings: 0 });
});

const planned = (nodes: number[], argv0 = 'numactl'): PlannedInstance => ({ index: 0, cpus: [1], nodes, argv: [argv0, 'node'], env: {} });
const result = (numaMaps: string, mems: number[]) => ({ ...runnerResultFixture({ batchSize: 1, throughput: 10, cpus: [1], mems }), numa_pages: parseNumaPages(numaMaps) });

test('binding verification passes an instance whose pages are on its nodes', () => {
  assert.equal(checkBinding('numactl', planned([1]), result(membind1, [1])), null);
  assert.equal(checkBinding('node', planned([1]), result(membind1, [1])), null);
});

test('binding verification fails an instance with more than 5 % of its pages outside its nodes, and says how many', () => {
  // The policy reads right (mems 1), the pages are on node 0: the pages decide.
  const onNode0 = membind1.replace(/bind:1/g, 'bind:0').replace(/ N1=/g, ' N0=');
  const problem = checkBinding('numactl', planned([1]), result(onNode0, [1]));
  const total = anonPagesByOtherRoute(membind1);
  assert.equal(problem, `instance 0: ${total} of ${total} anonymous pages (100.0 %) outside memory nodes 1 (at most 5 % allowed)`);
  // Interleaved over 0 and 1 but bound to 0: about half outside.
  assert.match(checkBinding('node', planned([0]), result(interleave01, [0]))!, /anonymous pages \(50\.\d %\) outside memory nodes 0/);
});

test('the 5 % share is a bound, not a target: at the bound it passes, past it it fails', () => {
  assert.equal(MAX_PAGES_OFF_NODE_SHARE, 0.05);
  const text = (inside: number, outside: number) => `7f0000000000 bind:0 anon=${inside + outside} N0=${inside} N1=${outside} kernelpagesize_kB=4\n`;
  assert.equal(checkBinding('numactl', planned([0]), result(text(95, 5), [0])), null);
  assert.notEqual(checkBinding('numactl', planned([0]), result(text(94, 6), [0])), null);
  assert.equal(checkBinding('numactl', planned([0]), result(text(50, 50), [0]), 0.5), null);
});

test('pages are not checked where memory is not bound: unbound and taskset instances', () => {
  assert.equal(checkBinding('none', planned([0]), result(interleave01, [0, 1])), null);
  assert.equal(checkBinding('taskset', planned([0], 'taskset'), result(interleave01, [0, 1])), null);
});

test('the store keeps the pages per node of each instance, and null for an instance that reported none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'numa-pages-'));
  try {
    const store = openStore(join(dir, 'sweeps.db'));
    const sweepId = store.beginSweep(sweepStartFixture());
    const outcome = pointOutcomeFixture({ params: { instances: 2 } });
    const pages = parseNumaPages(interleave01);
    outcome.instances[0]!.result = { ...outcome.instances[0]!.result!, numa_pages: pages };
    const pointId = store.recordPoint(sweepId, outcome);
    const [first, second] = store.instancesOf(pointId);
    assert.deepEqual(first!.numa_pages, pages.by_node);
    assert.equal(second!.numa_pages, null);
    const column = store.db.prepare('SELECT numa_pages FROM instances WHERE point_id = ? AND idx = 0').pluck().get(pointId);
    assert.deepEqual(JSON.parse(String(column)), pages.by_node);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
