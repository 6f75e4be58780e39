-- How much does the optimized profile (threads, affinity and allocator settings) gain over the default one, configuration by configuration? Ratios above 1 favour optimized.
-- :sweep (optional): one sweep, by id, name or tag.
SELECT o.sweep_id, o.batch_size, o.instances, o.cores_per_instance, o.binding, o.engine,
       d.throughput_ips AS default_ips,
       o.throughput_ips AS optimized_ips,
       o.throughput_ips / d.throughput_ips AS throughput_gain,
       d.latency_p50_ms / o.latency_p50_ms AS p50_gain,
       d.latency_p99_ms / o.latency_p99_ms AS p99_gain
FROM results o
JOIN results d
  ON d.sweep_id = o.sweep_id
 AND d.profile = 'default'
 AND json_remove(d.params, '$.profile') = json_remove(o.params, '$.profile')
WHERE o.profile = 'optimized'
  AND o.status = 'ok' AND d.status = 'ok' AND d.throughput_ips > 0
  AND (:sweep IS NULL OR o.sweep_id = :sweep)
ORDER BY o.sweep_id, o.batch_size, o.instances, o.cores_per_instance, o.binding, o.engine;
