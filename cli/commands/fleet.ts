import type { Command } from '../command.js';
import { flag, num, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { DEFAULT_MAX_IMBALANCE } from '../../orchestrator/launch/balance.js';
import { analyseFleet } from '../../results/fleet/analyse.js';
import { parseSince } from '../../results/fleet/members.js';
import { renderFleet } from '../../results/fleet/render.js';
import { DEFAULT_MIN_CHANGE, MAD_TO_SIGMA, MIN_HOSTS } from '../../results/fleet/robust-score.js';
import { DEFAULT_FDR } from '../../results/fleet/false-discovery.js';
import { openStore } from '../../results/store/store.js';
import { DEFAULT_DB, percentOption } from './run.js';

export const fleetCommand: Command = {
  name: 'fleet',
  summary: 'name the hosts of a merged database that are out of line with their peers: exit 0 none, 1 outliers, 3 inconclusive',
  usage: `usage: sweep fleet [--db PATH] [--experiment NAME] [--tag T] [--since DATE] [--fdr Q]
                   [--min-change F] [--max-imbalance PCT] [--json]

Reads each host's newest ended sweep (completed, or failed with some points failed) of the
experiment from a database that holds many hosts' sweeps (sweep merge), groups the hosts into
cohorts of the same hardware (CPU model, sockets, physical cores, NUMA layout, memory within 5 %
or 512 MiB; SMT is configuration, not hardware), and per cohort and point ranks the hosts by
throughput with a robust score:
  robust z = (throughput - cohort median) / (${MAD_TO_SIGMA} x MAD)
Which hosts are slow is decided once over the whole fleet, so that more hosts do not mean more
false pages: each host's points combined (Z = sum(z) / sqrt(points)), a p-value per host from
the normal distribution, Benjamini-Hochberg over every judged host at false discovery rate Q.
A host so found is slow on its points at least --min-change under the median; fast likewise
(reported, not failing). The verdict says how many of the named hosts are expected to be false. A point measured by fewer than ${MIN_HOSTS} hosts of a cohort, or whose MAD
is 0, cannot be judged and is said so. Suspect and failed points are not ranked.
Also named: a host whose configuration (BIOS, microcode, DIMM population and speed, SMT, turbo,
governor, THP, kernel and its command line, NUMA balancing) differs from its cohort's majority,
and a host with a NUMA node slower than its fastest node by more than --max-imbalance on a point
with one instance per node. docs/fleet.md explains each rule.

exit codes (each outlier host and reason on its own line, "outlier HOST (cohort C): REASON"):
  0  no outlier
  1  a host is slow, differs in configuration from its cohort's majority, or has a slow NUMA node
  2  bad input: no ended sweep matches, several experiments and no --experiment, a bad option
  3  inconclusive: no outlier, but no throughput could be judged (every point suspect or failed, or
     fewer than ${MIN_HOSTS} hosts per cohort): rerun, or judge more hosts together

options:
  --db PATH            the merged database (default ${DEFAULT_DB})
  --experiment NAME    the experiment (sweep name); needed when the database holds several
  --tag T              only sweeps tagged T (sweeps.tag, or promoted under T)
  --since DATE         only sweeps started at or after DATE (YYYY-MM-DD or ISO 8601, UTC)
  --fdr Q              false discovery rate: the expected share of named hosts that are in line
                       (default ${DEFAULT_FDR}; a fraction above 0 and below 1)
  --min-change F       smallest relative distance from the median that counts (default ${DEFAULT_MIN_CHANGE})
  --max-imbalance PCT  NUMA node shortfall against the host's fastest node, in percent as for
                       sweep run (default ${DEFAULT_MAX_IMBALANCE * 100}, the sweep's own default)
  --json               the whole analysis: cohorts, every point's ranking, configuration, NUMA, outliers`,
  async run(argv) {
    const p = parse('fleet', argv, {
      db: { type: 'string' },
      experiment: { type: 'string' },
      tag: { type: 'string' },
      since: { type: 'string' },
      fdr: { type: 'string' },
      threshold: { type: 'string' },
      'min-change': { type: 'string' },
      'max-imbalance': { type: 'string' },
      json: { type: 'boolean' },
    });
    const maxImbalance = percentOption(str(p, 'max-imbalance'), '--max-imbalance', DEFAULT_MAX_IMBALANCE);
    if (maxImbalance >= 1) throw new UserError('--max-imbalance must be below 100 (%): a node slower by all of it is no node', { value: str(p, 'max-imbalance') });
    const minChange = num(p, 'min-change', 0);
    // A slow host is at least this fraction under the median: 1 or more would name none, silently.
    if (minChange !== undefined && minChange >= 1) throw new UserError('--min-change is a fraction below 1 (0.05: 5 % from the median)', { value: str(p, 'min-change') });
    if (str(p, 'threshold') !== undefined) {
      throw new UserError('--threshold is gone: the outlier rule controls the false discovery rate over the fleet instead', { value: str(p, 'threshold'), hint: 'use --fdr Q (default 0.01); docs/fleet.md explains the rule' });
    }
    const fdr = num(p, 'fdr', 0);
    if (fdr !== undefined && !(fdr > 0 && fdr < 1)) throw new UserError('--fdr is a fraction above 0 and below 1 (0.01: 1 in 100 named hosts expected false)', { value: str(p, 'fdr') });
    const sinceText = str(p, 'since');
    const options = {
      experiment: str(p, 'experiment'),
      tag: str(p, 'tag'),
      since: sinceText === undefined ? undefined : parseSince(sinceText),
      fdr,
      minChange,
      maxImbalance,
    };
    const store = openStore(str(p, 'db') ?? DEFAULT_DB, { readonly: true });
    try {
      const analysis = analyseFleet(store, options);
      process.stdout.write(renderFleet(analysis, flag(p, 'json') ? 'json' : 'text'));
      return analysis.exitCode;
    } finally {
      store.close();
    }
  },
};
