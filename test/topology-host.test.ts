import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { parseCpuList } from '../common/cpulist.js';
import { parseStatusAffinity } from '../common/affinity.js';
import { cpusetDirs, readCgroupCpuset } from '../orchestrator/topology/cgroup.js';
import { loadTopology } from '../orchestrator/topology/load.js';
import { findOnPath } from '../orchestrator/topology/numactl.js';
import { readHostTopology } from '../orchestrator/topology/read-host.js';
import { renderTopology, topologyJson } from '../orchestrator/topology/show.js';

const status = readFileSync('/proc/self/status', 'utf8');
const statusList = (name: string) => parseCpuList(new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)![1]!);
const fixtures = readdirSync(packagePath('test', 'fixtures', 'lscpu')).filter((f) => f.endsWith('.txt'));

test("host: this machine's topology matches /proc/self/status and sysfs", async () => {
  const t = await readHostTopology();
  assert.equal(t.source, 'host');
  const online = parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
  assert.deepEqual(t.cpus.filter((c) => c.online).map((c) => c.cpu), online);
  assert.deepEqual(t.cpus.filter((c) => c.allowed).map((c) => c.cpu), statusList('Cpus_allowed_list').filter((c) => t.cpus.some((x) => x.cpu === c)));
  const mems = statusList('Mems_allowed_list');
  assert.ok(t.allowedMems.every((m) => mems.includes(m)));
  assert.ok(t.nodes.every((n) => n.cpus.every((c) => t.cpus.find((x) => x.cpu === c)!.node === n.id)));
  if (t.nodes.length > 0) assert.ok(t.nodes.some((n) => n.memoryMb !== null && n.memoryMb > 0));
  assert.ok(t.host && t.host.kernel.length > 0 && t.host.memoryMb > 0 && t.host.cpuModel.length > 0);
  assert.equal(t.numactl, (await findOnPath('numactl')) !== null);
});

test('host: --allowed-cpus narrows what may be used and rejects CPUs the host lacks', async () => {
  const t = await readHostTopology({ allowedCpus: '0' });
  assert.deepEqual(t.cpus.filter((c) => c.allowed).map((c) => c.cpu), [0]);
  await assert.rejects(readHostTopology({ allowedCpus: '4000' }), (e: unknown) => e instanceof UserError && /4000/.test(e.message));
});

test('loadTopology: a file, or a UserError naming a missing one', async () => {
  const file = packagePath('test', 'fixtures', 'lscpu', 'xeon-8380-2s-ht.txt');
  const t = await loadTopology({ from: file, allowedCpus: '40-59' });
  assert.equal(t.source, file);
  assert.equal(t.cpus.filter((c) => c.allowed).length, 20);
  await assert.rejects(loadTopology({ from: '/nonexistent/lscpu.txt' }), (e: unknown) =>
    e instanceof UserError && e.location.file === '/nonexistent/lscpu.txt' && /ENOENT/.test(e.message));
});

test('affinity: Cpus_allowed_list and Mems_allowed_list from a status text', () => {
  assert.deepEqual(parseStatusAffinity('Name:\tx\nCpus_allowed_list:\t0-3,8\nMems_allowed_list:\t0-1\n'), { cpus: [0, 1, 2, 3, 8], mems: [0, 1] });
  assert.throws(() => parseStatusAffinity('Name:\tx\n', 'st'), (e: unknown) => e instanceof UserError && e.location.file === 'st');
});

test('cgroup: cpuset directories for v1, v2 and a namespaced container', () => {
  const v1 = cpusetDirs('3:cpuset:/docker/abc\n0::/\n',
    '34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n');
  assert.deepEqual(v1, [{ dir: '/sys/fs/cgroup/cpuset/docker/abc', version: 1, top: '/sys/fs/cgroup/cpuset' }]);
  const v2 = cpusetDirs('0::/user.slice/job\n', '41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
  assert.deepEqual(v2.map((d) => d.dir), ['/sys/fs/cgroup/user.slice/job']);
  const ns = cpusetDirs('0::/\n', '41 31 0:38 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
  assert.deepEqual(ns.map((d) => d.dir), ['/sys/fs/cgroup']);
  const escaped = cpusetDirs('0::/a\n', '41 31 0:38 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw\n');
  assert.deepEqual(escaped.map((d) => d.dir), ['/mnt/cg two/a']);
});

test('cgroup: v2 cpuset read from the nearest cgroup that has one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'numa-sweep-cg-'));
  try {
    const root = join(dir, 'cg');
    mkdirSync(join(root, 'parent', 'child'), { recursive: true });
    writeFileSync(join(root, 'cpuset.cpus.effective'), '0-15\n');
    writeFileSync(join(root, 'cpuset.mems.effective'), '0-1\n');
    writeFileSync(join(root, 'parent', 'cpuset.cpus.effective'), '2-5\n');
    writeFileSync(join(dir, 'cgroup'), '0::/parent/child\n');
    writeFileSync(join(dir, 'mountinfo'), `41 31 0:38 / ${root} rw - cgroup2 cgroup2 rw\n`);
    const cs = await readCgroupCpuset(dir);
    assert.deepEqual(cs.cpus, [2, 3, 4, 5]);
    assert.deepEqual(cs.mems, [0, 1]);
    writeFileSync(join(root, 'parent', 'cpuset.cpus.effective'), '2-x\n');
    await assert.rejects(readCgroupCpuset(dir), (e: unknown) =>
      e instanceof UserError && e.location.file === join(root, 'parent', 'cpuset.cpus.effective'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cgroup: this process reads its own cpuset without error', async () => {
  const cs = await readCgroupCpuset();
  if (cs.cpus !== null) assert.ok(statusList('Cpus_allowed_list').every((c) => cs.cpus!.includes(c)));
});

test('show: the JSON of the host and every fixture matches schemas/topology.schema.json', async () => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const validate = ajv.compile(JSON.parse(readFileSync(packagePath('schemas', 'topology.schema.json'), 'utf8')));
  const all = [await loadTopology(), ...(await Promise.all(fixtures.map((f) => loadTopology({ from: packagePath('test', 'fixtures', 'lscpu', f) }))))];
  for (const t of all) assert.ok(validate(JSON.parse(topologyJson(t))), `${t.source}: ${ajv.errorsText(validate.errors)}`);
  const bad = JSON.parse(topologyJson(all[0]!));
  bad.cpus[0].node = 'zero';
  assert.equal(validate(bad), false);
});

test('show: the human rendering names nodes, CPUs, memory, SMT and numactl', async () => {
  const snc = await loadTopology({ from: packagePath('test', 'fixtures', 'lscpu', 'xeon-8380-2s-snc2.txt'), allowedCpus: '0-9,80-89' });
  const text = renderTopology(snc);
  assert.match(text, /node 1: CPUs 20-39,100-119 \(20 cores, none allowed\)/);
  assert.match(text, /node 0: CPUs 0-19,80-99 \(20 cores, allowed 0-9,80-89\)/);
  assert.match(text, /80 cores x 2 threads \(0\+80 1\+81/);
  assert.match(text, /Socket 1: 40 cores, CPUs 40-79,120-159, nodes 2,3/);
  const hbm = renderTopology(await loadTopology({ from: packagePath('test', 'fixtures', 'lscpu', 'xeon-max-9480-hbm-flat.txt') }));
  assert.match(hbm, /node 2: no CPUs, 64\.0 GiB \(memory only/);
  const host = renderTopology(await loadTopology());
  assert.match(host, /^Topology from host\nHost: /);
  assert.match(host, /numactl: (found|not found)/);
});
