// Multi-instance throughput over the common window: the interval where every instance of a
// repeat was measuring (latest window start to earliest window end, wall clock). Each instance's
// images are counted inside it from its per-batch completion times: a batch's images are spread
// evenly over the time from the previous batch's end (the window's start for the first) to its
// own end, so whole batches inside count whole and the two cut by the window's edges count pro
// rata. Instances measured over different stretches of time are thus never added up.

/** One instance's timed window as the runner reported it (wall-clock ms; batch ends after its start). */
export interface InstanceTimeline {
  start_ms: number;
  end_ms: number;
  batch_size: number;
  batch_end_ms: readonly number[];
}

/** Images an instance completed within [from, to] (wall-clock ms), pro rata for the batches cut by either edge. */
export function imagesWithin(t: InstanceTimeline, from: number, to: number): number {
  let images = 0;
  let batchStart = t.start_ms;
  for (const offset of t.batch_end_ms) {
    const batchEnd = t.start_ms + offset;
    const length = batchEnd - batchStart;
    const inside = Math.min(batchEnd, to) - Math.max(batchStart, from);
    if (length > 0 && inside > 0) images += (t.batch_size * inside) / length;
    batchStart = batchEnd;
  }
  return images;
}

export interface CommonWindow {
  start_ms: number;
  end_ms: number;
  /** Images per second of each instance inside the common window, in the order given. */
  instance_ips: number[];
  /** Their sum: the repeat's throughput. */
  throughput_ips: number;
}

/** The common window of a repeat's instances and what each did in it; null when the windows do not overlap. */
export function commonWindow(instances: readonly InstanceTimeline[]): CommonWindow | null {
  if (instances.length === 0) return null;
  const start = Math.max(...instances.map((t) => t.start_ms));
  // An instance's last batch end is where its counted work stops (the window may close a little later).
  const end = Math.min(...instances.map((t) => t.start_ms + (t.batch_end_ms.at(-1) ?? 0)));
  if (!(end > start)) return null;
  const seconds = (end - start) / 1000;
  const instance_ips = instances.map((t) => imagesWithin(t, start, end) / seconds);
  return { start_ms: start, end_ms: end, instance_ips, throughput_ips: instance_ips.reduce((a, b) => a + b, 0) };
}

/**
 * Rates of equal time slices of the common window (images/s, all instances together): the
 * samples of the batch-means interval. Their mean equals the window's throughput. `slices` is
 * chosen by the caller so that each slice spans whole batches.
 */
export function sliceRates(instances: readonly InstanceTimeline[], window: { start_ms: number; end_ms: number }, slices: number): number[] {
  const length = (window.end_ms - window.start_ms) / slices;
  return Array.from({ length: slices }, (_, j) => {
    const from = window.start_ms + j * length;
    const to = from + length;
    return instances.reduce((sum, t) => sum + imagesWithin(t, from, to), 0) / (length / 1000);
  });
}

/** Fewest batches any instance completed inside the window (decides how many slices the interval may use). */
export function fewestBatchesWithin(instances: readonly InstanceTimeline[], window: { start_ms: number; end_ms: number }): number {
  return Math.min(...instances.map((t) => imagesWithin(t, window.start_ms, window.end_ms) / t.batch_size));
}
