import { UserError } from '../../common/errors.js';
import { mixSeed, Rng } from '../../common/prng.js';
import { SLOWDOWN_ENV } from '../measure/inject-slowdown.js';
import type { KnobReport } from '../job.js';
import type { Engine, EngineOptions, Session } from './engine.js';
import type { LoadedModel } from '../model/graph.js';

// `engine: synthetic`: a known-truth engine for testing the statistics of the gate. It computes
// nothing (its masks are all zero); each batch takes a time drawn from a declared, seeded
// distribution, and the runner measures it through the whole real path (processes, barrier,
// store, compare), so the rule's error rates are measured instead of guessed (bench/gate.ts).
//
// A batch of n images takes  mean_ms x n x host(t) x exp(spread x z) x (1 + slowdown), where z is
// a standard normal drawn per batch, and host(t) is the host's speed at wall-clock time t:
// exp(drift x z_k), with z_k drawn from (seed, k) for the k-th period of drift_period_s seconds.
// Every process of a machine therefore sees the same host speed at the same moment, as instances
// of a drifting VM do, and windows taken at other times see other speeds. A period longer than a
// sweep makes the drift a level shift between sweeps; a short one makes it vary window to window.
// The batch time is slept (Atomics.wait, no CPU used) until a deadline on a schedule: batch k
// ends at the start of the run of batches plus the first k batch times. A process that a busy
// machine wakes late ends that batch late, and the next one on time (it sleeps less), so the
// lateness never adds up: a window's throughput is the declared one, however loaded the
// machine, up to the last batch's lateness. A pause longer than the schedule (between warm-up
// and the window, or before the untimed predictions) starts a new schedule.

export interface SyntheticSpec {
  mean_ms: number;
  spread: number;
  drift: number;
  drift_period_s: number;
  slowdown: number;
  seed: number;
}

const DEFAULTS: SyntheticSpec = { mean_ms: 5, spread: 0.05, drift: 0, drift_period_s: 1, slowdown: 0, seed: 1 };

/** The engine's options, by name, with what each means (the experiment schema lists the same). */
export const SYNTHETIC_OPTIONS: Record<keyof SyntheticSpec, string> = {
  mean_ms: 'mean milliseconds per image at host speed 1',
  spread: 'within-window spread: the standard deviation of log batch time',
  drift: "host-speed drift: the standard deviation of the log host speed between periods",
  drift_period_s: 'seconds during which the host speed stays the same',
  slowdown: 'the true change: every batch takes (1 + slowdown) times as long',
  seed: 'seed of the host-speed draws',
};

export function syntheticSpec(options: Record<string, string | number | boolean>): SyntheticSpec {
  const spec = { ...DEFAULTS };
  for (const [name, value] of Object.entries(options)) {
    if (!(name in SYNTHETIC_OPTIONS)) {
      throw new UserError(`unknown synthetic engine option ${JSON.stringify(name)}`, { value: name, hint: `known: ${Object.keys(SYNTHETIC_OPTIONS).join(', ')}` });
    }
    const n = typeof value === 'number' ? value : Number(value);
    if (!Number.isFinite(n) || n < 0) throw new UserError(`synthetic engine option ${name} must be a number >= 0`, { value });
    spec[name as keyof SyntheticSpec] = n;
  }
  if (!(spec.mean_ms > 0)) throw new UserError('synthetic engine option mean_ms must be > 0', { value: spec.mean_ms });
  if (!(spec.drift_period_s > 0)) throw new UserError('synthetic engine option drift_period_s must be > 0', { value: spec.drift_period_s });
  return spec;
}

/** The host's speed factor at wall-clock time `epochMs`: the same for every process at the same moment. */
export function hostSpeedFactor(spec: SyntheticSpec, epochMs: number): number {
  if (spec.drift === 0) return 1;
  const period = Math.floor(epochMs / (spec.drift_period_s * 1000));
  // Two 32-bit halves of the period number, so periods of many years never alias.
  const rng = new Rng(mixSeed(spec.seed, period % 0x100000000, Math.floor(period / 0x100000000)));
  return Math.exp(spec.drift * rng.normal());
}

/** Milliseconds one batch of `n` images takes, starting at `epochMs`. */
export function batchMs(spec: SyntheticSpec, n: number, epochMs: number, rng: Rng): number {
  return spec.mean_ms * n * hostSpeedFactor(spec, epochMs) * Math.exp(spec.spread * rng.normal()) * (1 + spec.slowdown);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Later than this after its deadline, a call starts a new schedule (a pause, not a late wake-up). */
const PAUSE_MS = 250;

/** Sleeps `ms` without using the CPU and without the event loop's timer granularity. */
function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

export const syntheticEngine: Engine = {
  name: 'synthetic',
  async open(model: LoadedModel, options: EngineOptions) {
    const declared = syntheticSpec(options.options ?? {});
    // A slowdown injected into the runner (NUMA_SWEEP_INJECT_SLOWDOWN, or its one-window form)
    // lengthens the schedule itself: a busy wait after a batch would only be slept away.
    const injected = Number(options.env[SLOWDOWN_ENV] ?? 0);
    const spec = { ...declared, slowdown: (1 + declared.slowdown) * (1 + (Number.isFinite(injected) ? injected : 0)) - 1 };
    // The within-window draws differ per process (its pid and start), the host's speed does not.
    const rng = new Rng(mixSeed(spec.seed, process.pid, Date.now() % 0x7fffffff));
    const outChannels = 1;
    let deadline = -Infinity;
    const session: Session = {
      async run(_input, n, [h, w]) {
        const now = Date.now();
        // Called again well after the last deadline: a pause, not lateness; a new schedule.
        const start = now - deadline > PAUSE_MS ? now : deadline;
        deadline = start + batchMs(spec, n, start, rng);
        sleepMs(deadline - Date.now());
        return { data: new Float32Array(n * h * w * outChannels), shape: [n, h, w, outChannels] };
      },
      async dispose() {},
    };
    const applied: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec)) applied[k] = String(v);
    const ignored: Record<string, string> = {};
    if (options.threads.intra !== undefined) ignored['threads.intra'] = 'the synthetic engine sleeps its batch times: it has no thread pool';
    if (options.threads.inter !== undefined) ignored['threads.inter'] = 'the synthetic engine sleeps its batch times: it has no thread pool';
    void model;
    const knobs: KnobReport = { applied, ignored };
    return { session, version: 'synthetic-1', knobs };
  },
};
