import { parseArgs } from 'node:util';
import { qemuUnavailable, runInGuest } from './guest.js';
import { layoutProblem, type GuestLayout } from './layout.js';

// Runs one command in a throw-away NUMA guest and exits with its status:
//   node dist/test/numa-vm/run.js --nodes 2 --cpus-per-node 1 --memory-per-node 512 -- numactl -H
// See test/numa-vm/README.md.

const usage = `usage: node dist/test/numa-vm/run.js [--nodes N] [--cpus-per-node N] [--memory-per-node MiB]
       [--smt] [--memory-only NODE,...] [--distances "10,20;20,10"] [--timeout SECONDS] [--cwd DIR] -- COMMAND [ARG...]`;

function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      nodes: { type: 'string', default: '2' },
      'cpus-per-node': { type: 'string', default: '1' },
      'memory-per-node': { type: 'string', default: '512' },
      smt: { type: 'boolean', default: false },
      'memory-only': { type: 'string' },
      distances: { type: 'string' },
      timeout: { type: 'string', default: '600' },
      cwd: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stderr.write(usage + '\n');
    return Promise.resolve(values.help ? 0 : 2);
  }
  const unavailable = qemuUnavailable();
  if (unavailable) {
    process.stderr.write(`numa-vm: ${unavailable}\n`);
    return Promise.resolve(2);
  }
  const numbers = (text: string) => text.split(',').map((v) => Number(v.trim()));
  const layout: GuestLayout = {
    nodes: Number(values.nodes),
    cpusPerNode: Number(values['cpus-per-node']),
    memoryPerNodeMiB: Number(values['memory-per-node']),
    smt: values.smt,
    ...(values['memory-only'] ? { memoryOnlyNodes: numbers(values['memory-only']) } : {}),
    ...(values.distances ? { distances: values.distances.split(';').map(numbers) } : {}),
  };
  const problem = layoutProblem(layout);
  if (problem) {
    process.stderr.write(`numa-vm: ${problem}\n${usage}\n`);
    return Promise.resolve(2);
  }
  return runInGuest({
    layout,
    argv: positionals,
    ...(values.cwd ? { cwd: values.cwd } : {}),
    timeoutMs: Number(values.timeout) * 1000,
    onStdout: (c) => process.stdout.write(c),
    onStderr: (c) => process.stderr.write(c),
    log: (line) => process.stderr.write(line + '\n'),
  }).then((r) => {
    if (r.failure) process.stderr.write(`numa-vm: ${r.failure}\n`);
    return r.exitCode ?? 1;
  });
}

main().then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    process.stderr.write(`numa-vm: ${err.message}\n`);
    process.exitCode = 1;
  },
);
