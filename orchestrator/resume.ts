import { UserError } from '../common/errors.js';
import type { Topology } from '../common/topology.js';
import { differences, type FieldDifference } from '../results/compare.js';
import type { Store, SweepRecord } from '../results/store/store.js';
import { compareHosts, describeHostDifferences, hostFingerprint } from '../results/store/host.js';
import type { InputHashes } from './inputs-hash.js';
import { engineVersions, toolVersion } from './software.js';

// `sweep --resume SWEEP`: whether an ended sweep may be continued with this experiment here.

/**
 * The sweep `ref` names, if it may be resumed with this experiment on this machine: ended (not
 * running), run from the same YAML (same SHA-256) on the same model and data (same SHA-256s)
 * with the same tool and engine versions on the same machine with the same measurement
 * configuration (allowed CPUs and memory nodes, numactl), so the points added measure what the
 * stored ones measured. Other host changes (kernel, microcode, memory within tolerance) go to `note`.
 * `inputs` null: the model and data are not checked (the sweep checks once early, before the
 * data exists, and again with them).
 */
export function resumableSweep(
  store: Store,
  ref: string,
  file: string,
  sha256: string,
  topo: Topology,
  inputs: InputHashes | null,
  note: (line: string) => void,
): SweepRecord {
  const prior = store.findSweep(ref);
  const where = { file: store.path };
  if (prior.status === 'running') {
    throw new UserError(`sweep ${prior.id} is still running`, { location: where, value: ref, hint: 'wait for it to end, or stop it (Ctrl-C) and resume it then' });
  }
  if (prior.experiment_sha256 !== sha256) {
    throw new UserError(`the experiment is not the one sweep ${prior.id} ran`, {
      location: where,
      value: file,
      hint: `sweep ${prior.id} ran ${prior.experiment_file} (sha256 ${prior.experiment_sha256.slice(0, 12)}), this file has sha256 ${sha256.slice(0, 12)}; resume with the same YAML, or start a new sweep`,
    });
  }
  // Points added later must measure what the stored ones measured: same software, same machine.
  const changed = (kind: string, found: FieldDifference[]): void => {
    if (found.length === 0) return;
    throw new UserError(`sweep ${prior.id} was measured ${kind}`, {
      location: where,
      value: ref,
      hint: `changed since: ${found.map((d) => `${d.field} ${JSON.stringify(d.a)} -> ${JSON.stringify(d.b)}`).join('; ')}; start a new sweep and compare the two`,
    });
  };
  // A sweep stored before the inputs were hashed (null) cannot be checked, and is not refused for it.
  if (inputs !== null) {
    const storedInputs = { model_sha256: prior.model_sha256 ?? inputs.model_sha256, data_sha256: prior.data_sha256 ?? inputs.data_sha256 };
    changed('on another model or data', differences<InputHashes>(storedInputs, inputs, ['model_sha256', 'data_sha256']));
  }
  const software = { tool_version: toolVersion(), engine_versions: engineVersions() };
  changed('with other software', differences({ tool_version: prior.tool_version, engine_versions: prior.engine_versions }, software, ['tool_version', 'engine_versions']));
  // The machine and what the measurement depends on must match; the rest is only reported.
  const host = compareHosts(store.getHost(prior.host_id), hostFingerprint(topo));
  changed('on another machine', host.filter((d) => d.kind === 'machine'));
  changed('with a configuration that affects the measurement', host.filter((d) => d.kind === 'measurement'));
  const configuration = host.filter((d) => d.kind === 'configuration');
  if (configuration.length > 0) {
    note(`resuming on the same machine; its configuration changed in ways that do not affect the measurement: ${describeHostDifferences(configuration)}`);
  }
  return prior;
}
