import type { Command } from '../command.js';
import { flag, needPositional, parse, str } from '../args.js';
import { planSweep } from '../../orchestrator/sweep.js';
import type { Plan } from '../../orchestrator/plan.js';
import { formatCpuList } from '../../common/cpulist.js';
import { DEFAULT_DB } from './run.js';
import { describeChecks, type HostCheck } from '../../orchestrator/host-check.js';

export const planCommand: Command = {
  name: 'plan',
  summary: 'print every point with the exact argv and environment of each instance; runs nothing',
  usage: `usage: sweep plan <experiment.yaml> [options]

options:
  --topology FILE      plan for the machine in FILE (lscpu --parse=CPU,CORE,SOCKET,NODE output)
  --allowed-cpus LIST  restrict to these CPUs, as a container cpuset would (e.g. 0-15)
  --db PATH            where a sweep would store results (decides the synthetic data path)
  --json               the plan as JSON (schemas/plan.schema.json)

The text output also judges the experiment's host: expectations on this machine (or the
--topology FILE); a sweep here would be refused on a mismatch. Exit codes: 0 planned (host
mismatches included), 2 bad input.`,
  async run(argv) {
    const p = parse('plan', argv, {
      topology: { type: 'string' },
      'allowed-cpus': { type: 'string' },
      db: { type: 'string' },
      json: { type: 'boolean' },
    });
    const file = needPositional(p, 0, 'experiment file (YAML)', 'plan');
    const { plan, hostChecks } = await planSweep(file, str(p, 'db') ?? DEFAULT_DB, str(p, 'topology'), str(p, 'allowed-cpus'));
    process.stdout.write(flag(p, 'json') ? JSON.stringify(plan, null, 2) + '\n' : renderPlan(plan, hostChecks));
    return 0;
  },
};

/** argv for reading: the runner's --job JSON is long, so it is shown once per point, not per instance. */
function renderPlan(plan: Plan, hostChecks: readonly HostCheck[] = []): string {
  const out: string[] = [];
  const t = plan.topology;
  out.push(`experiment ${plan.experiment.name} (${plan.experiment.file}, sha256 ${plan.experiment.sha256.slice(0, 12)})`);
  out.push(
    `topology ${t.source}: ${t.sockets} socket(s), ${t.nodes.length} NUMA node(s), ${t.cpus.filter((c) => c.online && c.allowed).length} usable CPUs, numactl ${t.numactl ? 'present' : 'ABSENT (taskset fallback)'}`,
  );
  out.push(...hostCheckLines(hostChecks));
  out.push(`${plan.points.length} points, ${plan.skipped.length} skipped`, '');
  for (const [i, point] of plan.points.entries()) {
    // The key holds the declared values; what 'auto' or 'node' came to on this machine follows it.
    const resolved = point.declared.cores_per_instance === point.params.cores_per_instance ? '' : ` (${point.params.cores_per_instance} core${point.params.cores_per_instance === 1 ? '' : 's'} per instance here)`;
    out.push(`point ${i + 1}: ${point.key}${resolved}`);
    for (const w of point.warnings) out.push(`  warning: ${w}`);
    for (const inst of point.instances) {
      const jobAt = inst.argv.indexOf('--job');
      const shown = jobAt >= 0 ? [...inst.argv.slice(0, jobAt + 1), "'<job>'"] : inst.argv;
      const env = Object.entries(inst.env).map(([k, v]) => `${k}=${v}`).join(' ');
      out.push(`  [${inst.index}] cpus ${formatCpuList(inst.cpus)} mems ${formatCpuList(inst.nodes)}`);
      out.push(`      ${env ? env + ' ' : ''}${shown.join(' ')}`);
    }
    const job = point.instances[0]?.argv[point.instances[0].argv.indexOf('--job') + 1];
    if (job) out.push(`  job: ${job}`);
    out.push('');
  }
  for (const s of plan.skipped) out.push(`skipped ${s.key}: ${s.reason}`);
  return out.join('\n') + '\n';
}

/**
 * The host expectations as the plan shows them: met, not met (a sweep here is refused), or not
 * judged where the topology does not hold the fact (a topology file has no CPU model or memory).
 */
function hostCheckLines(checks: readonly HostCheck[]): string[] {
  if (checks.length === 0) return [];
  const failed = checks.filter((c) => !c.ok && c.known);
  const unjudged = checks.filter((c) => !c.known);
  const met = checks.length - failed.length - unjudged.length;
  const out = [
    `host expectations: ${met} of ${checks.length} met` +
      (failed.length > 0 ? `, ${failed.length} NOT MET (a sweep here is refused unless --force)` : '') +
      (unjudged.length > 0 ? `, ${unjudged.length} not judged (the topology does not say)` : ''),
  ];
  if (failed.length > 0) out.push(...describeChecks(failed));
  if (unjudged.length > 0) out.push('  not judged:', ...describeChecks(unjudged).map((l) => `  ${l}`));
  return out;
}
