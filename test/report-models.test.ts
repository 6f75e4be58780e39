import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildFigures } from '../results/report/figures.js';
import { modelsSection } from '../results/report/models.js';
import type { ReportPoint } from '../results/report/types.js';

// The report's model axis: one row per configuration, each model's throughput and Dice side by
// side, the other models against the first; nothing at all for a sweep without a model axis.

function point(model: string | undefined, bs: number, ips: number | null, dice: number | null): ReportPoint {
  const params: ReportPoint['params'] = { batch_size: bs, instances: 1, binding: 'none', profile: 'default', engine: 'onnxruntime', smt: false };
  if (model !== undefined) params['model'] = model;
  return {
    key: `bs=${bs}${model ? `,model=${model}` : ''}`,
    params,
    model: model === undefined ? null : { id: model, sha256: `${model}-sha`.padEnd(64, '0') },
    status: ips === null ? 'failed' : 'ok',
    error: ips === null ? 'runner crashed' : null,
    throughput_ips: ips,
    latency_ms: null,
    dice: dice,
    soft_dice: null,
    warnings: [],
    throughput_ci: null,
    suspect_reasons: [],
    validity: { foreign_max: null, steal_max: null, cpu_mhz: null, threads: null },
  };
}

describe('models side by side', () => {
  const points = [point('unet', 1, 10, 0.97), point('unet', 8, 40, 0.97), point('buda', 1, 5, 0.95), point('buda', 8, null, null)];

  test('a row per configuration, the figures of each model and their ratio to the first', () => {
    const html = modelsSection(points)!;
    const rows = [...html.matchAll(/<tr><td>(.*?)<\/td>(.*?)<\/tr>/g)].map((m) => [m[1], [...m[2]!.matchAll(/>([^<]*)<\/td>/g)].map((c) => c[1])]);
    assert.deepEqual(rows, [
      ['bs 1', ['10.0', '0.9700', '5.0', '0.9500', '×0.500', '-0.020000']],
      ['bs 8', ['40.0', '0.9700', '–', '–', '–', '–']],
    ]);
    assert.match(html, /title="failed: runner crashed"/);
    // A suspect point is marked, and its pair gets no throughput ratio.
    const suspect = points.map((p) => (p.key === 'bs=1,model=buda' ? { ...p, suspect_reasons: ['repeat 0 instance 0: steal 9.0% (limit 5.0%)'] } : p));
    const marked = [...modelsSection(suspect)!.matchAll(/<tr><td>(.*?)<\/td>(.*?)<\/tr>/g)].map((m) => [...m[2]!.matchAll(/>([^<]*)<\/td>/g)].map((c) => c[1]));
    assert.deepEqual(marked[0], ['10.0', '0.9700', '5.0 suspect', '0.9500', 'suspect: no ratio', '-0.020000']);
    assert.match(html, /<strong>unet<\/strong> <code title="SHA-256">unet-sha0+<\/code>/);
  });

  test('the throughput chart pairs the models; a sweep without a model axis has neither', () => {
    const chart = buildFigures(points).find((f) => f.id === 'model-throughput')!;
    assert.equal(chart.absent, null);
    assert.match(chart.svgs[0]!, /Throughput: unet vs buda/);
    const single = [point(undefined, 1, 10, 0.97), point(undefined, 8, 40, 0.97)];
    assert.equal(modelsSection(single), null);
    assert.equal(buildFigures(single).some((f) => f.id === 'model-throughput'), false);
  });
});
