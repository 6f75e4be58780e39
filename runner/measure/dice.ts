// Dice as the reference benchmark defines it (docs/workload.md) (calc_dice / calc_soft_dice, smooth 0.01):
//   dice      = (2 * sum(target * round(prediction)) + smooth) / (sum(target) + sum(round(prediction)) + smooth)
//   soft dice = the same without rounding.
// round is numpy's: half to even, so a prediction of exactly 0.5 counts as 0. Sums run in
// float64 (numpy sums float32 arrays in float32), which differs only in the last digits.
// "Pooled" Dice over a set of images takes the sums over the whole set, as calling calc_dice
// on the stacked arrays does; it is not the mean of per-image Dice.

export const DICE_SMOOTH = 0.01;

/** numpy.round: to the nearest integer, ties to even. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface Sums {
  /** sum(target * prediction), sum(target), sum(prediction). */
  overlap: number;
  target: number;
  prediction: number;
}

function emptySums(): Sums {
  return { overlap: 0, target: 0, prediction: 0 };
}

function ratio(s: Sums, smooth: number): number {
  return (2 * s.overlap + smooth) / (s.target + s.prediction + smooth);
}

function checkLengths(target: ArrayLike<number>, prediction: ArrayLike<number>): void {
  if (target.length !== prediction.length) {
    throw new RangeError(`Dice needs target and prediction of the same size, got ${target.length} and ${prediction.length}`);
  }
}

/** Hard Dice of the reference benchmark's calc_dice (predictions rounded). */
export function calcDice(target: ArrayLike<number>, prediction: ArrayLike<number>, smooth = DICE_SMOOTH): number {
  checkLengths(target, prediction);
  const s = emptySums();
  for (let i = 0; i < target.length; i++) {
    const t = target[i]!;
    const p = roundHalfEven(prediction[i]!);
    s.overlap += t * p;
    s.target += t;
    s.prediction += p;
  }
  return ratio(s, smooth);
}

/** Soft Dice of the reference benchmark's calc_soft_dice (predictions as they are). */
export function calcSoftDice(target: ArrayLike<number>, prediction: ArrayLike<number>, smooth = DICE_SMOOTH): number {
  checkLengths(target, prediction);
  const s = emptySums();
  for (let i = 0; i < target.length; i++) {
    const t = target[i]!;
    const p = prediction[i]!;
    s.overlap += t * p;
    s.target += t;
    s.prediction += p;
  }
  return ratio(s, smooth);
}

export interface ImageDice {
  dice: number;
  softDice: number;
  /** The target mask has at least one positive pixel. */
  hasTumour: boolean;
}

export interface DiceSummary {
  /** Pooled over the images of the group (sums over all of them, then the ratio). */
  dice: number;
  softDice: number;
  /** Mean of the per-image values. */
  meanDice: number;
  meanSoftDice: number;
  images: number;
}

export interface PooledDice extends DiceSummary {
  /** Images whose target mask is not empty. */
  withTumour: DiceSummary;
  /** Images whose target mask is empty: Dice there measures false positives (1 when none). */
  withoutTumour: DiceSummary;
}

class Group {
  readonly hard = emptySums();
  readonly soft = emptySums();
  images = 0;
  diceSum = 0;
  softDiceSum = 0;

  add(hard: Sums, soft: Sums, image: ImageDice): void {
    for (const [into, from] of [[this.hard, hard], [this.soft, soft]] as const) {
      into.overlap += from.overlap;
      into.target += from.target;
      into.prediction += from.prediction;
    }
    this.images++;
    this.diceSum += image.dice;
    this.softDiceSum += image.softDice;
  }

  summary(smooth: number): DiceSummary {
    // An empty group reports NaN rather than the smoothing artefact 1.
    const none = this.images === 0;
    return {
      dice: none ? NaN : ratio(this.hard, smooth),
      softDice: none ? NaN : ratio(this.soft, smooth),
      meanDice: none ? NaN : this.diceSum / this.images,
      meanSoftDice: none ? NaN : this.softDiceSum / this.images,
      images: this.images,
    };
  }
}

/** Adds images one at a time (or a batch of them), then reads pooled and per-image Dice. */
export class DiceAccumulator {
  private readonly all = new Group();
  private readonly tumour = new Group();
  private readonly empty = new Group();
  private readonly images: ImageDice[] = [];

  constructor(private readonly smooth = DICE_SMOOTH) {}

  /** Scores one image: target and prediction of the same size (H x W). */
  add(target: ArrayLike<number>, prediction: ArrayLike<number>): ImageDice {
    checkLengths(target, prediction);
    const hard = emptySums();
    const soft = emptySums();
    for (let i = 0; i < target.length; i++) {
      const t = target[i]!;
      const p = prediction[i]!;
      const r = roundHalfEven(p);
      hard.overlap += t * r;
      hard.prediction += r;
      soft.overlap += t * p;
      soft.prediction += p;
      soft.target += t;
    }
    hard.target = soft.target;
    const image: ImageDice = { dice: ratio(hard, this.smooth), softDice: ratio(soft, this.smooth), hasTumour: soft.target > 0 };
    this.all.add(hard, soft, image);
    (image.hasTumour ? this.tumour : this.empty).add(hard, soft, image);
    this.images.push(image);
    return image;
  }

  /** Scores `n` images laid out one after another (n x H x W each). */
  addBatch(targets: Float32Array, predictions: Float32Array, n: number): ImageDice[] {
    checkLengths(targets, predictions);
    if (n < 1 || targets.length % n !== 0) throw new RangeError(`cannot split ${targets.length} values into ${n} images`);
    const size = targets.length / n;
    const out: ImageDice[] = [];
    for (let k = 0; k < n; k++) out.push(this.add(targets.subarray(k * size, (k + 1) * size), predictions.subarray(k * size, (k + 1) * size)));
    return out;
  }

  /** Pooled Dice over every image added; NaN fields (and images 0) before the first add. */
  pooled(): PooledDice {
    return {
      ...this.all.summary(this.smooth),
      withTumour: this.tumour.summary(this.smooth),
      withoutTumour: this.empty.summary(this.smooth),
    };
  }

  /** Per-image Dice in the order added. */
  perImage(): readonly ImageDice[] {
    return this.images;
  }
}
