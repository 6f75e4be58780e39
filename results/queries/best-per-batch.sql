-- Which configuration gives the highest throughput at each batch size (per sweep), with its latency and Dice?
-- :sweep (optional): one sweep, by id, promoted tag, name or run tag; without it, every sweep. (The BETWEEN form of that
-- filter keeps the sweep_id index usable, where ":sweep IS NULL OR sweep_id = :sweep" would scan.)
WITH ranked AS (
  SELECT r.*,
         ROW_NUMBER() OVER (PARTITION BY sweep_id, batch_size ORDER BY throughput_ips DESC, point_id) AS rank,
         COUNT(*) OVER (PARTITION BY sweep_id, batch_size) AS candidates
  FROM results r
  WHERE status = 'ok' AND throughput_ips IS NOT NULL
    AND sweep_id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
)
SELECT sweep_id, sweep_name, batch_size, instances, cores_per_instance, binding, profile, engine,
       throughput_ips, latency_p50_ms, latency_p99_ms, dice, candidates
FROM ranked
WHERE rank = 1
ORDER BY sweep_id, batch_size;
