import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createProgress } from '../orchestrator/progress.js';
import type { SweepPointSummary } from '../orchestrator/sweep.js';

// The sweep's progress as a terminal and as a log see it, written to a real stream.

function sink(tty: boolean, columns?: number): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  Object.assign(stream, { isTTY: tty, columns });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

const KEY = 'bs=128,inst=4,cpi=20,bind=numactl,prof=optimized,eng=onnxruntime,smt=0';
const noMonitors = { foreign_max: null, steal_max: null, cpu_mhz: null, threads: null };
const ok: SweepPointSummary = {
  key: KEY, status: 'ok', throughput_ips: 268.94, latency_p50_ms: 1903.2, latency_p99_ms: 2210.55, dice: 0.97981, error: null,
  throughput_ci: { low: 260.12, high: 277.76, method: 'batch-means', samples: 10 }, suspect_reasons: [], measuring: null,
  validity: { foreign_max: 0.01, steal_max: 0, cpu_mhz: 2400, threads: '20/20' },
};
const failed: SweepPointSummary = {
  key: 'bs=1,x', status: 'failed', throughput_ips: null, latency_p50_ms: null, latency_p99_ms: null, dice: null, error: 'binding not applied\nplanned 0-9',
  throughput_ci: null, suspect_reasons: [], measuring: null, validity: noMonitors,
};

test('in a log: one plain line per window started and per point stopped, each point with its figures', () => {
  const { stream, text } = sink(false);
  const progress = createProgress(stream);
  // Progress counts windows (a sweep measures in rounds); a point's line comes when it stops.
  progress.pointStarted(0, 2, KEY);
  progress.pointDone(0, 2, ok);
  progress.pointStarted(1, 2, 'bs=1,x');
  progress.pointDone(1, 2, failed);
  progress.finish();
  const lines = text().trimEnd().split('\n');
  assert.equal(lines[0], `window 1/≤2 ${KEY}: running`);
  assert.equal(lines[1], `point 1/2 ${KEY}: 268.9 img/s (95% 260.1-277.8), p50 1903.2 ms, p99 2210.6 ms, Dice 0.9798`);
  assert.match(lines[2]!, new RegExp(`^\\[0/≤2 windows\\] 00:00 elapsed, best 268\\.9 img/s \\(${KEY.replace(/[.]/g, '\\.')}\\)$`));
  assert.equal(lines[3], 'window 2/≤2 bs=1,x: running');
  assert.equal(lines[4], 'point 2/2 bs=1,x: FAILED: binding not applied');
  assert.ok(!text().includes('\x1b'), 'no terminal control codes in a log');
});

test('on a terminal: one live line, never wider than the terminal, the clock before the key', () => {
  const { stream, text } = sink(true, 80);
  const progress = createProgress(stream);
  progress.pointStarted(0, 3, KEY);
  progress.pointDone(0, 3, ok);
  progress.pointStarted(1, 3, KEY);
  progress.finish();
  // Each redraw starts with carriage return + erase line; what follows fits in 79 columns.
  const frames = text().split('\r\x1b[2K').filter((f) => f.length > 0 && !f.includes('\n'));
  assert.ok(frames.length >= 2);
  for (const f of frames) assert.ok(f.length <= 79, `${f.length}: ${f}`);
  assert.ok(frames.some((f) => /^\[1\/≤3 windows\] 00:00 elapsed, ETA ≤00:00, best 268\.9 img\/s; running for 00:00:/.test(f)), frames.join('\n'));
  // Finished points still get a line of their own that stays on screen.
  assert.ok(text().includes(`point 1/3 ${KEY}: 268.9 img/s`));
});

test('a suspect point says so on its line, with its first reason', () => {
  const { stream, text } = sink(false);
  const progress = createProgress(stream);
  const reasons = ['repeat 0 instance 1: foreign load 31.0% of its 1 CPU(s) (limit 5.0%)', 'repeat 0 instance 0: 3 busy threads on 1 allowed CPU(s) (oversubscribed)'];
  progress.pointDone(0, 1, { ...ok, throughput_ci: null, suspect_reasons: reasons });
  progress.finish();
  assert.equal(text().split('\n')[0], `point 1/1 ${KEY}: 268.9 img/s, p50 1903.2 ms, p99 2210.6 ms, Dice 0.9798, SUSPECT: ${reasons[0]} (+1 more)`);
});
