// Progress of a sweep: on a terminal one live line (points done of total, elapsed, ETA, best so
// far) rewritten in place; elsewhere (CI logs, pipes) one plain line per event.

import type { SweepPointSummary } from './sweep.js';
import type { PointMeasuring } from '../results/types.js';

export interface ProgressSink {
  pointStarted(index: number, total: number, key: string): void;
  /** A point stopped: the `index`-th of `total`; `windowsDone`, when given, the windows measured so far. */
  pointDone(index: number, total: number, point: SweepPointSummary, windowsDone?: number): void;
  message(line: string): void;
  finish(): void;
}

export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = String(m).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The first line of a point's error ('' when it has none): the rest is in the store. */
export function errorHeadline(point: SweepPointSummary): string {
  return (point.error ?? '').split('\n')[0]!;
}

/**
 * "26.9 img/s (95% 26.1-27.7), p50 37.0 ms, p99 41.2 ms, Dice 0.9774", then ", SUSPECT: <first
 * reason> (+N more)" when the monitors saw something; or "FAILED: <first line of the error>".
 */
export function pointResult(point: SweepPointSummary): string {
  if (point.status !== 'ok') return `FAILED: ${errorHeadline(point)}`;
  const ms = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)} ms`);
  const dice = point.dice === null ? '-' : point.dice.toFixed(4);
  const ci = point.throughput_ci ? ` (95% ${point.throughput_ci.low.toFixed(1)}-${point.throughput_ci.high.toFixed(1)})` : '';
  const [first, ...more] = point.suspect_reasons;
  const suspect = first === undefined ? '' : `, SUSPECT: ${first}${more.length > 0 ? ` (+${more.length} more)` : ''}`;
  const m = point.measuring;
  const windows = m ? `, ${m.windows} window${m.windows === 1 ? '' : 's'} in ${m.seconds.toFixed(1)} s (${stopText(m)})` : '';
  return `${point.throughput_ips?.toFixed(1)} img/s${ci}, p50 ${ms(point.latency_p50_ms)}, p99 ${ms(point.latency_p99_ms)}, Dice ${dice}${windows}${suspect}`;
}

/** Why a point stopped, in words: "precision ±1.9% reached", "max_repeats: ±3.1%, aimed at ±1.9%". */
export function stopText(m: PointMeasuring): string {
  const target = `±${(m.precision_target * 100).toFixed(1)}%`;
  const left = m.windows_left_out > 0 ? `, ${m.windows_left_out} disturbed left out` : '';
  switch (m.stop_reason) {
    case 'precision':
      return `stopped at its precision ${target}${left}`;
    case 'max_repeats':
      return `max_repeats reached before its precision ${target}${left}`;
    case 'budget':
      return `budget spent before its precision ${target}${left}`;
    case 'failed':
      return 'a window failed';
    case 'interrupted':
      return 'interrupted before it stopped';
  }
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const live = stream.isTTY === true;
  const started = Date.now();
  let done = 0;
  let best: { throughput: number; key: string } | undefined;
  let current = '';
  let currentStarted = 0;
  let lineShown = false;
  let ticker: NodeJS.Timeout | undefined;
  let totalPoints = 0;

  // The live line leaves out the best point's key: the point running now needs the width.
  const status = (total: number, bestKey = true) => {
    const elapsed = (Date.now() - started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
    const bestText = best ? `, best ${best.throughput.toFixed(1)} img/s${bestKey ? ` (${best.key})` : ''}` : '';
    // Windows done of at most `total`: a point stops sooner when precise, so the ETA is a bound.
    return `[${done}/≤${total} windows] ${clock(elapsed)} elapsed${Number.isFinite(eta) ? `, ETA ≤${clock(eta)}` : ''}${bestText}`;
  };
  const draw = (text: string) => {
    const width = stream.columns ?? 120;
    stream.write(`\r\x1b[2K${text.slice(0, width - 1)}`);
    lineShown = true;
  };
  // The running time comes before the key, so a narrow terminal cuts the key, not the clock.
  const drawRunning = () => draw(`${status(totalPoints, false)}; running for ${clock((Date.now() - currentStarted) / 1000)}: ${current}`);
  const stopTicker = () => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
  };
  const clearLine = () => {
    if (live && lineShown) stream.write('\r\x1b[2K');
    lineShown = false;
  };

  return {
    pointStarted(index, total, key) {
      // Progress counts windows: a sweep measures its points in rounds (sweep-rounds.ts).
      done = index;
      current = key;
      currentStarted = Date.now();
      totalPoints = total;
      if (live) {
        drawRunning();
        // The live line ticks while a point runs: a 30 s window should not look like a hang.
        stopTicker();
        ticker = setInterval(drawRunning, 1000);
        ticker.unref();
      } else stream.write(`window ${index + 1}/≤${total} ${key}: running\n`);
    },
    pointDone(index, total, point, windowsDone) {
      stopTicker();
      if (windowsDone !== undefined) done = windowsDone;
      if (point.throughput_ips !== null && (!best || point.throughput_ips > best.throughput)) {
        best = { throughput: point.throughput_ips, key: point.key };
      }
      clearLine();
      stream.write(`point ${index + 1}/${total} ${point.key}: ${pointResult(point)}\n`);
      if (live) draw(status(totalPoints, false));
      else stream.write(`${status(totalPoints)}\n`);
    },
    message(line) {
      clearLine();
      stream.write(line + '\n');
    },
    finish() {
      stopTicker();
      clearLine();
    },
  };
}
