-- How well does throughput scale with instances? Each point against the one with the fewest instances of the same configuration otherwise; efficiency = throughput per core relative to that baseline (1.0 = perfect).
-- :sweep (optional): one sweep, by id, promoted tag, name or run tag; without it, every sweep. (The BETWEEN form of that
-- filter keeps the sweep_id index usable, where ":sweep IS NULL OR sweep_id = :sweep" would scan.)
WITH ok AS (
  SELECT r.*,
         instances * cores_per_instance AS cores,
         -- every axis but the two that scale, so extra matrix axes never mix
         json_remove(params, '$.instances', '$.cores_per_instance') AS config
  FROM results r
  WHERE status = 'ok' AND throughput_ips > 0
    AND sweep_id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
)
SELECT sweep_id, batch_size, binding, profile, engine, instances, cores_per_instance, cores,
       throughput_ips,
       FIRST_VALUE(instances) OVER w AS base_instances,
       throughput_ips / FIRST_VALUE(throughput_ips) OVER w AS speedup,
       (throughput_ips / cores) / (FIRST_VALUE(throughput_ips) OVER w / FIRST_VALUE(cores) OVER w) AS efficiency
FROM ok
WINDOW w AS (PARTITION BY sweep_id, config ORDER BY instances, cores_per_instance DESC
             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
ORDER BY sweep_id, batch_size, binding, profile, engine, instances, cores_per_instance;
