import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseVmHwmKb, peakRssMb } from '../runner/measure/rss.js';

test('VmHWM is read from the status text in kB', () => {
  assert.equal(parseVmHwmKb('Name:\tnode\nVmPeak:\t 999999 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n'), 51234);
  assert.equal(parseVmHwmKb('Name:\tnode\n'), undefined);
});

test('peak RSS of this process grows with a large allocation and is at least the current RSS', () => {
  const before = peakRssMb();
  const rssNow = Number(/^VmRSS:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
  assert.ok(before >= rssNow - 0.01, `peak ${before} MB, current ${rssNow} MB`);
  const block = new Float64Array(8 * 1024 * 1024).fill(1); // 64 MB, touched
  const after = peakRssMb();
  assert.ok(after - before > 40, `peak went from ${before} to ${after} MB`);
  assert.equal(block[block.length - 1], 1);
});

test('without /proc it falls back to getrusage maxRSS', () => {
  const fallback = peakRssMb('/nonexistent/status');
  const maxRss = process.resourceUsage().maxRSS / 1024;
  assert.ok(Math.abs(fallback - maxRss) < 5, `${fallback} vs ${maxRss}`);
  assert.ok(fallback > 10);
});
