#!/usr/bin/env bash
# A real two-node Slurm cluster on this one machine, for the Slurm tests (test/slurm/).
#
#   test/slurm/cluster.sh start   munged, slurmctld and two slurmd (nodes n1, n2); waits until both are idle
#   test/slurm/cluster.sh stop    ends them by the PIDs `start` wrote, and checks none is left
#
# Everything lives in one scratch folder (SLURM_TEST_DIR, default /tmp/numa-sweep-slurm-cluster):
# the generated slurm.conf and cgroup.conf, the munge key and socket, state, logs, PIDs, and
# `env`, which sets SLURM_CONF for clients (`. $SLURM_TEST_DIR/env; sinfo`). The spool folder the
# tests submit into is under it too: on one machine it is "shared storage" for both nodes.
#
# How one machine becomes two hosts: Slurm is built with MULTIPLE_SLURMD, so two slurmd (-N n1,
# -N n2) listen on their own ports on 127.0.0.1. Each starts in its own UTS namespace with its own
# hostname, so a job on n1 sees hostname n1, as it would on a separate server. Both nodes share
# this machine's CPUs, memory and /tmp; the task prolog gives each node its own NUMA_SWEEP_RUN_DIR
# so numa-sweep's one-sweep-per-host registry is per node, as /tmp is per server on a real cluster.
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge packages; no systemd.
set -euo pipefail

dir="${SLURM_TEST_DIR:-/tmp/numa-sweep-slurm-cluster}"
conf="$dir/etc/slurm.conf"
# Ports on 127.0.0.1: slurmctld's, and n1's and n2's (the next one). Another cluster on the same
# machine (another SLURM_TEST_DIR) needs other ports: SLURM_TEST_CTLD_PORT, SLURM_TEST_NODE_PORT.
ctld_port="${SLURM_TEST_CTLD_PORT:-16817}"
node_port="${SLURM_TEST_NODE_PORT:-17001}"

die() { echo "cluster.sh: $*" >&2; exit 1; }

# PIDs in $dir/pids/<name>.pid. alive: the PID runs (while starting, it may still be the
# launcher, setpriv or unshare); ours: it runs the daemon itself (slurmd-n1 -> slurmd), so that a
# stale PID file whose number was reused by another process never has that process killed.
alive() { [ -f "$dir/pids/$1.pid" ] && kill -0 "$(cat "$dir/pids/$1.pid")" 2>/dev/null; }
ours() { alive "$1" && [ "$(cat "/proc/$(cat "$dir/pids/$1.pid")/comm" 2>/dev/null)" = "${1%%-*}" ]; }

write_config() {
  local host node_line
  host="$(hostname -s)"
  # `slurmd -C` prints this machine's NodeName line; keep its hardware fields, name the nodes n1, n2.
  node_line="$(slurmd -C | head -1 | sed -E 's/^NodeName=[^ ]+ //; s/ *$//')"
  mkdir -p "$dir/etc" "$dir/state" "$dir/log" "$dir/pids" "$dir/spool" "$dir/run"
  cat > "$conf" <<CONF
ClusterName=sweeptest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
MpiDefault=none
MailProg=/bin/true
StateSaveLocation=$dir/state/ctld
SlurmctldPidFile=$dir/state/slurmctld.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdSpoolDir=$dir/state/slurmd-%n
SlurmdPidFile=$dir/state/slurmd-%n.pid
SlurmdLogFile=$dir/log/slurmd-%n.log
TaskProlog=$dir/etc/task-prolog.sh
NodeName=n[1-2] NodeHostname=$host NodeAddr=127.0.0.1 Port=$node_port-$((node_port + 1)) $node_line State=UNKNOWN
PartitionName=debug Nodes=n[1-2] Default=YES MaxTime=INFINITE State=UP
CONF
  printf 'IgnoreSystemd=yes\n' > "$dir/etc/cgroup.conf"
  # slurmstepd reads `export NAME=value` lines from the task prolog into each task's environment.
  # Both nodes share this machine's /tmp: each gets its own run folder for numa-sweep's registry.
  cat > "$dir/etc/task-prolog.sh" <<PROLOG
#!/bin/sh
echo "export NUMA_SWEEP_RUN_DIR=$dir/run/\$(hostname)"
PROLOG
  chmod 755 "$dir/etc/task-prolog.sh"
  printf 'export SLURM_CONF=%s\n' "$conf" > "$dir/env"
}

