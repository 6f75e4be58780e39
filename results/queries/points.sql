-- What did each point of a sweep measure? Its configuration, status, throughput with its 95% interval, latency percentiles, Dice (and over how many images), what the validity monitors saw (worst instance's foreign load, average MHz, busy threads per allowed CPU), its perf counters (IPC, remote share of DRAM loads, CPU migrations and context switches per second per instance, memory bandwidth of all sockets: null where not exposed, docs/counters.md), whether it is suspect, and why it failed, is suspect or what to watch (warnings), in the order the points ran.
-- :sweep (optional): one sweep, by id, name or tag; without it, every sweep, newest first.
SELECT r.sweep_id, r.point_key, r.status, r.throughput_ips, r.throughput_ci_low, r.throughput_ci_high, r.throughput_ci_method,
       r.latency_p50_ms, r.latency_p90_ms, r.latency_p99_ms,
       r.dice, r.soft_dice, r.dice_images,
       (SELECT max(i.foreign_cpu_fraction) FROM instances i WHERE i.point_id = r.point_id) AS foreign_load_max,
       (SELECT avg(i.cpu_mhz_avg) FROM instances i WHERE i.point_id = r.point_id) AS cpu_mhz,
       (SELECT i.threads_busy || '/' || i.allowed_cpu_count FROM instances i WHERE i.point_id = r.point_id AND i.threads_busy IS NOT NULL
         ORDER BY 1.0 * i.threads_busy / i.allowed_cpu_count DESC LIMIT 1) AS threads_per_cpu,
       r.ipc, r.remote_share, r.migrations_per_s, r.context_switches_per_s, r.mem_bandwidth_gbs,
       r.imbalance_ratio, r.suspect,
       coalesce(r.error, (SELECT group_concat(x.value, '; ') FROM
         (SELECT 'suspect: ' || s.value AS value FROM points p, json_each(p.suspect_reasons) s WHERE p.id = r.point_id
          UNION ALL SELECT w.value FROM points p, json_each(p.warnings) w WHERE p.id = r.point_id) x)) AS note
FROM results r
WHERE r.sweep_id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
ORDER BY r.sweep_id DESC, r.point_id;
