#!/usr/bin/env bash
# A private one-node Slurm cluster (slurmctld + slurmd on 127.0.0.1, its own
# ports, config and spool under a temporary directory; nothing system-wide is
# touched), used to run a command against it:
#   tests/system/slurm_cluster.sh COMMAND [ARGS...]
# SLURM_CONF points at the private config while COMMAND runs. Both daemons
# are stopped on every exit path. Nothing depends on name resolution: the
# controller is 'localhost' (the one name slurmctld accepts as itself without
# comparing host names) with the literal address 127.0.0.1, and the node is
# 'tsnode', a name no resolver knows, at NodeAddr 127.0.0.1. If a daemon
# exits, or the cluster is not idle within 30 s, the script fails at once
# and prints the tails of both daemons' logs.
set -euo pipefail
for d in slurmctld slurmd sbatch sinfo; do
  command -v "$d" >/dev/null || { echo "slurm_cluster.sh: $d is not installed (scripts/bootstrap.sh installs it)" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/trustsim-slurm-XXXXXX)
base=$((20000 + ($$ % 20000)))
user=$(id -un)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/spool/ctld" "$tmp/spool/d" "$tmp/log"
cat > "$tmp/slurm.conf" <<CONF
ClusterName=trustsim$$
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$tmp/spool/ctld
SlurmdSpoolDir=$tmp/spool/d
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=tsnode NodeAddr=127.0.0.1 NodeHostname=tsnode CPUs=$(nproc) State=UNKNOWN
PartitionName=main Nodes=tsnode Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$tmp/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$tmp/log/ctld.out" 2>&1 &
pids+=($!)
slurmd -D -N tsnode -f "$SLURM_CONF" >"$tmp/log/d.out" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 30))
state= why=
while [ -z "$why" ]; do
  # sinfo can block on an unreachable controller: bounded per call too.
  state=$(timeout 3 sinfo -h -o %T 2>/dev/null | head -1 || true)
  [ "$state" = idle ] && break
  kill -0 "${pids[0]}" 2>/dev/null || why="slurmctld exited before the private cluster came up"
  kill -0 "${pids[1]}" 2>/dev/null || why="slurmd exited before the private cluster came up"
  [ $SECONDS -lt $deadline ] || why="the private cluster did not become idle within 30 s (node state '${state:-unknown}')"
  sleep 0.2
done
if [ -n "$why" ]; then
  echo "slurm_cluster.sh: $why; daemon logs:" >&2
  for f in "$tmp"/log/*; do
    [ -s "$f" ] || continue
    echo "--- $(basename "$f") (last 20 lines)" >&2
    tail -n 20 "$f" >&2
  done
  exit 1
fi
set +e
"$@"
rc=$?
set -e
[ -n "${SLURM_CLUSTER_DEBUG:-}" ] && cp -r "$tmp/log" "$SLURM_CLUSTER_DEBUG"
if [ $rc -ne 0 ]; then
  echo "slurm_cluster.sh: '$*' exited with $rc; slurmctld log tail:" >&2
  tail -n 15 "$tmp/log/slurmctld.log" >&2 || true
fi
exit $rc
