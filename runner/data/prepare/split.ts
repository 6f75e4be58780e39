import type { Split } from '../../job.js';

// The split by patient of the IntelAI/unet 2D preparation, draw for draw: numpy's legacy global
// generator (np.random.seed(seed), Mersenne Twister MT19937) gives one uniform number per
// labelled case; a case below the train fraction trains; the others get a second draw each,
// in order: validation at 0.5 and above, testing below. Cases keep ascending order in a split.

const N = 624;
const M = 397;

/** MT19937 (Matsumoto & Nishimura), seeded from one 32-bit integer as numpy seeds it from an int. */
export class MersenneTwister {
  private readonly mt = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1]! ^ (this.mt[i - 1]! >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % N]! & 0x7fffffff);
      mt[i] = mt[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  nextU32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** numpy's random_sample(): a double in [0, 1) with 53 random bits from two draws. */
  nextDouble(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
}

/** The reference's seed and train fraction. */
export const DEFAULT_SPLIT_SEED = 816;
export const DEFAULT_TRAIN_FRACTION = 0.85;

/** Indices 0..count-1 by split. */
export function splitPatients(count: number, seed: number, trainFraction: number): Record<Split, number[]> {
  const rng = new MersenneTwister(seed);
  const first = Array.from({ length: count }, () => rng.nextDouble());
  const train: number[] = [];
  const other: number[] = [];
  first.forEach((r, i) => (r < trainFraction ? train : other).push(i));
  const second = other.map(() => rng.nextDouble());
  return {
    train,
    validation: other.filter((_, k) => second[k]! >= 0.5),
    testing: other.filter((_, k) => second[k]! < 0.5),
  };
}
