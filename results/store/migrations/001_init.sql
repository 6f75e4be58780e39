-- 001: the four tables of a results database: hosts, sweeps, points, instances.

-- One row per distinct machine fingerprint; sweeps on the same machine share it.
CREATE TABLE hosts (
  id               INTEGER PRIMARY KEY,
  fingerprint      TEXT NOT NULL UNIQUE,      -- sha256 of the fields below, canonical JSON
  hostname         TEXT NOT NULL,
  cpu_model        TEXT NOT NULL,
  microcode        TEXT,
  sockets          INTEGER NOT NULL,
  cores            INTEGER NOT NULL,          -- physical cores
  threads          INTEGER NOT NULL,          -- logical CPUs
  numa_json        TEXT NOT NULL,             -- [{id, cpus, memory_mb, has_memory}]
  memory_mb        INTEGER,
  kernel           TEXT NOT NULL,
  os               TEXT NOT NULL,
  allowed_cpus     TEXT NOT NULL,             -- cgroup cpuset / affinity, as a CPU list "0-3,8"
  allowed_mems     TEXT NOT NULL,             -- memory nodes, as a list "0-1"
  numactl          INTEGER NOT NULL,
  topology_source  TEXT NOT NULL,
  first_seen       TEXT NOT NULL
);

CREATE TABLE sweeps (
  id                 INTEGER PRIMARY KEY,
  name               TEXT NOT NULL,
  tag                TEXT,
  experiment_file    TEXT NOT NULL,
  experiment_yaml    TEXT NOT NULL,
  experiment_sha256  TEXT NOT NULL,
  tool_version       TEXT NOT NULL,
  git_revision       TEXT,
  engine_versions    TEXT NOT NULL,           -- JSON object engine -> version
  status             TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
  started_at         TEXT NOT NULL,
  ended_at           TEXT,
  planned_points     INTEGER NOT NULL,
  host_id            INTEGER NOT NULL REFERENCES hosts(id)
);
CREATE INDEX sweeps_name ON sweeps(name, started_at);
CREATE INDEX sweeps_tag ON sweeps(tag, started_at);

CREATE TABLE points (
  id                  INTEGER PRIMARY KEY,
  sweep_id            INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  key                 TEXT NOT NULL,
  params              TEXT NOT NULL,          -- JSON PointParams, every axis
  batch_size          INTEGER NOT NULL,
  instances           INTEGER NOT NULL,
  cores_per_instance  INTEGER NOT NULL,
  binding             TEXT NOT NULL,
  profile             TEXT NOT NULL,
  engine              TEXT NOT NULL,
  smt                 INTEGER NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
  error               TEXT,
  warnings            TEXT NOT NULL,          -- JSON string[]
  throughput_ips      REAL,
  latency_mean_ms     REAL,
  latency_p50_ms      REAL,
  latency_p90_ms      REAL,
  latency_p99_ms      REAL,
  latency_max_ms      REAL,
  dice                REAL,
  soft_dice           REAL,
  throughput_repeats  TEXT NOT NULL,          -- JSON number[], one per repeat
  started_at          TEXT NOT NULL,
  ended_at            TEXT NOT NULL,
  UNIQUE (sweep_id, key)
);

CREATE TABLE instances (
  id               INTEGER PRIMARY KEY,
  point_id         INTEGER NOT NULL REFERENCES points(id) ON DELETE CASCADE,
  idx              INTEGER NOT NULL,
  repeat           INTEGER NOT NULL,
  argv             TEXT NOT NULL,             -- JSON string[]
  env              TEXT NOT NULL,             -- JSON object
  planned_cpus     TEXT NOT NULL,             -- JSON int[]
  planned_mems     TEXT NOT NULL,             -- JSON int[]
  actual_cpus      TEXT,                      -- JSON int[] from /proc/self/status, null without a result
  actual_mems      TEXT,
  exit_code        INTEGER,
  signal           TEXT,
  stderr_tail      TEXT NOT NULL,
  engine_version   TEXT,
  throughput_ips   REAL,
  latency_mean_ms  REAL,
  latency_p50_ms   REAL,
  latency_p90_ms   REAL,
  latency_p99_ms   REAL,
  latency_max_ms   REAL,
  dice             REAL,
  soft_dice        REAL,
  images           INTEGER,
  batches          INTEGER,
  seconds          REAL,
  rss_peak_mb      REAL,
  window_start_ms  REAL,
  window_end_ms    REAL,
  latency_samples  BLOB,                      -- per-batch latencies, little-endian float32
  result           TEXT,                      -- RunnerResult JSON without latency_samples_ms
  UNIQUE (point_id, idx, repeat)
);
