import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { packagePath } from '../common/paths.js';
import { UserError } from '../common/errors.js';
import { formatCpuList, parseCpuList } from '../common/cpulist.js';
import { effectiveMems, parseNumaMapsPolicy, parseStatusAffinity, readAffinity, type Affinity } from '../common/affinity.js';
import { Rng } from '../common/prng.js';

describe('CPU lists', () => {
  test('parses the kernel list syntax', () => {
    assert.deepEqual(parseCpuList('0-3,8,10-11'), [0, 1, 2, 3, 8, 10, 11]);
    assert.deepEqual(parseCpuList(' 5\n'), [5]);
    assert.deepEqual(parseCpuList(''), []);
    assert.deepEqual(parseCpuList('3,1,2,2,1-2'), [1, 2, 3]);
    assert.deepEqual(parseCpuList('0-1, 4'), [0, 1, 4]);
    // Group form: in each group of G from A, the first U numbers, up to B.
    assert.deepEqual(parseCpuList('0-7:2/4'), [0, 1, 4, 5]);
    assert.deepEqual(parseCpuList('0-1023:2/256'), [0, 1, 256, 257, 512, 513, 768, 769]);
    assert.deepEqual(parseCpuList('2-9:3/4'), [2, 3, 4, 6, 7, 8]);
  });

  test('formats sets as the kernel prints them', () => {
    assert.equal(formatCpuList([0, 1, 2, 3, 8, 10, 11]), '0-3,8,10-11');
    assert.equal(formatCpuList([]), '');
    assert.equal(formatCpuList([5]), '5');
    assert.equal(formatCpuList([2, 1]), '1-2');
    assert.equal(formatCpuList([11, 3, 3, 10, 0]), '0,3,10-11');
    assert.throws(() => formatCpuList([1.5]), RangeError);
    assert.throws(() => formatCpuList([-1]), RangeError);
  });

  test('round trips: parse(format(set)) is the set, format(parse(list)) the canonical list', () => {
    const rng = new Rng(42);
    for (let trial = 0; trial < 200; trial++) {
      const set = new Set<number>();
      const n = rng.int(0, 40);
      for (let k = 0; k < n; k++) set.add(rng.int(0, 300));
      const ids = [...set].sort((a, b) => a - b);
      assert.deepEqual(parseCpuList(formatCpuList(ids)), ids);
    }
    for (const [list, canonical] of [['0-3,8,10-11', '0-3,8,10-11'], ['8,0,1,2,3', '0-3,8'], ['0-15:1/2', '0,2,4,6,8,10,12,14'], ['4-4', '4']]) {
      assert.equal(formatCpuList(parseCpuList(list!)), canonical);
    }
  });

  test('garbage is a UserError naming the item, the list and where it came from', () => {
    for (const [bad, why] of [
      ['a', /'a' is not a number or a range/],
      ['1-', /'1-' is not a number or a range/],
      ['-1', /'-1' is not a number or a range/],
      ['1-2-3', /is not a number or a range/],
      ['0x3', /is not a number or a range/],
      ['1,,2', /'' is an empty item/],
      ['3-1', /'3-1' is a reversed range/],
      ['0-70000', /goes beyond 65535/],
      ['0-7:3/2', /group form/],
      ['0-7:0/4', /group form/],
    ] as const) {
      assert.throws(
        () => parseCpuList(bad, 'cpuset.cpus', { file: '/sys/fs/cgroup/cpuset.cpus' }),
        (e: unknown) => e instanceof UserError && why.test(e.message) && e.message.startsWith('cpuset.cpus:') && e.value === bad && e.location.file === '/sys/fs/cgroup/cpuset.cpus',
        bad,
      );
    }
  });
});

