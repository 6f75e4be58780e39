-- How much does numactl binding gain over no binding, configuration by configuration? Ratios above 1 favour numactl (throughput up, latency down).
-- :sweep (optional): one sweep, by id, promoted tag, name or run tag; without it, every sweep. (The BETWEEN form of that
-- filter keeps the sweep_id index usable, where ":sweep IS NULL OR sweep_id = :sweep" would scan.)
-- A pair is an unbound point and a numactl-bound one that differ only in the binding and the cores
-- per instance the binding gives them: unbound on the machine against bound on one node, at the
-- same batch size, instances, profile and engine (the way experiments/xeon-8380.yaml is written:
-- 80 cores unbound, 40 bound). Where a configuration has several points of one binding, the one
-- with the most cores per instance stands for it (the whole machine; the whole node). Pairs are
-- found by grouping on every other axis (a sort, not a quadratic self-join).
WITH ranked AS (
  SELECT sweep_id, batch_size, instances, cores_per_instance, binding, profile, engine,
         throughput_ips, latency_p50_ms, latency_p99_ms,
         json_remove(params, '$.binding', '$.cores_per_instance') AS configuration,
         row_number() OVER (PARTITION BY sweep_id, json_remove(params, '$.binding', '$.cores_per_instance'), binding
                            ORDER BY cores_per_instance DESC, point_id) AS rank
  FROM results
  WHERE status = 'ok' AND throughput_ips > 0 AND binding IN ('numactl', 'none')
    AND sweep_id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
),
pairs AS (
  SELECT sweep_id,
         max(batch_size) AS batch_size, max(instances) AS instances, max(profile) AS profile, max(engine) AS engine,
         max(CASE WHEN binding = 'none' THEN cores_per_instance END) AS none_cores,
         max(CASE WHEN binding = 'numactl' THEN cores_per_instance END) AS numactl_cores,
         max(CASE WHEN binding = 'none' THEN throughput_ips END) AS none_ips,
         max(CASE WHEN binding = 'numactl' THEN throughput_ips END) AS numactl_ips,
         max(CASE WHEN binding = 'none' THEN latency_p50_ms END) AS none_p50,
         max(CASE WHEN binding = 'numactl' THEN latency_p50_ms END) AS numactl_p50,
         max(CASE WHEN binding = 'none' THEN latency_p99_ms END) AS none_p99,
         max(CASE WHEN binding = 'numactl' THEN latency_p99_ms END) AS numactl_p99
  FROM ranked
  WHERE rank = 1
  GROUP BY sweep_id, configuration
)
SELECT sweep_id, batch_size, instances, profile, engine, none_cores, numactl_cores, none_ips, numactl_ips,
       numactl_ips / none_ips AS throughput_gain,
       none_p50 / numactl_p50 AS p50_gain,
       none_p99 / numactl_p99 AS p99_gain
FROM pairs
WHERE none_ips IS NOT NULL AND numactl_ips IS NOT NULL
ORDER BY sweep_id, batch_size, instances, profile, engine;
