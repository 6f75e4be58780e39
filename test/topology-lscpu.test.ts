import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { formatCpuList, parseCpuList } from '../common/cpulist.js';
import { topologyFromLscpu } from '../orchestrator/topology/lscpu.js';
import { physicalCores } from '../orchestrator/topology/cores.js';
import type { Topology } from '../common/topology.js';

const fixture = (name: string): Topology => {
  const file = packagePath('test', 'fixtures', 'lscpu', name);
  return topologyFromLscpu(readFileSync(file, 'utf8'), file);
};
const nodeCpus = (t: Topology) => Object.fromEntries(t.nodes.map((n) => [n.id, formatCpuList(n.cpus)]));

test('cpulist: parses ranges, singles, strides and the empty set', () => {
  assert.deepEqual(parseCpuList('0-3,8,10-11'), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList(' 5 \n'), [5]);
  assert.deepEqual(parseCpuList('0-12:1/4'), [0, 4, 8, 12]);
  assert.deepEqual(parseCpuList('3,1,2,1'), [1, 2, 3]);
  assert.deepEqual(parseCpuList(''), []);
});

test('cpulist: formats the shortest list and round-trips', () => {
  assert.equal(formatCpuList([11, 0, 1, 2, 3, 8, 10]), '0-3,8,10-11');
  assert.equal(formatCpuList([]), '');
  assert.equal(formatCpuList([7]), '7');
  for (const s of ['0-79', '0-19,80-99', '1,3,5', '0-3,8,10-11']) assert.equal(formatCpuList(parseCpuList(s)), s);
});

test('cpulist: garbage is a UserError naming the value', () => {
  for (const bad of ['0-', 'a', '1,,2', '5-3', '0-3x', '-1']) {
    assert.throws(() => parseCpuList(bad, '--allowed-cpus'), (e: unknown) =>
      e instanceof UserError && e.message.startsWith('--allowed-cpus') && e.value === bad, bad);
  }
});

test('lscpu: 2-socket Xeon 8380 with HT', () => {
  const t = fixture('xeon-8380-2s-ht.txt');
  assert.equal(t.cpus.length, 160);
  assert.equal(t.sockets, 2);
  assert.deepEqual(nodeCpus(t), { 0: '0-39,80-119', 1: '40-79,120-159' });
  const cores = physicalCores(t);
  assert.equal(cores.length, 80);
  assert.ok(cores.every((c) => c.cpus.length === 2 && c.cpus[1]!.cpu === c.cpus[0]!.cpu + 80));
  assert.ok(t.cpus.every((c) => c.online && c.allowed));
  assert.deepEqual(t.allowedMems, [0, 1]);
  assert.equal(t.host, null);
  assert.ok(t.nodes.every((n) => n.memoryMb === null && n.hasMemory));
});

test('lscpu: SNC2 gives four nodes of 20 cores, two per socket', () => {
  const t = fixture('xeon-8380-2s-snc2.txt');
  assert.deepEqual(nodeCpus(t), { 0: '0-19,80-99', 1: '20-39,100-119', 2: '40-59,120-139', 3: '60-79,140-159' });
  assert.deepEqual([...new Set(t.cpus.filter((c) => c.node === 3).map((c) => c.socket))], [1]);
});

test('lscpu: EPYC 7763 NPS4 gives eight nodes of 16 cores', () => {
  const t = fixture('epyc-7763-nps4.txt');
  assert.equal(t.cpus.length, 256);
  assert.equal(t.nodes.length, 8);
  assert.equal(nodeCpus(t)[5], '80-95,208-223');
  assert.equal(physicalCores(t).length, 128);
});

test('lscpu: hybrid i9-12900K: adjacent P-core siblings, single-thread E-cores', () => {
  const t = fixture('hybrid-i9-12900k.txt');
  const cores = physicalCores(t);
  assert.equal(cores.length, 16);
  assert.deepEqual(cores[0]!.cpus.map((c) => c.cpu), [0, 1]);
  assert.deepEqual(cores.slice(8).map((c) => c.cpus.map((x) => x.cpu)), [[16], [17], [18], [19], [20], [21], [22], [23]]);
});

test('lscpu: offline CPUs (empty fields from --all) are kept, offline, outside any node', () => {
  const t = fixture('offline-cpus.txt');
  assert.equal(t.cpus.length, 40);
  assert.equal(formatCpuList(t.cpus.filter((c) => !c.online).map((c) => c.cpu)), '5,30-39');
  const five = t.cpus.find((c) => c.cpu === 5)!;
  assert.deepEqual([five.core, five.socket, five.node], [-1, -1, -1]);
  assert.deepEqual(nodeCpus(t), { 0: '0-4,6-9,20-29', 1: '10-19' });
  assert.deepEqual(physicalCores(t).find((c) => c.core === 5)!.cpus.map((c) => c.cpu), [25]);
});

