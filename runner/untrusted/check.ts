import { UserError } from '../../common/errors.js';
import type { Split } from '../job.js';
import { SPLITS } from '../data/layout.js';
import { describeData, readSlices } from '../data/decathlon.js';
import { loadModel } from '../model/presets.js';
import { readManifest } from '../data/prepare/manifest.js';
import { openTask } from '../data/prepare/task-source.js';

// What the first read of an untrusted file does, run inside the bounded child process
// (bounded.ts): the whole model as a runner would load it, or the data file's layout and the
// first and last row of each split asked for (every chunk index a runner walks starts there),
// or a Decathlon task's index (a .tar's member headers) and its dataset.json.

export type ReadCheck =
  | { kind: 'model'; spec: string; baseDir: string }
  | { kind: 'data'; path: string; splits: Split[] | 'all' }
  | { kind: 'task'; path: string };

/** What each check reads, in words for the error that names a read that did not finish. */
export function describeCheck(check: ReadCheck): string {
  if (check.kind === 'model') return 'its architecture and weights';
  if (check.kind === 'task') return 'its index and dataset.json';
  return 'its datasets and their first and last rows';
}

export async function runCheck(check: ReadCheck): Promise<void> {
  if (check.kind === 'model') {
    await loadModel(check.spec, check.baseDir);
    return;
  }
  if (check.kind === 'task') {
    readManifest(openTask(check.path));
    return;
  }
  const info = await describeData(check.path);
  const wanted = check.splits === 'all' ? SPLITS : check.splits;
  for (const split of wanted) {
    const found = info.splits.find((s) => s.split === split);
    // A missing split is reported by the caller's own read, in its own words.
    if (!found || found.count === 0) continue;
    await readSlices(check.path, split, 0, 1);
    if (found.count > 1) await readSlices(check.path, split, found.count - 1, 1);
  }
}

/** The check's answer on the child's stdout: nothing wrong, or the UserError it met, as data. */
export type CheckAnswer =
  | { ok: true }
  | { ok: false; userError: boolean; message: string; location?: UserError['location']; value?: unknown; hint?: string };

export function answerOf(err: unknown): CheckAnswer {
  if (err instanceof UserError) return { ok: false, userError: true, message: err.message, location: err.location, value: err.value, hint: err.hint };
  return { ok: false, userError: false, message: err instanceof Error ? err.message : String(err) };
}
