#!/usr/bin/env node
// The nightly qualification of this machine: `sweep qualify` for each of its experiments, the
// JUnit file, the Markdown summary, the log and the HTML report of each kept in one dated folder
// per night, old nights rotated out. Exits with the worst exit code of the night (docs/nightly.md):
// 130 interrupted, then 2 bad input or host mismatch, 1 regression, 3 inconclusive, 0 pass.
//
//   node scripts/nightly.mjs experiments/local.yaml [more.yaml ...] [options]
//   node scripts/nightly.mjs --config /etc/numa-sweep/nightly.json
//
// Options (a --config JSON file may hold the same, as keys of the same names, `experiments` a list):
//   --db PATH          results database (default results/sweeps.db)
//   --out DIR          where the nights are kept (default results/nightly)
//   --keep N           nights kept, this one included (default 14)
//   --confirm          passed to qualify: measure regressed or suspect points again (default on;
//                      --no-confirm turns it off)
//   --previews N       segmentation previews in each report (default 4; 0 for none)
//   --allowed-cpus L   passed to qualify and to nothing else
//   --textfile-dir D   also write each experiment's metrics (sweep export --format openmetrics) as
//                      D/numa-sweep-NAME.prom, whole (temporary file, then rename): the folder of
//                      node_exporter's textfile collector (--collector.textfile.directory)
import { $, fs, minimist, path } from 'zx';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
// Written whole or not at all (flushed, then renamed), as every file numa-sweep writes.
import { writeWhole } from '../dist/common/write-whole.js';

$.verbose = false;

const OPTIONS = ['config', 'db', 'out', 'keep', 'confirm', 'no-confirm', 'previews', 'allowed-cpus', 'textfile-dir', 'help', 'h'];
/** The options a --config file may also hold. */
const CONFIG_KEYS = ['db', 'out', 'keep', 'confirm', 'previews', 'allowed-cpus', 'textfile-dir'];
const argv = minimist(process.argv.slice(2), {
  boolean: ['confirm', 'help'],
  string: ['config', 'db', 'out', 'allowed-cpus', 'textfile-dir'],
  alias: { h: 'help' },
  unknown: (arg) => {
    const name = /^--?([^=]+)/.exec(arg)?.[1];
    if (name !== undefined && !OPTIONS.includes(name)) {
      process.stderr.write(`nightly: unknown option ${arg} (--help lists them)\n`);
      process.exit(2);
    }
    return true;
  },
});
if (argv.help) {
  // The usage is the comment at the top of this file.
  const text = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  const usage = text.slice(1, text.findIndex((line) => line.startsWith('import '))).map((line) => line.replace(/^\/\/ ?/, ''));
  process.stdout.write(usage.join('\n') + '\n');
  process.exit(0);
}
/** --confirm and --no-confirm when given; else the config's, else on. */
const confirmGiven = process.argv.some((a) => a === '--confirm' || a === '--no-confirm');

const SWEEP = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'sweep.js');
const NIGHT = /^\d{4}-\d{2}-\d{2}(\.\d+)?$/;
/** Worst first: the exit code a night reports is the first of these that any experiment had. */
const SEVERITY = [130, 2, 1, 3, 0];

function fail(message) {
  process.stderr.write(`nightly: ${message}\n`);
  process.exit(2);
}

