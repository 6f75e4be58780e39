-- How do two models compare at the same configuration (model A against model B), in throughput and Dice? Ratios above 1 favour model B.
-- :sweep (optional): one sweep, by id, promoted tag, name or run tag; without it, every sweep. (The BETWEEN form of that
-- filter keeps the sweep_id index usable, where ":sweep IS NULL OR sweep_id = :sweep" would scan.)
-- Only sweeps with a model axis (the key says `model=ID`) have such pairs. Every pair of models
-- measured at one configuration is a row, A before B by id; a configuration is every axis value
-- but the model (json_remove of the params). Dice is over the same declared images for both
-- (dice_images), so dice_change is what the models compute differently. The self-join matches
-- equal configurations only: each configuration holds as many points as it has models.
WITH measured AS (
  SELECT sweep_id, point_id, model, model_sha256, batch_size, instances, cores_per_instance, binding, profile, engine,
         throughput_ips, latency_p50_ms, dice, dice_images,
         json_remove(params, '$.model') AS configuration
  FROM results
  WHERE status = 'ok' AND throughput_ips > 0 AND json_extract(params, '$.model') IS NOT NULL
    AND sweep_id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
)
SELECT a.sweep_id, a.batch_size, a.instances, a.cores_per_instance, a.binding, a.profile, a.engine,
       a.model AS model_a, b.model AS model_b,
       a.throughput_ips AS a_ips, b.throughput_ips AS b_ips,
       b.throughput_ips / a.throughput_ips AS throughput_ratio,
       a.latency_p50_ms / b.latency_p50_ms AS p50_gain,
       a.dice AS a_dice, b.dice AS b_dice, b.dice - a.dice AS dice_change, a.dice_images AS dice_images,
       substr(a.model_sha256, 1, 12) AS a_sha256, substr(b.model_sha256, 1, 12) AS b_sha256
FROM measured a
JOIN measured b ON b.sweep_id = a.sweep_id AND b.configuration = a.configuration AND b.model > a.model
ORDER BY a.sweep_id, a.batch_size, a.instances, a.binding, a.profile, a.engine, model_a, model_b;