start_munge() {
  # munged runs as the munge user; its key 0400 munge:munge; its socket folder mode 755.
  mkdir -p "$dir/munge"
  if [ -f /etc/munge/munge.key ]; then cp /etc/munge/munge.key "$dir/munge/munge.key"
  else dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none; fi
  chown -R munge:munge "$dir/munge"
  chmod 755 "$dir/munge"
  chmod 0400 "$dir/munge/munge.key"
  setpriv --reuid=munge --regid=munge --init-groups \
    munged --foreground --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" \
    >>"$dir/log/munged.out" 2>&1 &
  echo $! > "$dir/pids/munged.pid"
  for _ in $(seq 1 100); do [ -S "$dir/munge/munge.socket" ] && return 0; sleep 0.1; done
  die "munged did not create its socket; see $dir/log/munged.log"
}

start() {
  for name in munged slurmctld slurmd-n1 slurmd-n2; do
    alive "$name" && die "$name already runs (pid $(cat "$dir/pids/$name.pid")); run '$0 stop' first"
  done
  rm -rf "$dir"
  write_config
  start_munge
  export SLURM_CONF="$conf"
  slurmctld -D -i -f "$conf" >>"$dir/log/slurmctld.out" 2>&1 &
  echo $! > "$dir/pids/slurmctld.pid"
  for node in n1 n2; do
    # unshare execs sh, which execs slurmd: the PID written is slurmd's own.
    unshare --uts sh -c "hostname $node && exec slurmd -D -f '$conf' -N $node" >>"$dir/log/slurmd-$node.out" 2>&1 &
    echo $! > "$dir/pids/slurmd-$node.pid"
  done
  # Both nodes idle: the cluster takes jobs.
  for _ in $(seq 1 600); do
    for name in munged slurmctld slurmd-n1 slurmd-n2; do
      alive "$name" || { stop_quietly; die "$name ended while starting; logs in $dir/log"; }
    done
    if [ "$(sinfo -h -N -o '%N %t' 2>/dev/null | grep -c ' idle$')" = 2 ]; then
      echo "cluster up: nodes n1 n2 idle; SLURM_CONF=$conf (source $dir/env)"
      return 0
    fi
    sleep 0.5
  done
  stop_quietly
  die "the nodes did not become idle within 300 s; logs in $dir/log"
}

# The slurmstepd processes started by this cluster's slurmd (their environment names its slurm.conf).
our_stepds() {
  local pid
  for pid in $(pgrep -x slurmstepd || true); do
    tr "\\0" "\\n" 2>/dev/null < "/proc/$pid/environ" | grep -qx "SLURM_CONF=$conf" && echo "$pid"
  done
  return 0
}

descendants() {
  local child
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do echo "$child"; descendants "$child"; done
}

stop_quietly() { stop >/dev/null 2>&1 || true; }

stop() {
  [ -d "$dir/pids" ] || { echo "no cluster in $dir"; return 0; }
  local left=()
  # Jobs first, while slurmctld runs: a slurmd that stops leaves its jobs' step daemons running.
  if alive slurmctld; then
    local jobs
    # One job id per line; scancel takes each as its own argument (one quoted word "7 8" is refused).
    jobs="$(SLURM_CONF="$conf" squeue -h -o %i 2>/dev/null || true)"
    # shellcheck disable=SC2086
    [ -n "$jobs" ] && SLURM_CONF="$conf" scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 300); do [ -z "$(our_stepds)" ] && break; sleep 0.1; done
  fi
  # Then the daemons, munged last (the others authenticate through it).
  for name in slurmd-n1 slurmd-n2 slurmctld munged; do
    if ours "$name"; then kill -TERM "$(cat "$dir/pids/$name.pid")"; fi
  done
  for name in slurmd-n1 slurmd-n2 slurmctld munged; do
    for _ in $(seq 1 100); do ours "$name" || break; sleep 0.1; done
    if ours "$name"; then kill -KILL "$(cat "$dir/pids/$name.pid")" 2>/dev/null || true; sleep 0.2; fi
    if ours "$name"; then left+=("$name pid $(cat "$dir/pids/$name.pid")"); fi
  done
  # A job step daemon of this cluster that outlived the cancel: it and its tasks are ended by PID, and named.
  local stepd
  for stepd in $(our_stepds); do
    left+=("slurmstepd pid $stepd")
    kill -KILL $(descendants "$stepd") "$stepd" 2>/dev/null || true
  done
  if [ "${#left[@]}" -gt 0 ]; then die "still running after stop: ${left[*]}"; fi
  rm -f "$dir"/pids/*.pid
  echo "cluster stopped: munged, slurmctld, slurmd n1 and n2 ended"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
