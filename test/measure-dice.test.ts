import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DiceAccumulator, calcDice, calcSoftDice, roundHalfEven } from '../runner/measure/dice.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);
const close = (actual: number, expected: number, what = ''): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${what} ${actual} != ${expected}`);

describe('Dice as the reference benchmark defines it (smooth 0.01)', () => {
  test('hand-made masks give the known values', () => {
    // identical masks with 3 positives: (2*3 + 0.01) / (3 + 3 + 0.01)
    close(calcDice(f32([1, 1, 1, 0, 0]), f32([1, 1, 1, 0, 0])), 1);
    // empty against empty: 0.01 / 0.01, the smoothing makes it 1
    close(calcDice(f32([0, 0, 0, 0]), f32([0, 0, 0, 0])), 1);
    // empty target, two false positives: 0.01 / 2.01
    close(calcDice(f32([0, 0, 0, 0]), f32([1, 0, 1, 0])), 0.01 / 2.01);
    // 4 positives, 2 found and 1 false positive: (2*2 + 0.01) / (4 + 3 + 0.01)
    close(calcDice(f32([1, 1, 1, 1, 0, 0]), f32([1, 1, 0, 0, 1, 0])), 4.01 / 7.01);
    // disjoint: 0.01 / (2 + 2 + 0.01)
    close(calcDice(f32([1, 1, 0, 0]), f32([0, 0, 1, 1])), 0.01 / 4.01);
    // another smoothing constant
    close(calcDice(f32([1, 0]), f32([0, 1]), 1), 1 / 3);
  });

  test('hard Dice rounds predictions like numpy (0.5 goes to 0); soft Dice does not round', () => {
    const target = f32([1, 1, 0, 0]);
    const prediction = f32([0.9, 0.5, 0.51, 0.2]);
    // rounded: [1, 0, 1, 0] -> overlap 1, sums 2 and 2
    close(calcDice(target, prediction), 2.01 / 4.01);
    // soft: overlap 0.9 + 0.5, sum of predictions 2.11 (in float32)
    const p = [...prediction];
    close(calcSoftDice(target, prediction), (2 * (p[0]! + p[1]!) + 0.01) / (2 + p.reduce((a, b) => a + b, 0) + 0.01));
    close(calcSoftDice(f32([1, 1, 0, 0]), [0.75, 0.25, 0.25, 0]), (2 * 1 + 0.01) / (2 + 1.25 + 0.01));
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 0.49999, 0.50001, 3, 2.4].map(roundHalfEven), [0, 2, 2, -0, -2, 0, 1, 3, 2]);
    assert.throws(() => calcDice(f32([1]), f32([1, 0])), RangeError);
  });
});

describe('DiceAccumulator', () => {
  const tumour = { target: f32([1, 1, 1, 0]), prediction: f32([0.8, 0.6, 0.1, 0.3]) };
  const empty = { target: f32([0, 0, 0, 0]), prediction: f32([0.7, 0, 0, 0.2]) };
  const clean = { target: f32([0, 0, 0, 0]), prediction: f32([0, 0.1, 0, 0]) };
  const images = [tumour, empty, clean];

  test('pooled Dice is the reference Dice of the stacked images, not the mean of per-image Dice', () => {
    const acc = new DiceAccumulator();
    for (const img of images) acc.add(img.target, img.prediction);
    const stacked = (key: 'target' | 'prediction'): Float32Array => f32(images.flatMap((i) => [...i[key]]));
    const pooled = acc.pooled();
    assert.equal(pooled.images, 3);
    close(pooled.dice, calcDice(stacked('target'), stacked('prediction')), 'pooled dice');
    close(pooled.softDice, calcSoftDice(stacked('target'), stacked('prediction')), 'pooled soft dice');
    // by hand: rounded predictions [1,1,0,0 | 1,0,0,0 | 0,0,0,0]: overlap 2, target 3, prediction 3
    close(pooled.dice, 4.01 / 6.01);
    const per = acc.perImage();
    close(per[0]!.dice, 4.01 / 5.01);
    close(per[1]!.dice, 0.01 / 1.01);
    close(per[2]!.dice, 1);
    close(pooled.meanDice, (4.01 / 5.01 + 0.01 / 1.01 + 1) / 3);
    assert.deepEqual(per.map((d) => d.hasTumour), [true, false, false]);
  });

  test('Dice with and without tumour pools each group on its own', () => {
    const acc = new DiceAccumulator();
    for (const img of images) acc.add(img.target, img.prediction);
    const { withTumour, withoutTumour } = acc.pooled();
    assert.equal(withTumour.images, 1);
    close(withTumour.dice, calcDice(tumour.target, tumour.prediction));
    close(withTumour.softDice, calcSoftDice(tumour.target, tumour.prediction));
    assert.equal(withoutTumour.images, 2);
    // rounded predictions of the two empty slices: one false positive in all
    close(withoutTumour.dice, 0.01 / 1.01);
    close(withoutTumour.meanDice, (0.01 / 1.01 + 1) / 2);
  });

  test('addBatch equals adding the images one by one; no images gives NaN, not 1', () => {
    const one = new DiceAccumulator();
    const batch = new DiceAccumulator();
    for (const img of images) one.add(img.target, img.prediction);
    batch.addBatch(f32(images.flatMap((i) => [...i.target])), f32(images.flatMap((i) => [...i.prediction])), 3);
    assert.deepEqual(batch.pooled(), one.pooled());
    assert.deepEqual(batch.perImage(), one.perImage());
    const none = new DiceAccumulator().pooled();
    assert.equal(none.images, 0);
    assert.ok(Number.isNaN(none.dice) && Number.isNaN(none.withTumour.softDice));
    assert.throws(() => batch.addBatch(f32([1, 0, 1]), f32([1, 0, 1]), 2), RangeError);
  });
});