function settings() {
  const fromFile = argv.config ? fs.readJsonSync(argv.config, { throws: false }) : {};
  if (fromFile === null || typeof fromFile !== 'object' || Array.isArray(fromFile)) fail(`--config ${argv.config}: not a readable JSON object`);
  // A misspelt key would silently fall back to its default: refused, as an unknown option is.
  const unknownKeys = Object.keys(fromFile).filter((key) => key !== 'experiments' && !CONFIG_KEYS.includes(key));
  if (unknownKeys.length > 0) fail(`--config ${argv.config}: unknown key(s) ${unknownKeys.join(', ')} (known: experiments, ${CONFIG_KEYS.join(', ')})`);
  const pick = (name, fallback) => (name === 'confirm' && !confirmGiven ? undefined : argv[name]) ?? fromFile[name] ?? fallback;
  const experiments = argv._.length > 0 ? argv._.map(String) : (fromFile.experiments ?? []);
  if (experiments.length === 0) fail('no experiments: give experiment files as arguments, or "experiments" in --config');
  for (const file of experiments) if (!fs.existsSync(file)) fail(`${file}: no such experiment file`);
  const keep = Number(pick('keep', 14));
  if (!Number.isInteger(keep) || keep < 1) fail(`--keep takes a whole number >= 1, not ${pick('keep')}`);
  const previews = Number(pick('previews', 4));
  if (!Number.isInteger(previews) || previews < 0) fail(`--previews takes a whole number >= 0, not ${pick('previews')}`);
  return {
    experiments,
    db: String(pick('db', 'results/sweeps.db')),
    out: String(pick('out', 'results/nightly')),
    keep,
    previews,
    confirm: pick('confirm', true) !== false,
    allowedCpus: pick('allowed-cpus', undefined),
    textfileDir: pick('textfile-dir', undefined),
  };
}

/**
 * Each experiment's name in the night (its folder and tag): the file's base name, unless two
 * files share it (a/x.yaml, b/x.yaml): then each is followed by 8 hex digits of its absolute
 * path's SHA-256, the same every night. The same file twice is bad input.
 */
function experimentNames(files) {
  const base = (file) => path.basename(file).replace(/\.ya?ml$/i, '');
  const seen = new Set();
  for (const file of files) {
    const abs = path.resolve(file);
    if (seen.has(abs)) fail(`${file}: the same experiment file is given twice`);
    seen.add(abs);
  }
  return files.map((file) => {
    const shared = files.filter((other) => base(other) === base(file)).length > 1;
    return shared ? `${base(file)}-${createHash('sha256').update(path.resolve(file)).digest('hex').slice(0, 8)}` : base(file);
  });
}

/** This night's folder: the UTC date, with .2, .3 ... when the date was used already today. */
function nightFolder(out) {
  const date = new Date().toISOString().slice(0, 10);
  for (let n = 1; ; n++) {
    const folder = path.join(out, n === 1 ? date : `${date}.${n}`);
    if (!fs.existsSync(folder)) return folder;
  }
}

/** Night folders in order, oldest first ('2026-12-01' < '2026-12-01.2' < '2026-12-02'). */
function nights(out) {
  const byRun = (a, b) => {
    const [da, na = '1'] = a.split('.');
    const [db, nb = '1'] = b.split('.');
    return da === db ? Number(na) - Number(nb) : da < db ? -1 : 1;
  };
  return fs.readdirSync(out).filter((name) => NIGHT.test(name) && fs.statSync(path.join(out, name)).isDirectory()).sort(byRun);
}

/** The sweep command running now, and the signal that stopped the night, if one did. */
let running = null;
let stoppedBy = null;
// A signal to this script alone (kill, a CI job cancelled) reaches the sweep command too: it stops
// its sweep and exits 130, the night is recorded and the experiments after it are not run. (A
// second signal is ignored by the sweep command, so one sent to the whole group is no harm.)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stoppedBy = signal;
    running?.kill(signal);
  });
}

/** Runs bin/sweep.js with `args` to its end; a signal to the night is passed on to it. */
async function sweep(args) {
  running = $({ nothrow: true, quiet: true })`${process.execPath} ${SWEEP} ${args}`;
  try {
    return await running;
  } finally {
    running = null;
  }
}

