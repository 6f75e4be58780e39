import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { concurrentSweepReasons, runningSweeps, SweepRegistration } from '../orchestrator/sweep-lock.js';

// The host-wide sweep registry (orchestrator/sweep-lock.ts) in a folder of its own: who is
// running, refusal, overlap, and entries of processes that are gone.

const dir = mkdtempSync(join(tmpdir(), 'host-registry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('one sweep per host', () => {
  test('a second claim is refused naming the first; --allow-concurrent registers both, and each sees the other', () => {
    const reg = join(dir, 'a');
    const first = SweepRegistration.claim('/data/first.db', false, reg);
    first.setSweepId(7);
    assert.throws(
      () => SweepRegistration.claim('/data/second.db', false, reg),
      (e: unknown) => e instanceof UserError && new RegExp(`^another sweep is running on this host: sweep 7 of /data/first\\.db \\(pid ${process.pid}, started `).test(e.message),
    );
    assert.equal(readdirSync(reg).length, 1, 'the refused claim left nothing behind');
    const second = SweepRegistration.claim('/data/second.db', true, reg);
    second.setSweepId(1);
    assert.equal(runningSweeps(reg).length, 2);
    const now = Date.now();
    assert.match(concurrentSweepReasons(first, now - 1000, now + 1000)[0] ?? '', /^another sweep ran on this host during this point: sweep 1 of \/data\/second\.db/);
    assert.match(concurrentSweepReasons(second, now - 1000, now + 1000)[0] ?? '', /sweep 7 of \/data\/first\.db/);
    second.release();
    first.release();
    assert.equal(runningSweeps(reg).length, 0);
    // Ended entries stay for overlap checks: a point that spanned their lifetime still sees them.
    assert.equal(first.othersDuring(now - 1000, now + 1000).length, 1);
    assert.equal(first.othersDuring(Date.now() + 1000, Date.now() + 2000).length, 0, 'a later point does not');
  });

  test('a registered process that is gone, or whose pid was reused, does not block', () => {
    const reg = join(dir, 'b');
    const mine = SweepRegistration.claim('/data/x.db', false, reg);
    // pid 1 lives, but it did not start when this entry says: a reused pid.
    const entry = { pid: 1, pid_start: 'not-its-start', sweep_id: 3, db: '/data/old.db', started_ms: Date.now() - 5000, ended_ms: null, allow_concurrent: false };
    writeFileSync(join(reg, 'stale.json'), JSON.stringify(entry));
    assert.deepEqual(runningSweeps(reg).map((o) => o.db), ['/data/x.db']);
    mine.release();
    assert.equal(readdirSync(reg).filter((n) => n !== 'stale.json').length, 0, 'a sweep that never got a record leaves nothing');
  });
});
