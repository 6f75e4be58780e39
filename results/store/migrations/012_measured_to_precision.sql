-- 012: points measured to a precision, in interleaved rounds (orchestrator/sweep/rounds.ts), and
-- the verdicts qualify reached. Per point: the windows its figures come from, the windows left out
-- (disturbed: foreign load, steal ... while enough clean ones remain), the seconds spent measuring
-- it, the relative half-width it aimed at, and why it stopped: 'precision' (reached),
-- 'max_repeats', 'budget', 'failed' or 'interrupted' (the sweep stopped before the point did; a
-- resumed sweep measures it again). Older points have NULLs: measured before rounds existed.
ALTER TABLE points ADD COLUMN windows INTEGER;
ALTER TABLE points ADD COLUMN windows_left_out INTEGER;
ALTER TABLE points ADD COLUMN left_out_windows TEXT;   -- JSON: the repeat numbers left out
ALTER TABLE points ADD COLUMN measure_seconds REAL;
ALTER TABLE points ADD COLUMN precision_target REAL;
ALTER TABLE points ADD COLUMN stop_reason TEXT;
-- Per instance window: the host-speed probe's mean milliseconds, before and after the window
-- (runner/measure/speed-probe.ts; NULL where none ran), for compare to set against the baseline's.
ALTER TABLE instances ADD COLUMN speed_probe_ms REAL;

-- What `sweep qualify` decided about a sweep: the baseline `latest` and the learned drift skip a
-- sweep that was itself judged a regression. One row per judgement (a --confirm re-judgement adds one).
CREATE TABLE sweep_verdicts (
  id           INTEGER PRIMARY KEY,
  sweep_id     INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  against      TEXT NOT NULL,      -- what it was judged against, in words
  verdict      TEXT NOT NULL,      -- pass | regression | inconclusive | host mismatch
  judged_at    TEXT NOT NULL
);
CREATE INDEX sweep_verdicts_sweep ON sweep_verdicts(sweep_id);
