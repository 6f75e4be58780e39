import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestImage, type GuestImage } from './cache.js';
import { qemuUnavailable, runInGuest, type GuestRunOptions, type GuestRunResult } from './guest.js';

// What the guest tests share: why they skip, the prepared image, and a run that fails the test
// with the guest's stderr and console when it ends without an exit status.

let prepared: { image?: GuestImage; skip?: string } | undefined;

/** The cached image, or why the guest tests cannot run here (no qemu, no kernel package reachable). */
export function guestSetup(): { image?: GuestImage; skip?: string } {
  if (prepared) return prepared;
  const unavailable = qemuUnavailable();
  if (unavailable) return (prepared = { skip: unavailable });
  try {
    prepared = { image: guestImage(undefined, (line) => process.stderr.write(line + '\n')) };
  } catch (err) {
    prepared = { skip: `cannot prepare the guest kernel and initramfs: ${(err as Error).message.split('\n')[0]}` };
  }
  return prepared;
}

/**
 * Runs in a guest; the guest's stderr goes to this process's stderr as it comes (progress in CI
 * logs). A guest that does not end within `timeoutMs` is booted once more, and said so: under
 * TCG here a 4-node guest once hung before its command produced anything (a clean-clone CI run,
 * 2026-12-01), where the same guest otherwise ends in about 30 s; the second boot must pass.
 */
export async function runGuest(opts: Omit<GuestRunOptions, 'image'>): Promise<GuestRunResult> {
  const { image } = guestSetup();
  if (!image) throw new Error('runGuest without a guest image');
  const run = () =>
    runInGuest({
      image,
      onStderr: (c) => process.stderr.write(c),
      log: (line) => process.stderr.write(line + '\n'),
      ...opts,
    });
  let result = await run();
  if (result.timedOut) {
    process.stderr.write(`numa-vm: the guest did not end in time (${result.failure}; qemu ${result.qemuPid} stopped): booting it once more\n`);
    result = await run();
  }
  if (result.failure) throw new Error(`guest failed: ${result.failure}\n--- stderr ---\n${result.stderr}`);
  return result;
}

/** A directory in the host's /tmp, which the guest sees at the same path; removed by the returned function. */
export function sharedTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
