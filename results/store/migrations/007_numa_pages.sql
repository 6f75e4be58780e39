-- 007: where each instance's memory really was: the pages of its anonymous mappings per NUMA
-- node at the end of its timed window (/proc/self/numa_maps), as JSON {"node": pages, ...} in
-- pages of 4 KiB; null when the runner reported none (no result, or a kernel without NUMA).

ALTER TABLE instances ADD COLUMN numa_pages TEXT;
