-- Does segmentation quality move with the configuration? Spread of hard and soft Dice across the points of each sweep and engine (it should be near zero: the same model on the same images).
-- :sweep (optional): one sweep, by id, promoted tag, name or run tag; without it, every sweep. (The BETWEEN form of that
-- filter keeps the sweep_id index usable, where ":sweep IS NULL OR sweep_id = :sweep" would scan.)
WITH ok AS (
  SELECT * FROM results
  WHERE status = 'ok' AND dice IS NOT NULL
    AND sweep_id BETWEEN ifnull(:sweep, 0) AND ifnull(:sweep, 9223372036854775807)
)
SELECT sweep_id, sweep_name, engine,
       COUNT(*) AS points,
       MIN(dice) AS min_dice,
       MAX(dice) AS max_dice,
       MAX(dice) - MIN(dice) AS dice_spread,
       MAX(soft_dice) - MIN(soft_dice) AS soft_dice_spread,
       (SELECT x.point_key FROM ok x WHERE x.sweep_id = ok.sweep_id AND x.engine = ok.engine
         ORDER BY x.dice, x.point_id LIMIT 1) AS lowest_point,
       (SELECT x.point_key FROM ok x WHERE x.sweep_id = ok.sweep_id AND x.engine = ok.engine
         ORDER BY x.dice DESC, x.point_id LIMIT 1) AS highest_point
FROM ok
GROUP BY sweep_id, sweep_name, engine
ORDER BY sweep_id, engine;
