-- 013: the `results` view gains `validity` (ok | suspect | failed) beside `status`, first after
-- the contract's columns, so a plain `SELECT * FROM results` shows a suspect point as suspect.
-- `status` keeps its contract (ok | failed: did the point run); `validity` says whether its
-- figures can be trusted: failed when it did not run, suspect when its timed window saw foreign
-- load, steal, throttling, oversubscription or another sweep (suspect_reasons), ok otherwise.
-- The view is migration 011's (as 009 defined it) plus this column, and 012's windows, measuring seconds and stop reason at its end.

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
  -- 013: what a reader must not miss, first after the contract's columns.
  CASE WHEN p.status <> 'ok' THEN 'failed'
       WHEN p.suspect_reasons <> '[]' THEN 'suspect'
       ELSE 'ok' END    AS validity,
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
  p.model_sha256        AS model_sha256,
  -- 012: how the point was measured (NULL before rounds existed).
  p.windows             AS windows,
  p.measure_seconds     AS measure_seconds,
  p.stop_reason         AS stop_reason
FROM points p
JOIN sweeps s ON s.id = p.sweep_id
JOIN hosts h ON h.id = s.host_id;
