import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBaseline } from '../results/baselines.js';
import { openStore, type Store } from '../results/store/store.js';
import { configurationFixture } from './fleet-fixtures.js';
import { matrixPoints, sweepStartFixture, topologyFixture } from './results-fixtures.js';

// "The same host" for a baseline: by the machine's DMI system UUID where both sides captured one
// (a renamed machine is still itself; another machine given the old name is not), by hostname
// and CPU model otherwise, and the baseline says which.

const dir = mkdtempSync(join(tmpdir(), 'baseline-identity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sweepOn(store: Store, hostname: string, uuid: string | null): number {
  const config = configurationFixture();
  config.system.uuid = uuid;
  const t = topologyFixture({ hostname });
  // The captured configuration is part of the host's facts: each machine gets its own host row.
  const id = store.beginSweep(sweepStartFixture({ name: 'exp', topology: { ...t, host: { ...t.host!, config } } }));
  store.recordPoints(id, matrixPoints().slice(0, 1));
  store.finishSweep(id, 'completed');
  return id;
}

describe('baseline host identity', () => {
  it('by UUID when both have one, by hostname and CPU model otherwise, and says which', () => {
    const store = openStore(join(dir, 'r.db'));
    try {
      const UUID = '4c4c4544-0042-3510-8052-b4c04f4e3732';
      const before = sweepOn(store, 'old-name', UUID);
      const imposter = sweepOn(store, 'new-name', '11111111-2222-3333-4444-555555555555');
      const renamed = sweepOn(store, 'new-name', UUID);
      const scope = (id: number) => ({ experiment: 'exp', hostname: 'new-name', cpuModel: topologyFixture().host!.cpuModel, excludeSweepId: id });
      // The renamed machine's baseline is its own earlier sweep under the old name, not the other machine now called new-name.
      const found = resolveBaseline(store, 'latest', scope(renamed));
      assert.equal(found?.sweep.id, before);
      assert.match(found!.how, / \(same host by machine UUID\)$/);
      assert.notEqual(found?.sweep.id, imposter);
      // A candidate without a UUID: hostname and CPU model.
      const noUuid = sweepOn(store, 'new-name', null);
      const byName = resolveBaseline(store, 'latest', scope(noUuid));
      assert.equal(byName?.sweep.id, renamed);
      assert.match(byName!.how, / \(same host by hostname and CPU model\)$/);
    } finally {
      store.close();
    }
  });
});
