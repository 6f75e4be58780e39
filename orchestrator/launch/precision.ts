import { mean } from '../../common/stats.js';
import type { PointParams } from '../plan.js';
import type { PrecisionFigures } from '../../results/types.js';
import type { RunnerResult } from '../../runner/job.js';
import { precisionOf } from '../model-cache.js';

// A point's precision and, for a quantized one, its Dice guard: the fp32 model's hard Dice on the
// images each instance scored (the runner computes it before the barrier) and the change, the
// mean over instances and repeats of (own Dice - fp32 Dice on the same images).

export function precisionFigures(params: PointParams, repeats: RunnerResult[][]): PrecisionFigures {
  const results = repeats.flat();
  const compared = results.filter((r) => r.dice_reference !== undefined);
  return {
    precision: precisionOf(params),
    dice_fp32: compared.length > 0 ? mean(compared.map((r) => r.dice_reference!.dice)) : null,
    dice_change: compared.length > 0 ? mean(compared.map((r) => r.dice - r.dice_reference!.dice)) : null,
    calibration: results.find((r) => r.calibration)?.calibration ?? null,
  };
}

/** "int8: Dice 0.9772, fp32 on the same images 0.9771, change +0.0001 (calibration: 32 validation images, minmax)". */
export function diceGuardLine(f: PrecisionFigures, dice: number | null): string | null {
  if (f.dice_fp32 === null || f.dice_change === null || dice === null) return null;
  const sign = f.dice_change >= 0 ? '+' : '';
  const cal = f.calibration ? ` (calibrated on ${f.calibration.images} ${f.calibration.split} images, ${f.calibration.method})` : '';
  return `${f.precision}: Dice ${dice.toFixed(4)}, fp32 on the same images ${f.dice_fp32.toFixed(4)}, change ${sign}${f.dice_change.toFixed(4)}${cal}`;
}
