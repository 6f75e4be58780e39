-- What did each point of a sweep measure? Its configuration, status, throughput, latency percentiles, Dice, and why it failed or what to watch (warnings), in the order the points ran.
-- :sweep (optional): one sweep, by id, name or tag; without it, every sweep, newest first.
SELECT r.sweep_id, r.point_key, r.status, r.throughput_ips, r.latency_p50_ms, r.latency_p90_ms, r.latency_p99_ms,
       r.dice, r.soft_dice,
       coalesce(r.error, (SELECT group_concat(w.value, '; ') FROM points p, json_each(p.warnings) w WHERE p.id = r.point_id)) AS note
FROM results r
WHERE r.sweep_id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
ORDER BY r.sweep_id DESC, r.point_id;
