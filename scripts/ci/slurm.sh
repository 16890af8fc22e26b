#!/usr/bin/env bash
# A one-node SLURM cluster for the tests: munged, slurmctld and slurmd on this machine, all state in
# one folder, nothing installed or changed outside it (Debian's slurm-wlm and munge must be installed).
#
#   scripts/ci/slurm.sh up     start it (idempotent), wait until the node is idle, print the export line
#   scripts/ci/slurm.sh env    print the export line for a running cluster
#   scripts/ci/slurm.sh down   stop every daemon it started; nothing is left running
#
# Settings (environment): SLURM_CI_DIR (default /tmp/autoresearch-slurm), SLURM_CI_CPUS (CPUs the node
# declares, default 8: more than most CI machines have, so jobs of 1 CPU run side by side),
# SLURM_CI_PORT (slurmctld's port, default 6817; slurmd uses the next one).
#
# Why these choices: containers have no systemd and no writable cgroup hierarchy, so processes are
# tracked by process group (proctrack/pgid; linuxproc loses a process whose parent died, e.g. a
# child that ignored the SIGTERM its shell did not) and tasks are not bound (task/none). Accounting
# is off, as on many small clusters: `scontrol show job` is then the only record of a finished job, so
# MinJobAge keeps finished jobs visible for an hour. Run as root (SlurmUser=root); the munge socket
# and key live in the folder, so a system munged, if any, is left alone.
set -eu

DIR="${SLURM_CI_DIR:-/tmp/autoresearch-slurm}"
CPUS="${SLURM_CI_CPUS:-8}"
PORT="${SLURM_CI_PORT:-6817}"
CONF="$DIR/etc/slurm.conf"
SOCKET="$DIR/munge/munge.socket.2"
HOST="$(hostname -s)"

say() { printf 'slurm.sh: %s\n' "$*" >&2; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_conf() {
  mkdir -p "$DIR/etc" "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run" "$DIR/munge"
  chmod 0755 "$DIR" "$DIR/munge"
  cat >"$CONF" <<EOF
ClusterName=autoresearch-ci
SlurmctldHost=$HOST
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
PlugStackConfig=$DIR/etc/plugstack.conf
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=3600
KillWait=2
SlurmdParameters=config_overrides
NodeName=$HOST CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$DIR/etc/plugstack.conf"
}

start_munge() {
  if pid_alive "$DIR/run/munged.pid"; then return; fi
  if [ ! -s "$DIR/munge/munge.key" ]; then
    # Its own key: a node of one needs no shared key, and /etc/munge's belongs to the munge user.
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 2>/dev/null
    chmod 0600 "$DIR/munge/munge.key"
  fi
  munged --force --socket="$SOCKET" --key-file="$DIR/munge/munge.key" --pid-file="$DIR/run/munged.pid" \
    --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"
}

node_state() { SLURM_CONF="$CONF" sinfo -h -N -n "$HOST" -o %T 2>/dev/null || true; }

up() {
  command -v slurmctld >/dev/null && command -v munged >/dev/null || {
    say "slurmctld or munged is not installed (apt-get install slurm-wlm munge)"
    exit 1
  }
  write_conf
  start_munge
  pid_alive "$DIR/run/slurmctld.pid" || SLURM_CONF="$CONF" slurmctld -f "$CONF"
  pid_alive "$DIR/run/slurmd.pid" || SLURM_CONF="$CONF" slurmd -f "$CONF" -N "$HOST"
  i=0
  while :; do
    state="$(node_state)"
    case "$state" in
      idle* | mixed* | allocated*) break ;;
    esac
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then
      say "the node did not become idle in 30 s (state: ${state:-none}); logs in $DIR/log"
      tail -n 20 "$DIR/log/"*.log >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  say "node $HOST is $state ($CPUS CPUs, partition debug)"
  env_line
}

env_line() { printf 'export SLURM_CONF=%s\n' "$CONF"; }

stop_pid() {
  pidfile="$1"
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
      sleep 0.2
      i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

down() {
  # Jobs first, so slurmd kills their processes while it still runs.
  if pid_alive "$DIR/run/slurmctld.pid"; then
    SLURM_CONF="$CONF" scancel --quiet --full --user="$(id -un)" 2>/dev/null || true
    i=0
    while [ -n "$(SLURM_CONF="$CONF" squeue -h -o %i 2>/dev/null)" ] && [ "$i" -lt 25 ]; do
      sleep 0.2
      i=$((i + 1))
    done
  fi
  stop_pid "$DIR/run/slurmd.pid"
  stop_pid "$DIR/run/slurmctld.pid"
  stop_pid "$DIR/run/munged.pid"
  say "stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) env_line ;;
  *)
    say "usage: $0 up|down|env"
    exit 2
    ;;
esac
