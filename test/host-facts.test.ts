import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { kernelCpuModel, readHostFacts } from '../orchestrator/topology/host-facts.js';

test('the CPU model is the "model name" the kernel reports, not the firmware string', () => {
  // The head of /proc/cpuinfo in a QEMU TCG guest (test/numa-vm), whose firmware reports "pc-i440fx-7.2".
  const guest = 'processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 15\nmodel\t\t: 107\nmodel name\t: QEMU TCG CPU version 2.5+\nstepping\t: 1\n';
  assert.equal(kernelCpuModel(guest), 'QEMU TCG CPU version 2.5+');
  assert.equal(kernelCpuModel('processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz   \n'), 'Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz');
  assert.equal(kernelCpuModel('processor\t: 0\nBogoMIPS\t: 50.00\n'), null);
});

test('on this machine the host record names the CPU as /proc/cpuinfo does', { skip: process.platform !== 'linux' }, async () => {
  const expected = kernelCpuModel(readFileSync('/proc/cpuinfo', 'utf8'));
  const facts = await readHostFacts();
  if (expected !== null) assert.equal(facts.cpuModel, expected);
  else assert.ok(facts.cpuModel.length > 0);
});
