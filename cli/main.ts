import { existsSync } from 'node:fs';
import { formatError, isUserError, UserError } from '../common/errors.js';
import { nearest } from '../common/nearest.js';
import type { Command } from './command.js';
import { runCommand } from './commands/run.js';
import { planCommand } from './commands/plan.js';
import { topologyCommand } from './commands/topology.js';
import { queryCommand } from './commands/query.js';
import { compareCommand } from './commands/compare.js';
import { reportCommand } from './commands/report.js';
import { exportCommand } from './commands/export.js';
import { inferCommand } from './commands/infer.js';
import { modelCommand } from './commands/model.js';
import { dataCommand } from './commands/data.js';
import { qualifyCommand } from './commands/qualify.js';
import { promoteCommand } from './commands/promote.js';
import { pruneCommand } from './commands/prune.js';
import { mergeCommand } from './commands/merge.js';
import { fleetCommand } from './commands/fleet.js';
import { submitCommand } from './commands/submit.js';
import { toolVersion } from '../orchestrator/software.js';

const commands: Command[] = [
  runCommand,
  planCommand,
  topologyCommand,
  queryCommand,
  compareCommand,
  reportCommand,
  exportCommand,
  inferCommand,
  modelCommand,
  dataCommand,
  qualifyCommand,
  promoteCommand,
  pruneCommand,
  mergeCommand,
  fleetCommand,
  submitCommand,
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'numa-sweep: multi-instance, NUMA-bound inference sweeps of the 2D U-Net segmentation workload',
    '',
    'usage: sweep <experiment.yaml> [--db PATH] [--tag TAG]      run an experiment matrix',
    '       sweep <command> [options]                             (sweep <command> --help for each)',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 ok; 1 a point failed, or compare/qualify found a regression (a point slower, Dice down, failed or missing);',
    '            2 bad input (nothing changed on disk) or a host mismatch; 3 inconclusive: compare/qualify cannot give a verdict (a suspect point,',
    '            intervals too wide, no interval; rerun advised); 130 interrupted; 141 output pipe closed (| head)',
    'results: SQLite at results/sweeps.db by default; `sweep query "SELECT * FROM results"`',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined) {
      process.stderr.write(overview() + '\n');
      return 2;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      process.stdout.write(overview() + '\n');
      return 0;
    }
    if (first === '--version' || first === '-V') {
      process.stdout.write(toolVersion() + '\n');
      return 0;
    }
    const command = commands.find((c) => c.name === first);
    // Anything else is an experiment file: `sweep experiments/x.yaml` is `sweep run experiments/x.yaml`,
    // unless it is neither a file nor YAML-named but close to a command's name (a typo).
    const typo = command || existsSync(first) || /\.ya?ml$/i.test(first) ? undefined : nearest(first, commands.map((c) => c.name));
    if (typo) throw new UserError(`unknown command '${first}'`, { hint: `did you mean 'sweep ${typo}'? (sweep --help lists the commands)` });
    const [cmd, args] = command ? [command, rest] : [runCommand, argv];
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(cmd.usage + '\n');
      return 0;
    }
    return await cmd.run(args);
  } catch (err) {
    process.stderr.write(formatError(err) + '\n');
    if (!isUserError(err) && err instanceof Error && process.env.SWEEP_DEBUG) process.stderr.write((err.stack ?? '') + '\n');
    return isUserError(err) ? 2 : 1;
  }
}
