-- 014: perf counters per instance and repeat, over its timed window (docs/counters.md). One row
-- per event: its value as perf gave it (scaled by perf when multiplexed: running_pct < 100), or
-- no value with why not ('not exposed': the machine or its permissions cannot count it;
-- 'not counted': it could but never ran). A missing counter is never a zero.
ALTER TABLE instances ADD COLUMN counters_seconds REAL;   -- wall seconds the counters were enabled

CREATE TABLE instance_counters (
  id            INTEGER PRIMARY KEY,
  instance_id   INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  counter_group TEXT NOT NULL,     -- software | core | llc | numa | uncore | raw
  event         TEXT NOT NULL,     -- as perf spells it: cycles, cpu_core/cycles/, uncore_imc/cas_count_read/
  name          TEXT NOT NULL,     -- the event without PMU prefix or modifiers (cycles), what figures are computed from
  socket        INTEGER,           -- a per-socket reading's socket; null for a per-process one
  status        TEXT NOT NULL CHECK (status IN ('counted', 'not exposed', 'not counted')),
  value         REAL,
  unit          TEXT NOT NULL,
  running_pct   REAL,              -- share of the enabled time it ran; < 100: multiplexed and scaled
  reason        TEXT,
  CHECK ((status = 'counted') = (value IS NOT NULL)),
  CHECK ((status = 'counted') = (reason IS NULL))
);
CREATE INDEX instance_counters_instance ON instance_counters(instance_id);

-- Uncore (memory-controller) events count a whole socket, not a process: one system-wide perf
-- per repeat, from go until every instance's window ended, one row per socket and event (or,
-- where the machine does not expose them, one row per event with socket null and the reason).
CREATE TABLE socket_counters (
  id            INTEGER PRIMARY KEY,
  point_id      INTEGER NOT NULL REFERENCES points(id) ON DELETE CASCADE,
  repeat        INTEGER NOT NULL,
  seconds       REAL,              -- wall seconds counted (null when not counted)
  counter_group TEXT NOT NULL,
  event         TEXT NOT NULL,
  name          TEXT NOT NULL,
  socket        INTEGER,
  status        TEXT NOT NULL CHECK (status IN ('counted', 'not exposed', 'not counted')),
  value         REAL,
  unit          TEXT NOT NULL,
  running_pct   REAL,
  reason        TEXT,
  CHECK ((status = 'counted') = (value IS NOT NULL)),
  CHECK ((status = 'counted') = (reason IS NULL))
);
CREATE INDEX socket_counters_point ON socket_counters(point_id);

-- The results view as 013 defines it (validity, and 012's measuring columns), plus the counter figures of each point: IPC and remote
-- share over all its instances and repeats (sums of counts, then the ratio), the mean rates of
-- CPU migrations and context switches per instance (counts over counted seconds), and the memory
-- bandwidth of all sockets in GB/s (DRAM events' bytes over each repeat's seconds, mean over repeats).
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
  p.stop_reason         AS stop_reason,
  -- 014 (null where the counters were not exposed or not counted):
  (SELECT sum(CASE c.name WHEN 'instructions' THEN c.value END) / sum(CASE c.name WHEN 'cycles' THEN c.value END)
     FROM instances i JOIN instance_counters c ON c.instance_id = i.id
     WHERE i.point_id = p.id AND c.status = 'counted' AND c.socket IS NULL) AS ipc,
  (SELECT sum(CASE c.name WHEN 'node-load-misses' THEN c.value END) / sum(CASE c.name WHEN 'node-loads' THEN c.value END)
     FROM instances i JOIN instance_counters c ON c.instance_id = i.id
     WHERE i.point_id = p.id AND c.status = 'counted' AND c.socket IS NULL) AS remote_share,
  (SELECT sum(c.value) / sum(i.counters_seconds)
     FROM instances i JOIN instance_counters c ON c.instance_id = i.id
     WHERE i.point_id = p.id AND c.status = 'counted' AND c.name = 'cpu-migrations') AS migrations_per_s,
  (SELECT sum(c.value) / sum(i.counters_seconds)
     FROM instances i JOIN instance_counters c ON c.instance_id = i.id
     WHERE i.point_id = p.id AND c.status = 'counted' AND c.name = 'context-switches') AS context_switches_per_s,
  (SELECT sum(CASE c.unit WHEN 'MiB' THEN c.value * 1048576.0 WHEN 'GiB' THEN c.value * 1073741824.0 WHEN '' THEN c.value * 64.0 END / c.seconds)
          / count(DISTINCT c.repeat) / 1e9
     FROM socket_counters c
     WHERE c.point_id = p.id AND c.status = 'counted' AND c.socket IS NOT NULL AND c.seconds > 0
       AND (c.name IN ('cas_count_read', 'cas_count_write', 'unc_m_cas_count.rd', 'unc_m_cas_count.wr') OR c.name LIKE 'dram\_channel\_data\_controller\_%' ESCAPE '\')) AS mem_bandwidth_gbs
FROM points p
JOIN sweeps s ON s.id = p.sweep_id
JOIN hosts h ON h.id = s.host_id;