async function qualifyOne(s, night, file, name) {
  const folder = path.join(night, name);
  fs.mkdirSync(folder, { recursive: true });
  const tag = `nightly-${path.basename(night)}-${name}`;
  const args = ['qualify', file, '--db', s.db, '--tag', tag, '--junit', path.join(folder, 'junit.xml'), '--summary', path.join(folder, 'summary.md'), '--json'];
  if (s.confirm) args.push('--confirm');
  if (s.allowedCpus !== undefined) args.push('--allowed-cpus', String(s.allowedCpus));
  const started = new Date().toISOString();
  const run = await sweep(args);
  let log = `$ sweep ${args.join(' ')}\n${run.stdout}${run.stderr}`;
  const code = run.exitCode ?? 130;
  // The verdict is read from qualify --json, never from its table; no JSON: it stopped before judging.
  const q = judged(run.stdout);
  if (q !== null) writeWhole(path.join(folder, 'qualify.json'), run.stdout);
  const verdict = q === null ? `exit ${code}` : `${q.verdict} (exit ${q.exitCode})`;
  let report = null;
  // A sweep exists unless qualify stopped before it ran (bad input): report it.
  if ((code !== 2 || q !== null) && stoppedBy === null) {
    const r = await sweep(['report', tag, '--db', s.db, '--out', path.join(folder, 'report'), '--previews', String(s.previews)]);
    log += `\n$ sweep report ${tag}\n${r.stdout}${r.stderr}`;
    report = r.exitCode === 0 ? path.join(name, 'report', 'index.html') : null;
    if (s.textfileDir !== undefined) {
      // The metrics' verdict is judged against the baseline qualify used (its JSON names the sweep).
      const baseline = q?.comparison?.a?.id === undefined ? undefined : String(q.comparison.a.id);
      const out = path.join(String(s.textfileDir), `numa-sweep-${name}.prom`);
      const m = await sweep(['export', tag, '--format', 'openmetrics', '--db', s.db, '--out', out, ...(baseline ? ['--baseline', baseline] : [])]);
      log += `\n$ sweep export ${tag} --format openmetrics --out ${out}\n${m.stdout}${m.stderr}`;
    }
  }
  writeWhole(path.join(folder, 'qualify.log'), log);
  process.stdout.write(`${name}: ${verdict}${report ? '' : ' (no report)'}\n`);
  const undecided = q === null ? null : q.rows.filter((r) => r.verdict === 'inconclusive').length;
  const drift = q?.comparison?.drift?.text ?? null;
  return { experiment: file, name, tag, started, ended: new Date().toISOString(), exit_code: code, verdict, undecided, drift, report };
}

/** qualify --json's verdict, or null when it printed none (it stopped before judging). */
function judged(stdout) {
  try {
    const q = JSON.parse(stdout);
    return typeof q?.verdict === 'string' && Array.isArray(q.rows) ? q : null;
  } catch {
    return null;
  }
}

const s = settings();
const names = experimentNames(s.experiments);
fs.mkdirSync(s.out, { recursive: true });
const night = nightFolder(s.out);
fs.mkdirSync(night);
process.stdout.write(`nightly: ${s.experiments.length} experiment(s), results in ${night}\n`);

const results = [];
for (const [i, file] of s.experiments.entries()) {
  if (stoppedBy !== null) break;
  const result = await qualifyOne(s, night, file, names[i]);
  results.push(result);
  if (result.exit_code === 130) break; // interrupted: the rest of the night is not run
}
// A night stopped by a signal is interrupted whatever its experiments said.
const exitCode =
  stoppedBy !== null ? 130 : (SEVERITY.find((code) => results.some((r) => r.exit_code === code)) ?? Math.max(...results.map((r) => r.exit_code)));
writeWhole(path.join(night, 'nightly.json'), JSON.stringify({ night: path.basename(night), db: s.db, exit_code: exitCode, experiments: results }, null, 2) + '\n');
const summaries = results.map((r) => {
  const file = path.join(night, r.name, 'summary.md');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `## ${r.name}: exit ${r.exit_code}, no summary (see ${r.name}/qualify.log)\n`;
});
writeWhole(path.join(night, 'summary.md'), `# Nightly qualification ${path.basename(night)}: exit ${exitCode}\n\n${summaries.join('\n')}`);

// Rotation: the newest `keep` nights stay, this one among them.
const all = nights(s.out);
for (const old of all.slice(0, Math.max(0, all.length - s.keep))) {
  fs.rmSync(path.join(s.out, old), { recursive: true, force: true });
  process.stdout.write(`nightly: rotated out ${old}\n`);
}
process.stdout.write(`nightly: exit ${exitCode}\n`);
process.exit(exitCode);
