-- 003: which process runs a sweep (machine and pid), so a sweep left 'running' by a process
-- that was killed (SIGKILL, power loss) can be recognised and marked 'interrupted' later.

ALTER TABLE sweeps ADD COLUMN owner_host TEXT;
ALTER TABLE sweeps ADD COLUMN owner_pid INTEGER;
