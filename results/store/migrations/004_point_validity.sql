-- 004: what makes a point's figures trustworthy: the throughput's confidence interval, why the
-- point is suspect (foreign load, throttling, oversubscription, a concurrent sweep), the
-- multi-instance balance over the common window, the validity monitors of each instance and the
-- number of images Dice was scored on. The `results` view gains them after its existing columns.

ALTER TABLE points ADD COLUMN throughput_ci_low REAL;
ALTER TABLE points ADD COLUMN throughput_ci_high REAL;
ALTER TABLE points ADD COLUMN throughput_ci_method TEXT;       -- 'repeats' | 'batch-means'
ALTER TABLE points ADD COLUMN throughput_ci_samples INTEGER;   -- repeats, or batch-means blocks
ALTER TABLE points ADD COLUMN suspect_reasons TEXT NOT NULL DEFAULT '[]';  -- JSON string[]; [] = not suspect
ALTER TABLE points ADD COLUMN dice_images INTEGER;             -- images each instance scored (the declared set)
ALTER TABLE points ADD COLUMN imbalance_ratio REAL;            -- slowest / fastest instance over the common window
ALTER TABLE points ADD COLUMN balance TEXT;                    -- JSON {instance_ips, slowest_fastest, node_ips}; null: 1 instance

ALTER TABLE instances ADD COLUMN dice_images INTEGER;
ALTER TABLE instances ADD COLUMN batch_ends BLOB;              -- per-batch completion, ms after window start, float32
ALTER TABLE instances ADD COLUMN common_throughput_ips REAL;   -- images completed inside the common window / its length
ALTER TABLE instances ADD COLUMN cpu_time_ms REAL;             -- the runner's own CPU time in its window (all threads)
ALTER TABLE instances ADD COLUMN foreign_cpu_fraction REAL;    -- others' CPU time on its CPUs / (window x CPUs)
ALTER TABLE instances ADD COLUMN steal_fraction REAL;          -- steal time on its CPUs / (window x CPUs)
ALTER TABLE instances ADD COLUMN cpu_mhz_avg REAL;             -- sampled average frequency of its CPUs; null: not exposed
ALTER TABLE instances ADD COLUMN cpu_mhz_source TEXT;          -- 'cpufreq' | 'cpuinfo'
ALTER TABLE instances ADD COLUMN throttle_events INTEGER;      -- thermal throttle counter increase; null: not exposed
ALTER TABLE instances ADD COLUMN governor TEXT;                -- cpufreq governor; null: not exposed
ALTER TABLE instances ADD COLUMN threads_total INTEGER;        -- threads in /proc/<pid>/task at the window's end
ALTER TABLE instances ADD COLUMN threads_busy INTEGER;         -- threads that did the work (>= 25 % of the busiest's time)
ALTER TABLE instances ADD COLUMN allowed_cpu_count INTEGER;    -- CPUs in its affinity mask

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
  p.suspect_reasons     AS suspect_reasons
FROM points p
JOIN sweeps s ON s.id = p.sweep_id
JOIN hosts h ON h.id = s.host_id;