describe('affinity of a process', () => {
  const status = 'Name:\tnode\nCpus_allowed:\t0f\nCpus_allowed_list:\t0-3\nMems_allowed:\t00000003\nMems_allowed_list:\t0-1\nVmHWM:\t  1024 kB\n';

  test('reads Cpus_allowed_list and Mems_allowed_list; a missing field names it and the file', () => {
    assert.deepEqual(parseStatusAffinity(status), { cpus: [0, 1, 2, 3], mems: [0, 1] });
    assert.throws(
      () => parseStatusAffinity('Name:\tx\nCpus_allowed_list:\t0\n', '/proc/42/status'),
      (e: unknown) => e instanceof UserError && /Mems_allowed_list is missing/.test(e.message) && e.location.file === '/proc/42/status',
    );
    assert.throws(() => parseStatusAffinity('Cpus_allowed_list:\tx\nMems_allowed_list:\t0\n'), (e: unknown) => e instanceof UserError && /Cpus_allowed_list: 'x'/.test(e.message));
  });

  test('the memory policy of numa_maps narrows the allowed nodes for bind and interleave only', () => {
    const maps = (policy: string): string =>
      [`55a0 ${policy} file=/usr/bin/node mapped=2 N0=2 kernelpagesize_kB=4`, `55b0 ${policy} heap anon=10 N1=10`, '7f00 default stack anon=3 N0=3', ''].join('\n');
    assert.deepEqual(parseNumaMapsPolicy(maps('bind:1')), { mode: 'bind', nodes: [1] });
    assert.deepEqual(parseNumaMapsPolicy(maps('bind=static:0-1')), { mode: 'bind', nodes: [0, 1] });
    assert.deepEqual(parseNumaMapsPolicy(maps('interleave=relative|balancing:0,2')), { mode: 'interleave', nodes: [0, 2] });
    assert.deepEqual(parseNumaMapsPolicy(maps('weighted interleave:0-1')), { mode: 'weighted interleave', nodes: [0, 1] });
    assert.deepEqual(parseNumaMapsPolicy(maps('prefer (many):1')), { mode: 'prefer (many)', nodes: [1] });
    assert.deepEqual(parseNumaMapsPolicy(maps('local')), { mode: 'local', nodes: [] });
    assert.equal(parseNumaMapsPolicy('garbage\n'), undefined);
    assert.deepEqual(effectiveMems([0, 1], { mode: 'bind', nodes: [1] }), [1]);
    assert.deepEqual(effectiveMems([0, 1], { mode: 'interleave', nodes: [0, 1, 2] }), [0, 1]);
    assert.deepEqual(effectiveMems([0, 1], { mode: 'prefer', nodes: [1] }), [0, 1]);
    assert.deepEqual(effectiveMems([0, 1], { mode: 'default', nodes: [] }), [0, 1]);
    assert.deepEqual(effectiveMems([0, 1], undefined), [0, 1]);
  });

  test('this process: the CPUs taskset reports, and nodes that exist', async () => {
    const mine = readAffinity();
    const { stdout } = await execa('taskset', ['-pc', String(process.pid)]);
    const list = /current affinity list:\s*(\S+)/.exec(stdout);
    assert.ok(list, stdout);
    assert.deepEqual(mine.cpus, parseCpuList(list[1]!));
    assert.ok(mine.mems.length >= 1);
    const online = parseCpuList((await execa('cat', ['/sys/devices/system/node/online'])).stdout);
    for (const node of mine.mems) assert.ok(online.includes(node), `node ${node} online`);
  });

  /** readAffinity() as seen by a child node process started through `prefix`. */
  async function childAffinity(prefix: string[]): Promise<Affinity> {
    const module = pathToFileURL(packagePath('dist', 'common', 'affinity.js')).href;
    const script = `const { readAffinity } = await import(${JSON.stringify(module)}); console.log(JSON.stringify(readAffinity()));`;
    const { stdout } = await execa(prefix[0]!, [...prefix.slice(1), process.execPath, '--input-type=module', '-e', script]);
    return JSON.parse(stdout) as Affinity;
  }

  test('a child bound with taskset sees only its CPU', async () => {
    const last = readAffinity().cpus.at(-1)!;
    const child = await childAffinity(['taskset', '-c', String(last)]);
    assert.deepEqual(child.cpus, [last]);
  });

  test('a child under numactl --membind reports the bind policy and its node', async (t) => {
    const node = readAffinity().memsAllowed[0]!;
    const probe = await execa('numactl', [`--membind=${node}`, 'true'], { reject: false });
    if (probe.exitCode !== 0) {
      t.skip(`numactl cannot set a memory policy here: ${probe.stderr.trim()}`);
      return;
    }
    const child = await childAffinity(['numactl', `--membind=${node}`]);
    assert.deepEqual(child.policy, { mode: 'bind', nodes: [node] });
    assert.deepEqual(child.mems, [node]);
  });
});
