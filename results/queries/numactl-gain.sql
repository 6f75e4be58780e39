-- How much does numactl binding gain over no binding, configuration by configuration? Ratios above 1 favour numactl (throughput up, latency down).
-- :sweep (optional): one sweep, by id, name or tag; without it, every sweep. (The BETWEEN form of that
-- filter keeps the sweep_id index usable, where ":sweep IS NULL OR sweep_id = :sweep" would scan.)
-- Pairs are found by grouping on every axis but the binding (a sort, not a quadratic self-join).
WITH pairs AS (
  SELECT sweep_id,
         max(batch_size) AS batch_size, max(instances) AS instances,
         max(cores_per_instance) AS cores_per_instance, max(profile) AS profile, max(engine) AS engine,
         max(CASE WHEN binding = 'none' THEN throughput_ips END) AS none_ips,
         max(CASE WHEN binding = 'numactl' THEN throughput_ips END) AS numactl_ips,
         max(CASE WHEN binding = 'none' THEN latency_p50_ms END) AS none_p50,
         max(CASE WHEN binding = 'numactl' THEN latency_p50_ms END) AS numactl_p50,
         max(CASE WHEN binding = 'none' THEN latency_p99_ms END) AS none_p99,
         max(CASE WHEN binding = 'numactl' THEN latency_p99_ms END) AS numactl_p99
  FROM results
  WHERE status = 'ok' AND throughput_ips > 0 AND binding IN ('numactl', 'none')
    AND sweep_id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
  GROUP BY sweep_id, json_remove(params, '$.binding')
)
SELECT sweep_id, batch_size, instances, cores_per_instance, profile, engine, none_ips, numactl_ips,
       numactl_ips / none_ips AS throughput_gain,
       none_p50 / numactl_p50 AS p50_gain,
       none_p99 / numactl_p99 AS p99_gain
FROM pairs
WHERE none_ips IS NOT NULL AND numactl_ips IS NOT NULL
ORDER BY sweep_id, batch_size, instances, cores_per_instance, profile, engine;