test('lscpu: memory-only nodes declared in the file (HBM flat mode)', () => {
  const t = fixture('xeon-max-9480-hbm-flat.txt');
  assert.deepEqual(t.nodes.map((n) => [n.id, n.cpus.length, n.memoryMb, n.hasMemory]),
    [[0, 112, 257024, true], [1, 112, 258048, true], [2, 0, 65536, true], [3, 0, 65536, true]]);
  assert.deepEqual(t.allowedMems, [0, 1, 2, 3]);
});

test("lscpu: '-' fields, an Online column and no NUMA node are understood", () => {
  const dash = topologyFromLscpu('# CPU,Core,Socket,Node\n0,0,0,0\n1,-,-,-\n', 'dash.txt');
  assert.deepEqual(dash.cpus.map((c) => c.online), [true, false]);
  const withOnline = topologyFromLscpu('# CPU,Core,Socket,Node,Online\n0,0,0,0,Y\n1,1,0,0,N\n', 'online.txt');
  assert.deepEqual(withOnline.cpus.map((c) => c.online), [true, false]);
  const reordered = topologyFromLscpu('# Node,CPU,Core,Socket\n1,0,0,0\n', 'order.txt');
  assert.deepEqual([reordered.cpus[0]!.node, reordered.cpus[0]!.cpu], [1, 0]);
  const noNuma = topologyFromLscpu('0,0,0,\n1,1,0,\n', 'flat.txt');
  assert.deepEqual(noNuma.cpus.map((c) => c.node), [-1, -1]);
  assert.deepEqual(noNuma.nodes, []);
  assert.equal(noNuma.sockets, 1);
});

test('lscpu: bad lines are UserErrors naming file:line and the line', () => {
  const cases: [string, number, RegExp][] = [
    ['# CPU,Core,Socket,Node\n0,0,0,0\n1,x,0,0\n', 3, /Core 'x'/],
    ['# CPU,Core,Socket,Node\n0,0,0,0\n0,1,0,0\n', 3, /listed twice \(first on line 2\)/],
    ['# CPU,Core,Socket,Node\n0,0,0\n', 2, /expected 4 .* found 3/],
    ['# CPU,Core,Socket,Node\n,0,0,0\n', 2, /CPU field is empty/],
    ['# CPU,Core,Socket,Node,Online\n0,0,0,0,maybe\n', 2, /Online 'maybe'/],
    ['# CPU,Core,Socket,Node,Online\n0,,,,Y\n', 2, /online CPU needs Core and Socket/],
    ['# CPU,Socket,Node\n0,0,0\n', 2, /lacks one of/],
  ];
  for (const [text, line, why] of cases) {
    assert.throws(() => topologyFromLscpu(text, 'bad.txt'), (e: unknown) =>
      e instanceof UserError && e.location.file === 'bad.txt' && e.location.line === line && why.test(e.message) &&
      typeof e.value === 'string' && text.split('\n').includes(e.value), why.source);
  }
  assert.throws(() => topologyFromLscpu('# only comments\n', 'empty.txt'), /no CPU lines/);
  assert.throws(() => topologyFromLscpu('hello world\n', 'prose.txt'), (e: unknown) =>
    e instanceof UserError && e.location.line === 1 && e.value === 'hello world');
});

test('lscpu: allowed CPUs restrict, and must exist and leave an online CPU', () => {
  const file = packagePath('test', 'fixtures', 'lscpu', 'xeon-8380-2s-ht.txt');
  const text = readFileSync(file, 'utf8');
  const t = topologyFromLscpu(text, file, '0-9,80-89');
  assert.equal(formatCpuList(t.cpus.filter((c) => c.allowed).map((c) => c.cpu)), '0-9,80-89');
  assert.deepEqual(topologyFromLscpu(text, file, [3]).cpus.filter((c) => c.allowed).map((c) => c.cpu), [3]);
  assert.throws(() => topologyFromLscpu(text, file, '150-170'), (e: unknown) =>
    e instanceof UserError && /CPUs 160-170/.test(e.message));
  assert.throws(() => topologyFromLscpu(text, file, '0-3;'), (e: unknown) => e instanceof UserError && /--allowed-cpus/.test(e.message));
  const off = packagePath('test', 'fixtures', 'lscpu', 'offline-cpus.txt');
  assert.throws(() => topologyFromLscpu(readFileSync(off, 'utf8'), off, '30-35'), /leaves no online CPU/);
});
