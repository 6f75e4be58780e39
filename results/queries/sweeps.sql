-- Which sweeps does this database hold? Newest first: tag, status, machine, points ok, suspect and failed against those planned (skipped ones counted apart), the best throughput (images/s) among its ok points, when and for how long.
-- :sweep (optional): one sweep, by id, promoted tag, name or run tag; without it, every sweep.
SELECT s.id AS sweep_id, s.name, s.tag, s.status, h.hostname AS host, h.cpu_model,
       s.planned_points + json_array_length(s.skipped) AS planned,
       (SELECT count(*) FROM results r WHERE r.sweep_id = s.id AND r.validity = 'ok') AS ok,
       (SELECT count(*) FROM results r WHERE r.sweep_id = s.id AND r.validity = 'suspect') AS suspect,
       (SELECT count(*) FROM results r WHERE r.sweep_id = s.id AND r.validity = 'failed') AS failed,
       json_array_length(s.skipped) AS skipped,
       (SELECT round(max(r.throughput_ips), 1) FROM results r WHERE r.sweep_id = s.id AND r.validity = 'ok') AS best_img_s,
       s.started_at,
       round((julianday(s.ended_at) - julianday(s.started_at)) * 86400, 1) AS seconds
FROM sweeps s
JOIN hosts h ON h.id = s.host_id
WHERE s.id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
ORDER BY s.started_at DESC, s.id DESC;
