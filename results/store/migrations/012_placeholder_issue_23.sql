-- 012: a placeholder on branch issue-23, which owns migration 015 while 012 belongs to another
-- branch: numbers must run without gaps. Dropped at the merge, where the real 012 takes its place.
SELECT 1;
