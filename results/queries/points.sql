-- What did each point of a sweep measure? Its configuration, status and validity (ok, suspect or failed), throughput rounded to its 95% interval (img_s 48.0, ci95_img_s ±1.8: images/s) and what the interval was computed over, latency percentiles (ms, 3 significant digits), Dice (and over how many images), what the validity monitors saw (worst instance's foreign load in %, average MHz, busy threads per allowed CPU), the windows it was measured in, the seconds that took and why it stopped (precision, max_repeats, budget, failed, interrupted), its perf counters (IPC, remote share of DRAM loads, CPU migrations and context switches per second per instance, memory bandwidth of all sockets: null where not exposed, docs/counters.md), and why it failed, is suspect or what to watch (warnings), in the order the points ran. Full-precision figures: the results view, or sweep export.
-- :sweep (optional): one sweep, by id, promoted tag, name or run tag; without it, every sweep, newest first.
SELECT r.sweep_id, r.point_key, r.status, r.validity,
       CASE WHEN r.throughput_ips IS NULL THEN NULL
            WHEN r.half > 0 THEN printf('%.*f', r.d, r.throughput_ips)
            ELSE printf('%.*f', max(0, 2 - floor(log10(r.throughput_ips))), r.throughput_ips) END AS img_s,
       CASE WHEN r.throughput_ips IS NOT NULL AND r.half > 0 THEN printf('±%.*f', r.d, r.half) END AS ci95_img_s,
       r.throughput_ci_method AS ci_method,
       round(r.latency_p50_ms, max(0, 2 - floor(log10(r.latency_p50_ms)))) AS p50_ms,
       round(r.latency_p90_ms, max(0, 2 - floor(log10(r.latency_p90_ms)))) AS p90_ms,
       round(r.latency_p99_ms, max(0, 2 - floor(log10(r.latency_p99_ms)))) AS p99_ms,
       round(r.dice, 4) AS dice, round(r.soft_dice, 4) AS soft_dice, r.dice_images,
       (SELECT round(100 * max(i.foreign_cpu_fraction), 1) FROM instances i WHERE i.point_id = r.point_id) AS foreign_pct,
       (SELECT round(avg(i.cpu_mhz_avg)) FROM instances i WHERE i.point_id = r.point_id) AS mhz,
       (SELECT i.threads_busy || '/' || i.allowed_cpu_count FROM instances i WHERE i.point_id = r.point_id AND i.threads_busy IS NOT NULL
         ORDER BY 1.0 * i.threads_busy / i.allowed_cpu_count DESC LIMIT 1) AS threads_per_cpu,
       round(r.ipc, 2) AS ipc, round(r.remote_share, 3) AS remote_share, round(r.migrations_per_s, 1) AS migrations_per_s,
       round(r.context_switches_per_s, 1) AS context_switches_per_s, round(r.mem_bandwidth_gbs, 2) AS mem_bandwidth_gbs,
       round(r.imbalance_ratio, 3) AS imbalance_ratio,
       -- the windows its figures come from, the seconds spent measuring it, and why it stopped
       r.windows, round(r.measure_seconds, 1) AS measure_s, r.stop_reason,
       coalesce(r.error, (SELECT group_concat(x.value, '; ') FROM
         (SELECT 'suspect: ' || s.value AS value FROM points p, json_each(p.suspect_reasons) s WHERE p.id = r.point_id
          UNION ALL SELECT w.value FROM points p, json_each(p.warnings) w WHERE p.id = r.point_id) x)) AS note
FROM (SELECT v.*, (v.throughput_ci_high - v.throughput_ci_low) / 2 AS half,
             -- the decimal of the half-width's second significant digit
             CAST(max(0, 1 - floor(log10((v.throughput_ci_high - v.throughput_ci_low) / 2))) AS INTEGER) AS d
      FROM results v
      WHERE v.sweep_id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)) r
ORDER BY r.sweep_id DESC, r.point_id;
