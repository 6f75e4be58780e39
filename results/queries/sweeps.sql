-- Which sweeps does this database hold? Newest first: tag, status, machine, points ok and failed against those planned, the best throughput, when and for how long.
-- :sweep (optional): one sweep, by id, promoted tag, name or run tag; without it, every sweep.
SELECT s.id AS sweep_id, s.name, s.tag, s.status, h.hostname AS host, h.cpu_model,
       s.planned_points AS planned,
       (SELECT count(*) FROM points p WHERE p.sweep_id = s.id AND p.status = 'ok') AS ok,
       (SELECT count(*) FROM points p WHERE p.sweep_id = s.id AND p.status = 'failed') AS failed,
       (SELECT max(p.throughput_ips) FROM points p WHERE p.sweep_id = s.id) AS best_ips,
       s.started_at,
       round((julianday(s.ended_at) - julianday(s.started_at)) * 86400, 1) AS seconds
FROM sweeps s
JOIN hosts h ON h.id = s.host_id
WHERE s.id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
ORDER BY s.started_at DESC, s.id DESC;
