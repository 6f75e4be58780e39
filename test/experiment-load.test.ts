import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { UserError, formatError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { loadExperiment } from '../orchestrator/experiment/load.js';
import { PRECISION_PER_TOLERANCE } from '../orchestrator/experiment/load.js';
import { editDistance, nearest } from '../common/nearest.js';

const dir = mkdtempSync(join(tmpdir(), 'numa-sweep-exp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let count = 0;
function write(text: string): string {
  const file = join(dir, `e${count++}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** Loads `text` expecting a UserError; returns it. */
function fails(text: string): UserError {
  const file = write(text);
  try {
    loadExperiment(file);
  } catch (err) {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.equal(err.location.file, file);
    return err;
  }
  assert.fail('loadExperiment accepted a bad experiment');
}

const HEAD = `name: t
workload:
  model: builtin:unet2d-decathlon
  data: {synthetic: {testing: 8}}
`;

describe('loadExperiment: errors point at the YAML', () => {
  test('a YAML syntax error has line and column', () => {
    const err = fails(`${HEAD}matrix:\n  batch_size: [1, 2\n  binding: none\n`);
    assert.match(err.message, /YAML syntax error/);
    assert.equal(err.location.line, 7);
    assert.ok(err.location.column !== undefined && err.location.column >= 1);
  });

  test('a duplicate key is a syntax error at the second key', () => {
    const err = fails(`${HEAD}matrix:\n  binding: none\n  binding: numactl\n`);
    assert.match(err.message, /unique|duplicate/i);
    assert.deepEqual([err.location.line, err.location.column], [7, 3]);
  });

  test('an unknown key names the nearest valid key', () => {
    const err = fails(`${HEAD}matrix:\n  batch_sizes: [1, 8]\n`);
    assert.equal(err.message, "unknown key 'batch_sizes'");
    assert.equal(err.value, 'batch_sizes');
    assert.deepEqual([err.location.line, err.location.column, err.location.at], [6, 3, 'matrix.batch_sizes']);
    assert.match(err.hint ?? '', /did you mean 'batch_size'\?/);
  });

  test('a misspelt builtin model or model option points at workload.model with the nearest name', () => {
    const preset = fails('name: t\nworkload:\n  model: builtin:unet2d-decatlon\n  data: {synthetic: {testing: 8}}\n');
    assert.equal(preset.message, "unknown builtin model 'unet2d-decatlon'");
    assert.deepEqual([preset.location.line, preset.location.column, preset.location.at], [3, 10, 'workload.model']);
    assert.match(preset.hint ?? '', /did you mean 'builtin:unet2d-decathlon'\?/);
    const option = fails('name: t\nworkload:\n  model: builtin:unet2d-decathlon?fsm=4\n  data: {synthetic: {testing: 8}}\n');
    assert.equal(option.message, "unknown model option 'fsm'");
    assert.equal(option.location.at, 'workload.model');
    assert.match(option.hint ?? '', /did you mean 'fms'\?/);
  });

  test('an unknown top-level key, far from every name, lists the known ones', () => {
    const err = fails(`${HEAD}zzzzzz: 1\n`);
    assert.equal(err.location.at, 'zzzzzz');
    assert.deepEqual([err.location.line, err.location.column], [5, 1]);
    assert.match(err.hint ?? '', /known keys here: .*workload.*matrix/);
  });

  test('a bad enum value in a list points at the item', () => {
    const err = fails(`${HEAD}matrix:\n  binding: [none, numa]\n`);
    assert.equal(err.location.at, 'matrix.binding[1]');
    assert.deepEqual([err.location.line, err.location.column], [6, 19]);
    assert.equal(err.value, 'numa');
    assert.match(err.message, /one of: none, numactl, node, taskset/);
    assert.match(err.hint ?? '', /did you mean 'numactl'\?/);
  });

  test('a bad enum scalar (engine) points at the value', () => {
    const err = fails(`${HEAD}matrix:\n  engine: tensorflow\n`);
    assert.equal(err.location.at, 'matrix.engine');
    assert.deepEqual([err.location.line, err.location.column], [6, 11]);
    assert.equal(err.value, 'tensorflow');
  });

  test('a wrong type reports the value, what was expected and where', () => {
    const err = fails(`${HEAD}measurement:\n  min_seconds: soon\n`);
    assert.equal(err.location.at, 'measurement.min_seconds');
    assert.deepEqual([err.location.line, err.location.column], [6, 16]);
    assert.equal(err.value, 'soon');
    assert.match(err.message, /must be a number, not a string/);
  });

  test('a wrong type inside an include entry', () => {
    const err = fails(`${HEAD}matrix:\n  include:\n    - batch_size: 8\n      smt: [yes please]\n`);
    assert.equal(err.location.at, 'matrix.include[0].smt[0]');
    assert.deepEqual([err.location.line, err.location.column], [8, 13]);
    assert.equal(err.value, 'yes please');
  });

  test("cores_per_instance accepts numbers, 'auto' and 'node' only", () => {
    const err = fails(`${HEAD}matrix:\n  cores_per_instance: [auto, 0, half]\n`);
    assert.equal(err.location.at, 'matrix.cores_per_instance[1]');
    assert.deepEqual([err.location.line, err.location.column], [6, 30]);
    assert.match(err.message, />= 1/);
    assert.match(err.hint ?? '', /1 more problem/);
    assert.match(err.hint ?? '', /cores_per_instance\[2\].*'auto' or 'node'.*half/);
  });

  test('a missing required key is reported at its parent', () => {
    const err = fails('name: t\nworkload:\n  model: builtin:unet2d-decathlon\n  data: task01.h5\n');
    assert.equal(err.message, "missing required key 'images' in workload");
    assert.deepEqual([err.location.line, err.location.column, err.location.at], [3, 3, 'workload']);
  });

  test('a profile the matrix names must exist', () => {
    const err = fails(`${HEAD}profiles:\n  optimized: {}\nmatrix:\n  profile: [default, optimised]\n`);
    assert.equal(err.message, "unknown profile 'optimised'");
    assert.equal(err.value, 'optimised');
    assert.deepEqual([err.location.line, err.location.column, err.location.at], [8, 22, 'matrix.profile[1]']);
    assert.match(err.hint ?? '', /did you mean 'optimized'\?/);
  });

  test('a profile named in an exclude entry must exist too', () => {
    const err = fails(`${HEAD}matrix:\n  exclude:\n    - {profile: fast}\n`);
    assert.equal(err.location.at, 'matrix.exclude[0].profile');
    assert.equal(err.location.line, 7);
  });

  test('an unknown ${variable} in a profile is named with its profile', () => {
    const err = fails(`${HEAD}profiles:\n  optimized:\n    env:\n      OMP_NUM_THREADS: '\${cores}'\n`);
    assert.match(err.message, /unknown variable \$\{cores\} in profile 'optimized'/);
    assert.equal(err.location.at, 'profiles.optimized.env.OMP_NUM_THREADS');
    assert.deepEqual([err.location.line, err.location.column], [8, 24]);
    assert.match(err.hint ?? '', /did you mean \$\{cores_per_instance\}\?/);
  });

  test('a thread setting may only use numeric variables', () => {
    const err = fails(`${HEAD}profiles:\n  p:\n    threads: {intra: '\${cpus}'}\n`);
    assert.equal(err.location.at, 'profiles.p.threads.intra');
    assert.match(err.message, /unknown variable \$\{cpus\}/);
  });

  test('${intra} in env needs threads.intra', () => {
    const err = fails(`${HEAD}profiles:\n  p:\n    env: {OMP_NUM_THREADS: '\${intra}'}\n`);
    assert.match(err.message, /sets no threads\.intra/);
  });

  test('images beyond the synthetic set are refused', () => {
    const err = fails(`${HEAD}  images: 6\n  skip: 4\n`);
    assert.equal(err.location.at, 'workload.images');
    assert.equal(err.value, 6);
  });

  test('an empty file and a non-mapping are refused', () => {
    assert.match(fails('').message, /must be a mapping/);
    assert.match(fails('- a\n- b\n').message, /must be a mapping/);
  });

  test('an unreadable file is a UserError naming it', () => {
    const file = join(dir, 'missing.yaml');
    assert.throws(() => loadExperiment(file), (err: unknown) => err instanceof UserError && err.location.file === file && /no such file/.test(err.message));
  });

  test('the CLI form of an error shows where, the value and the hint', () => {
    const err = fails(`${HEAD}matrix:\n  batch_sizes: 1\n`);
    const text = formatError(err);
    assert.match(text, /^error: .*e\d+\.yaml:6:3 \(matrix\.batch_sizes\): unknown key 'batch_sizes'/);
    assert.match(text, /value: batch_sizes/);
    assert.match(text, /hint: did you mean 'batch_size'\?/);
  });
});

describe('loadExperiment: the experiment it returns', () => {
  test('fills defaults, keeps written axis order, expands list-valued entries', () => {
    const text = `${HEAD}profiles:\n  fast:\n    env: {KMP_BLOCKTIME: 0, X: true}\n    threads: {intra: auto}\nmatrix:\n  profile: [default, fast]\n  batch_size: [1, 8]\n  include:\n    - {instances: [2, 4], profile: fast}\n`;
    const file = write(text);
    const exp = loadExperiment(file);
    assert.equal(exp.sha256, createHash('sha256').update(text).digest('hex'));
    assert.equal(exp.text, text);
    assert.equal(exp.description, '');
    assert.deepEqual(exp.measurement, {
      warmup_batches: 3,
      min_seconds: 10,
      min_batches: 10,
      repeats: 3,
      max_repeats: 10,
      precision: 0.05 * PRECISION_PER_TOLERANCE,
      precision_source: 'tolerance',
      budget_seconds: null,
      timeout_seconds: 600,
      counters: true,
      counter_events: [],
    });
    assert.deepEqual(exp.workload, {
      data: { synthetic: { seed: 0, testing: 8 } },
      split: 'testing',
      images: 8,
      skip: 0,
    });
    assert.deepEqual(exp.models.map((m) => [m.id, m.spec]), [['unet2d-decathlon', 'builtin:unet2d-decathlon']]);
    assert.equal(exp.matrix.axes['model'], undefined, 'one model in workload.model: no model axis');
    assert.deepEqual(exp.profiles['default'], { env: {}, threads: {} });
    assert.deepEqual(exp.profiles['fast'], { env: { KMP_BLOCKTIME: '0', X: 'true' }, threads: { intra: 'auto' } });
    assert.deepEqual(Object.keys(exp.matrix.axes), ['profile', 'batch_size', 'instances', 'cores_per_instance', 'binding', 'engine', 'smt']);
    assert.deepEqual(exp.matrix.axes['binding'], ['none']);
    assert.deepEqual(exp.matrix.axes['cores_per_instance'], ['auto']);
    assert.deepEqual(exp.matrix.include, [
      { instances: 2, profile: 'fast' },
      { instances: 4, profile: 'fast' },
    ]);
    assert.deepEqual(exp.matrix.exclude, []);
  });

  test('relative model and data paths resolve against the experiment folder; builtin: stays', () => {
    const file = write('name: t\nworkload:\n  model: models/u.h5\n  data: ../data/task01.h5\n  images: 10\n');
    const exp = loadExperiment(file);
    assert.deepEqual(exp.models, [{ id: 'u', spec: join(dir, 'models', 'u.h5'), location: { file, line: 3, column: 10, at: 'workload.model' } }]);
    assert.deepEqual(exp.workload.data, { path: join(dir, '..', 'data', 'task01.h5') });
    // Where they are written, for the errors a sweep finds when a file is missing.
    assert.deepEqual(exp.locations, { data: { file, line: 4, column: 9, at: 'workload.data' } });
  });

  for (const name of ['xeon-8380', 'local', 'smoke']) {
    test(`experiments/${name}.yaml loads`, () => {
      const exp = loadExperiment(packagePath('experiments', `${name}.yaml`));
      assert.ok(exp.name.length > 0);
      assert.ok(exp.profiles['default'] && exp.profiles['optimized']);
      assert.match(exp.sha256, /^[0-9a-f]{64}$/);
    });
  }
});

describe('nearest', () => {
  test('edit distance and plausible suggestions', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(nearest('batch_sizes', ['batch_size', 'binding', 'instances']), 'batch_size');
    assert.equal(nearest('Instance', ['batch_size', 'instances']), 'instances');
    assert.equal(nearest('cores', ['cores_per_instance', 'sockets']), 'cores_per_instance');
    assert.equal(nearest('zzzzzz', ['batch_size', 'binding']), undefined);
  });
});
