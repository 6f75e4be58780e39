import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mean, median, percentile, percentileSorted, summarize } from '../common/stats.js';

const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

test('percentiles interpolate linearly between the closest ranks (numpy default)', () => {
  const xs = [1, 2, 3, 4];
  // rank = p/100 * (n - 1)
  close(percentile(xs, 0), 1);
  close(percentile(xs, 50), 2.5); // rank 1.5
  close(percentile(xs, 90), 3.7); // rank 2.7
  close(percentile(xs, 99), 3.97); // rank 2.97
  close(percentile(xs, 100), 4);
  const unsorted = [40, 15, 50, 20, 35];
  close(percentile(unsorted, 25), 20); // rank 1
  close(percentile(unsorted, 50), 35); // rank 2
  close(percentile(unsorted, 90), 46); // rank 3.6: 40 + 0.6 * 10
  close(percentile(unsorted, 99), 49.6); // rank 3.96
  assert.deepEqual(unsorted, [40, 15, 50, 20, 35], 'input left as it was');
  close(percentile([7], 99), 7);
  close(percentileSorted([1, 2, 3, 4], 50), 2.5);
});

test('median, mean and summarize', () => {
  close(median([3, 1, 2]), 2);
  close(median([4, 1, 3, 2]), 2.5);
  close(mean([1, 2, 3, 4]), 2.5);
  const s = summarize([10, 30, 20, 40, 100]);
  close(s.mean, 40);
  close(s.p50, 30);
  close(s.p90, 76); // rank 3.6: 40 + 0.6 * 60
  close(s.p99, 97.6); // rank 3.96
  assert.equal(s.max, 100);
});

test('no samples or a percentile outside 0..100 is an error', () => {
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => summarize([]), RangeError);
  assert.throws(() => mean([]), RangeError);
  assert.throws(() => percentile([1, 2], 101), RangeError);
  assert.throws(() => percentile([1, 2], Number.NaN), RangeError);
});
