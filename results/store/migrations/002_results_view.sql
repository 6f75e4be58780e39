-- 002: the `results` view (one row per point, the columns of the documented contract first, docs/architecture.md) and the
-- indexes its usual filters need.

CREATE INDEX points_sweep_status ON points(sweep_id, status);
CREATE INDEX instances_point ON instances(point_id);

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
  p.ended_at            AS ended_at
FROM points p
JOIN sweeps s ON s.id = p.sweep_id
JOIN hosts h ON h.id = s.host_id;
