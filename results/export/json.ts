import type { Exporter } from './exporter.js';
import { validityOf } from '../sweep-tally.js';

// Everything about a sweep in one document: the sweep (experiment text included), its host's
// fingerprint, and each point with its instances and their runner results (latency samples too).
// Each point says its validity (ok | suspect | failed, as the `results` view), beside its
// suspect_reasons and its throughput_ci.

export const SWEEP_EXPORT_FORMAT = 'numa-sweep/sweep-export@1';

export const jsonExporter: Exporter = {
  format: 'json',
  extension: '.json',
  render(store, sweep) {
    const { host_id: _hostId, ...sweepFields } = sweep;
    const { id: _id, ...host } = store.getHost(sweep.host_id);
    const points = store.pointsOf(sweep.id).map(({ sweep_id: _s, id, ...point }) => ({
      validity: validityOf(point),
      ...point,
      instances: store.instancesOf(id).map(({ id: _i, point_id: _p, ...instance }) => instance),
    }));
    return JSON.stringify({ format: SWEEP_EXPORT_FORMAT, sweep: sweepFields, host, points }, null, 2) + '\n';
  },
};
