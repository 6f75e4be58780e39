-- 009: how long each runner took to get ready, and from what: the orchestrator's spawn-to-ready
-- time, the runner's own load and warm-up seconds, and the prepared model file it loaded (null:
-- it converted the model spec itself). Rows written before this migration hold nulls.

ALTER TABLE instances ADD COLUMN spawn_to_ready_s REAL;
ALTER TABLE instances ADD COLUMN load_seconds REAL;
ALTER TABLE instances ADD COLUMN warmup_seconds REAL;
ALTER TABLE instances ADD COLUMN model_file TEXT;
