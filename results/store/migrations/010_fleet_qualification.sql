-- 010: what qualification and the fleet need from the store.
--
-- hosts.config_json: the machine's configuration as captured with the sweep (BIOS, serials, DIMM
-- layout, SMT, turbo, governor, THP, kernel command line, NUMA balancing), a HostConfiguration
-- (common/host-config.ts) as JSON. It is part of the host's fingerprint, so a host whose BIOS or
-- DIMMs changed gets a new hosts row. NULL: recorded before 010.
ALTER TABLE hosts ADD COLUMN config_json TEXT;

-- sweeps.uid: a globally unique id, so that merging databases from many hosts matches sweeps by
-- it and never by the local integer id. Sweeps recorded before 010 get one made of what already
-- identifies them (host fingerprint, start time, local id), the same on every copy of the file,
-- so merging an old file twice still adds nothing the second time.
ALTER TABLE sweeps ADD COLUMN uid TEXT;
UPDATE sweeps SET uid = 'legacy-' || (SELECT fingerprint FROM hosts WHERE hosts.id = sweeps.host_id)
  || '-' || started_at || '-' || id;
CREATE UNIQUE INDEX sweeps_uid ON sweeps(uid);

-- sweeps.host_mismatch: the experiment's host expectations this sweep ran despite (--force), as
-- JSON [{field, expected, found}]; NULL when the experiment declares none or all were met.
ALTER TABLE sweeps ADD COLUMN host_mismatch TEXT;

-- Baselines: `sweep promote SWEEP --tag golden` names a sweep as a reference. One sweep can carry
-- several tags; a tag resolves to its newest promotion for an experiment on a host.
CREATE TABLE sweep_tags (
  sweep_id    INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  tag         TEXT NOT NULL,
  promoted_at TEXT NOT NULL,
  PRIMARY KEY (sweep_id, tag)
);
CREATE INDEX sweep_tags_tag ON sweep_tags(tag, promoted_at);
