-- 006: a point is identified by its DECLARED axis values (its key says `cpi=auto`, not the cores
-- that resolved to), so one experiment run on hosts of different sizes gives the same keys.
-- What the declared values resolved to on this host is stored beside them: `params` and
-- `cores_per_instance` (already there), and the CPUs and memory nodes its instances were given.
-- A sweep also keeps the points it skipped and why, so `compare` can say why a point is missing.
-- Points stored before 006 have NULL here and keys of the resolved values.

ALTER TABLE points ADD COLUMN declared TEXT;     -- JSON: the axis values as declared (cores_per_instance may be "auto" or "node")
ALTER TABLE points ADD COLUMN cpus TEXT;         -- CPU list of all its instances, e.g. "0-1"
ALTER TABLE points ADD COLUMN nodes TEXT;        -- memory nodes of all its instances, e.g. "0"

ALTER TABLE sweeps ADD COLUMN skipped TEXT NOT NULL DEFAULT '[]';  -- JSON [{key, reason}]: points the host could not hold
