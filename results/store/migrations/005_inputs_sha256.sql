-- 005: what a sweep measured with: the SHA-256 of its model and of its data file, so `compare`
-- and `--resume` can tell when the same point keys were measured on a different model or data.
-- A model file is hashed byte for byte; a builtin model (`builtin:NAME?options`) has no file,
-- so its hash is that of its canonical spec string (options sorted by name). NULL: stored before 005.

ALTER TABLE sweeps ADD COLUMN model_sha256 TEXT;
ALTER TABLE sweeps ADD COLUMN data_sha256 TEXT;
