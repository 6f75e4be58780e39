-- How much does the optimized profile (threads, affinity and allocator settings) gain over the default one, configuration by configuration? Ratios above 1 favour optimized.
-- :sweep (optional): one sweep, by id, promoted tag, name or run tag; without it, every sweep. (The BETWEEN form of that
-- filter keeps the sweep_id index usable, where ":sweep IS NULL OR sweep_id = :sweep" would scan.)
-- Pairs are found by grouping on every axis but the profile (a sort, not a quadratic self-join).
WITH pairs AS (
  SELECT sweep_id,
         max(batch_size) AS batch_size, max(instances) AS instances,
         max(cores_per_instance) AS cores_per_instance, max(binding) AS binding, max(engine) AS engine,
         max(CASE WHEN profile = 'default' THEN throughput_ips END) AS default_ips,
         max(CASE WHEN profile = 'optimized' THEN throughput_ips END) AS optimized_ips,
         max(CASE WHEN profile = 'default' THEN latency_p50_ms END) AS default_p50,
         max(CASE WHEN profile = 'optimized' THEN latency_p50_ms END) AS optimized_p50,
         max(CASE WHEN profile = 'default' THEN latency_p99_ms END) AS default_p99,
         max(CASE WHEN profile = 'optimized' THEN latency_p99_ms END) AS optimized_p99
  FROM results
  WHERE status = 'ok' AND throughput_ips > 0 AND profile IN ('optimized', 'default')
    AND sweep_id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
  GROUP BY sweep_id, json_remove(params, '$.profile')
)
SELECT sweep_id, batch_size, instances, cores_per_instance, binding, engine, default_ips, optimized_ips,
       optimized_ips / default_ips AS throughput_gain,
       default_p50 / optimized_p50 AS p50_gain,
       default_p99 / optimized_p99 AS p99_gain
FROM pairs
WHERE default_ips IS NOT NULL AND optimized_ips IS NOT NULL
ORDER BY sweep_id, batch_size, instances, cores_per_instance, binding, engine;
