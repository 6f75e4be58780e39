import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { builtinModules, indexModules, moduleDepends, moduleLoadOrder } from './kernel-modules.js';
import { chooseAccel, guestScript, runInGuest, shellQuote } from './guest.js';
import { cpusByNode, layoutProblem, numaArgs } from './layout.js';
import { guestSetup, runGuest } from './guest-test.js';
import { processAlive } from '../../common/process-alive.js';

// The harness itself: layouts, accelerator choice, and two real guests: a command's output and
// exit status come back, and a guest that outlives its timeout is killed by PID.

test('a layout becomes qemu -smp/-numa arguments: CPUs numbered node by node, a memory-only node without CPUs', () => {
  const layout = { nodes: 4, cpusPerNode: 2, memoryPerNodeMiB: 256, memoryOnlyNodes: [3], distances: [[10, 16, 32, 22], [16, 10, 22, 32], [32, 22, 10, 16], [22, 32, 16, 10]] };
  assert.deepEqual(cpusByNode(layout), [[0, 1], [2, 3], [4, 5], []]);
  const args = numaArgs(layout);
  assert.deepEqual(args.slice(0, 4), ['-m', '1024M', '-smp', 'cpus=6,sockets=3,cores=2,threads=1']);
  assert.ok(args.includes('node,nodeid=3,memdev=mem3'));
  assert.ok(args.includes('node,nodeid=2,memdev=mem2,cpus=4-5'));
  assert.ok(args.includes('dist,src=0,dst=2,val=32'));
  assert.equal(args.filter((a) => a.startsWith('dist,')).length, 12);
  assert.deepEqual(numaArgs({ nodes: 2, cpusPerNode: 2, memoryPerNodeMiB: 128, smt: true }).slice(0, 4), ['-m', '256M', '-smp', 'cpus=4,sockets=2,cores=1,threads=2']);
});

test('a layout that cannot be built is refused with the reason', () => {
  const base = { nodes: 2, cpusPerNode: 1, memoryPerNodeMiB: 256 };
  assert.equal(layoutProblem(base), null);
  assert.match(layoutProblem({ ...base, smt: true })!, /SMT cpusPerNode must be even/);
  assert.match(layoutProblem({ ...base, memoryOnlyNodes: [0, 1] })!, /at least one node must have CPUs/);
  assert.match(layoutProblem({ ...base, memoryOnlyNodes: [2] })!, /memory-only node 2/);
  // A guest given proximity domain 0 of 2 without CPUs shows it to Linux as node 1.
  assert.match(layoutProblem({ ...base, memoryOnlyNodes: [0] })!, /must be the highest node ids \(1-1 here\), not 0/);
  assert.match(layoutProblem({ ...base, distances: [[10, 5], [20, 10]] })!, /distance 0->1 must be 11 to 255, not 5/);
  assert.throws(() => numaArgs({ ...base, nodes: 9 }), /nodes must be 1 to 8/);
});

test('kernel modules load after what they depend on; built-in ones are not loaded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'numa-vm-modules-'));
  try {
    // A .ko's .modinfo section is NUL-separated "key=value" strings.
    const ko = (name: string, depends: string) => Buffer.from(`\x7fELF...\0license=GPL\0depends=${depends}\0name=${name}\0`, 'latin1');
    const mods: Record<string, string> = { '9p': 'netfs,9pnet,fscache', '9pnet': '', '9pnet_virtio': 'virtio,9pnet,virtio_ring', virtio_ring: '', virtio: '', netfs: '' };
    mkdirSync(join(dir, 'fs'));
    for (const [name, deps] of Object.entries(mods)) writeFileSync(join(dir, 'fs', `${name.replace(/_/g, '-')}.ko`), ko(name, deps));
    assert.deepEqual(moduleDepends(ko('9p', 'netfs,9pnet')), ['netfs', '9pnet']);
    assert.deepEqual(moduleDepends(ko('virtio', '')), []);
    const builtin = builtinModules('kernel/fs/fscache/fscache.ko\nkernel/drivers/virtio/virtio.ko\n');
    const order = moduleLoadOrder(['9pnet_virtio', '9p'], indexModules(dir), builtin).map((f) => basename(f));
    assert.deepEqual(order, ['9pnet.ko', 'virtio-ring.ko', '9pnet-virtio.ko', 'netfs.ko', '9p.ko']);
    assert.throws(() => moduleLoadOrder(['9p'], indexModules(dir)), /fscache \(needed by 9p\) is not in the kernel package/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KVM only with vmx or svm in the CPU flags; TCG otherwise, saying why', () => {
  const noVirt = 'processor\t: 0\nflags\t\t: fpu vme de pse tsc msr hypervisor avx2\n';
  assert.equal(chooseAccel(noVirt, {}).accel, 'tcg');
  assert.match(chooseAccel(noVirt, {}).reason, /no vmx or svm/);
  assert.deepEqual(chooseAccel(noVirt, { NUMA_VM_ACCEL: 'kvm' }), { accel: 'kvm', reason: 'NUMA_VM_ACCEL=kvm' });
});

test('the guest script runs the argv as given, quoted, in the working directory', () => {
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  const script = guestScript(['printf', '%s\n', "a b'c"], '/tmp/x y', { ANSWER: '42' });
  assert.match(script, /^export ANSWER='42'$/m);
  assert.match(script, /^cd '\/tmp\/x y' \|\| exit 126$/m);
  assert.match(script, /^exec 'printf' '%s\n' 'a b'\\''c'$/m);
  assert.throws(() => guestScript(['true'], '/', { 'BAD-NAME': '1' }), /not a shell name/);
});

test('in a 2-node guest a command\'s stdout, stderr and exit status come back, and qemu is gone after', { timeout: 600_000 }, async (t) => {
  const { skip } = guestSetup();
  if (skip) return t.skip(skip);
  const result = await runGuest({
    layout: { nodes: 2, cpusPerNode: 1, memoryPerNodeMiB: 256, distances: [[10, 31], [31, 10]] },
    argv: ['sh', '-c', 'cat /sys/devices/system/node/node1/distance; echo "to stderr" >&2; exit 7'],
    timeoutMs: 300_000,
    onStderr: () => {},
  });
  assert.equal(result.exitCode, 7);
  assert.equal(result.stdout, '31 10\n');
  assert.equal(result.stderr, 'to stderr\n');
  assert.equal(result.timedOut, false);
  assert.ok(!processAlive(result.qemuPid), `qemu ${result.qemuPid} still running`);
});

test('a guest that outlives its timeout is killed by PID and reports no exit status', { timeout: 300_000 }, async (t) => {
  const { skip, image } = guestSetup();
  if (skip || !image) return t.skip(skip);
  const result = await runInGuest({ image, layout: { nodes: 1, cpusPerNode: 1, memoryPerNodeMiB: 256 }, argv: ['sleep', '600'], timeoutMs: 4000 });
  assert.equal(result.timedOut, true);
  assert.equal(result.exitCode, null);
  assert.match(result.failure!, /timed out after 4 s/);
  assert.ok(!processAlive(result.qemuPid), `qemu ${result.qemuPid} still running`);
});
