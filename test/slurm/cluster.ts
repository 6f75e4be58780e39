import { spawnSync } from 'node:child_process';

// Whether a Slurm cluster is up for the tests in this folder (test/slurm/cluster.sh start, then
// its env file sourced): the skip reason of their suites, false when one is up.

const clusterUp = process.env.SLURM_CONF !== undefined && spawnSync('sinfo', ['-h'], { stdio: 'ignore' }).status === 0;

export const noClusterSkip: string | false = clusterUp
  ? false
  : 'no Slurm cluster: SLURM_CONF is unset or sinfo fails (test/slurm/cluster.sh start, then source the env file it names)';
