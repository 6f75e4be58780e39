import { formatError, isUserError } from '../common/errors.js';
import { writeWhole } from '../common/write-whole.js';
import { prepareInt8, type CalibrationSource } from './model/prepare-int8.js';
import { loadModel } from './model/presets.js';

// The int8 preparation child process, started once per sweep by orchestrator/model-cache.ts
// (calibration runs onnxruntime, which the orchestrator never loads itself):
//   node dist/runner/prepare-main.js --job '{"spec":..., "out":..., "calibration":{...}, "dataShape":[h,w,c]}'
// Writes the prepared int8 file to `out` whole or not at all, prints {"event":"prepared"} on
// stdout; a bad model or calibration source prints the error and exits 2, anything else 1.

interface PrepareJob {
  spec: string;
  out: string;
  calibration: CalibrationSource;
  dataShape?: [number, number, number];
}

async function main(): Promise<number> {
  try {
    const i = process.argv.indexOf('--job');
    const job = JSON.parse(process.argv[i + 1] ?? '') as PrepareJob;
    const loaded = await loadModel(job.spec);
    if (loaded.kind !== 'graph') throw new Error(`${job.spec} did not load as a graph`);
    writeWhole(job.out, await prepareInt8(job.spec, loaded.graph, job.calibration, job.dataShape), 'prepared int8 model');
    process.stdout.write(JSON.stringify({ event: 'prepared', file: job.out }) + '\n');
    return 0;
  } catch (err) {
    process.stderr.write(formatError(err) + '\n');
    if (!isUserError(err) && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return isUserError(err) ? 2 : 1;
  }
}

process.exitCode = await main();
process.exit();
