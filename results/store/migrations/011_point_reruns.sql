-- 011: points measured twice in one sweep. `sweep qualify --confirm` measures a regressed or
-- suspect point once more before judging: the new measurement replaces the point (its row and
-- instances), and the first one is kept here, with why it was measured again, so the sweep says
-- what it first saw and a transient stays on record.
CREATE TABLE point_reruns (
  id           INTEGER PRIMARY KEY,
  sweep_id     INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  key          TEXT NOT NULL,
  reason       TEXT NOT NULL,   -- the first verdict's reason
  first        TEXT NOT NULL,   -- JSON: the first measurement's figures (status, error, throughput and
                                -- its interval, p50/p99, Dice, suspect reasons, started_at, ended_at)
  replaced_at  TEXT NOT NULL
);
CREATE INDEX point_reruns_sweep ON point_reruns(sweep_id, key);
