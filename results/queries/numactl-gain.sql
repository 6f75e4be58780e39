-- How much does numactl binding gain over no binding, configuration by configuration? Ratios above 1 favour numactl (throughput up, latency down).
-- :sweep (optional): one sweep, by id, name or tag.
SELECT b.sweep_id, b.batch_size, b.instances, b.cores_per_instance, b.profile, b.engine,
       n.throughput_ips AS none_ips,
       b.throughput_ips AS numactl_ips,
       b.throughput_ips / n.throughput_ips AS throughput_gain,
       n.latency_p50_ms / b.latency_p50_ms AS p50_gain,
       n.latency_p99_ms / b.latency_p99_ms AS p99_gain
FROM results b
JOIN results n
  ON n.sweep_id = b.sweep_id
 AND n.binding = 'none'
 AND json_remove(n.params, '$.binding') = json_remove(b.params, '$.binding')
WHERE b.binding = 'numactl'
  AND b.status = 'ok' AND n.status = 'ok' AND n.throughput_ips > 0
  AND (:sweep IS NULL OR b.sweep_id = :sweep)
ORDER BY b.sweep_id, b.batch_size, b.instances, b.cores_per_instance, b.profile, b.engine;
