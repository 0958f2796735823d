#!/usr/bin/env bash
# Stops the test cluster scripts/slurm-up.sh DIR started: its jobs, slurmd, slurmctld and
# munged, by the process ids it recorded (nothing else is touched).
set -uo pipefail
dir=${1:?usage: slurm-down.sh STATE_DIR}
[ -d "$dir" ] || exit 0
if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.bgpid" ]; then
    SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --full --quiet --user=root >/dev/null 2>&1 ||
        true
fi
for p in slurmd slurmctld munged; do
    f="$dir/$p.bgpid"
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
done
if [ -f "$dir/munge/sockdir" ]; then
    sock=$(cat "$dir/munge/sockdir")
    case "$sock" in /tmp/qhmunge.*) rm -rf "$sock" ;; esac
    rm -f "$dir/munge/sockdir"
fi
exit 0
