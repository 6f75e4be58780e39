-- 008: how long each runner took to get ready, and from what: the orchestrator's spawn-to-ready
-- time, the runner's own load and warm-up seconds, and the prepared model file it loaded (null:
-- it converted the model spec itself). Rows written before this migration hold nulls.

ALTER TABLE instances ADD COLUMN spawn_to_ready_s REAL;
ALTER TABLE instances ADD COLUMN load_seconds REAL;
ALTER TABLE instances ADD COLUMN warmup_seconds REAL;
ALTER TABLE instances ADD COLUMN model_file TEXT;

-- A point's precision (fp32 unless the matrix says int8) and, for int8, its Dice guard: the fp32
-- model's hard Dice on the images the point scored, the change, and how it was calibrated (JSON).
ALTER TABLE points ADD COLUMN precision TEXT NOT NULL DEFAULT 'fp32';
ALTER TABLE points ADD COLUMN dice_fp32 REAL;
ALTER TABLE points ADD COLUMN dice_change REAL;
ALTER TABLE points ADD COLUMN calibration TEXT;
