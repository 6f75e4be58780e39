-- 013: a placeholder on branch issue-23, which owns migration 015 while 013 belongs to another
-- branch: numbers must run without gaps. Dropped at the merge, where the real 013 takes its place.
SELECT 1;
