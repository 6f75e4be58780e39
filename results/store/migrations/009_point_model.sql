-- 009: the model axis. Each point stores the model it ran: its short id (the value of `model=` in
-- the keys of an experiment with a model axis; orchestrator/experiment/models.ts) and the SHA-256
-- of its file, or of a builtin's canonical spec string, as migration 005 hashes the sweep's model.
-- With one model, points.model_sha256 equals sweeps.model_sha256; with several, the sweep's is
-- the hash of the models' "ID SHA256" lines, sorted by id, and each point says which it ran.
-- NULL: stored before 009. The `results` view gains both after its existing columns, and the
-- precision points have stored since 008.

ALTER TABLE points ADD COLUMN model TEXT;
ALTER TABLE points ADD COLUMN model_sha256 TEXT;

DROP VIEW results;
CREATE VIEW results AS
SELECT
  s.id                  AS sweep_id,
  s.name                AS sweep_name,
  s.tag                 AS tag,
  h.hostname            AS host,
  p.key                 AS point_key,
  p.status              AS status,
  p.batch_size          AS batch_size,
  p.instances           AS instances,
  p.cores_per_instance  AS cores_per_instance,
  p.binding             AS binding,
  p.profile             AS profile,
  p.engine              AS engine,
  p.throughput_ips      AS throughput_ips,
  p.latency_p50_ms      AS latency_p50_ms,
  p.latency_p90_ms      AS latency_p90_ms,
  p.latency_p99_ms      AS latency_p99_ms,
  p.dice                AS dice,
  p.started_at          AS started_at,
  -- Extra columns, after the contract's:
  p.id                  AS point_id,
  p.smt                 AS smt,
  p.soft_dice           AS soft_dice,
  p.latency_mean_ms     AS latency_mean_ms,
  p.latency_max_ms      AS latency_max_ms,
  p.params              AS params,
  p.error               AS error,
  p.ended_at            AS ended_at,
  -- 004:
  p.dice_images         AS dice_images,
  (p.suspect_reasons <> '[]') AS suspect,
  p.throughput_ci_low   AS throughput_ci_low,
  p.throughput_ci_high  AS throughput_ci_high,
  p.throughput_ci_method AS throughput_ci_method,
  p.imbalance_ratio     AS imbalance_ratio,
  p.suspect_reasons     AS suspect_reasons,
  -- 008 and 009:
  p.precision           AS precision,
  p.model               AS model,
  p.model_sha256        AS model_sha256
FROM points p
JOIN sweeps s ON s.id = p.sweep_id
JOIN hosts h ON h.id = s.host_id;
