#!/usr/bin/env bash
# Runs a trustsim campaign on a Slurm cluster: an array job of N shards, then
# a merge job that depends on all of them. docs/campaigns.md, "On Slurm".
#
#   deploy/slurm/run-campaign.sh [--wait] CAMPAIGN.yaml SHARDS OUTDIR [-- trustsim campaign args...]
#
# OUTDIR must be on a file system every node sees. With --wait the script
# returns when the merge has finished, with the merge's exit status
# (0: every run passed, 1: failures, 2: a shard report is missing or bad).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
wait=0
if [ "${1:-}" = "--wait" ]; then wait=1; shift; fi
if [ $# -lt 3 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
campaign=$(realpath "$1"); shards=$2; outdir=$3; shift 3
if [ "${1:-}" = "--" ]; then shift; fi
case $shards in ''|*[!0-9]*|0) echo "run-campaign.sh: SHARDS must be a positive number, not '$shards'" >&2; exit 2;; esac
[ -f "$campaign" ] || { echo "run-campaign.sh: $campaign: no such campaign file" >&2; exit 2; }
mkdir -p "$outdir"; outdir=$(realpath "$outdir")
trustsim=${TRUSTSIM:-$(command -v trustsim || true)}
[ -x "$trustsim" ] || { echo "run-campaign.sh: set TRUSTSIM to the trustsim executable" >&2; exit 2; }
export TRUSTSIM=$trustsim CAMPAIGN=$campaign SHARDS=$shards OUTDIR=$outdir TRUSTSIM_ARGS="$*"
array=$(cd "$outdir" && sbatch --parsable --export=ALL --array=0-$((shards - 1)) "$here/campaign-shard.sbatch")
array=${array%%;*}
rm -f "$outdir/merge.rc"
merge=$(cd "$outdir" && sbatch --parsable --export=ALL --dependency=afterany:"$array" "$here/campaign-merge.sbatch")
merge=${merge%%;*}
echo "shards: job $array (array 0-$((shards - 1))), merge: job $merge, reports in $outdir"
if [ $wait = 1 ]; then
  # Poll (sbatch --wait backs off to half-minute sleeps): the merge job
  # writes merge.rc as its last act.
  while [ ! -f "$outdir/merge.rc" ]; do
    if ! squeue -h -j "$merge" 2>/dev/null | grep -q .; then
      sleep 1
      [ -f "$outdir/merge.rc" ] && break
      echo "run-campaign.sh: merge job $merge ended without a result; see $outdir/trustsim-merge-$merge.out" >&2
      exit 2
    fi
    sleep 0.5
  done
  exit "$(cat "$outdir/merge.rc")"
fi
