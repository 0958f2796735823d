#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for the tests: munged, slurmctld and slurmd
# run in the foreground (backgrounded here; no systemd needed), with every file under one
# state directory of their own, process tracking by /proc (no cgroups needed) and the
# plain-text job completion log, which `sacct --completion` reads. Usage:
#     scripts/slurm-up.sh DIR      # then: export SLURM_CONF=DIR/slurm.conf
# Prints nothing on success; on failure says why (with the daemons' logs) and exits 1.
# scripts/slurm-down.sh DIR stops what this started.
set -euo pipefail
dir=${1:?usage: slurm-up.sh STATE_DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

fail() {
    echo "slurm-up: $*" >&2
    for f in "$dir"/*.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    bash "$(dirname "$0")/slurm-down.sh" "$dir" || true
    exit 1
}

for tool in munged mungekey slurmctld slurmd sbatch srun squeue sacct scancel scontrol; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh)"
done
[ "$(id -u)" -eq 0 ] || fail "the test cluster's slurmd must run as root"
# A cluster left over from an earlier run in the same directory goes first.
bash "$(dirname "$0")/slurm-down.sh" "$dir" >/dev/null 2>&1 || true

host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
mkdir -p "$dir/munge" "$dir/ctld" "$dir/spool"
chmod 700 "$dir/munge"
# munged's socket path must fit in a sockaddr_un (108 bytes): a short directory of its own.
sock=$(mktemp -d /tmp/qhmunge.XXXXXX)
echo "$sock" >"$dir/munge/sockdir"
sock="$sock/munge.socket"
[ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key" 2>/dev/null ||
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"

cat >"$dir/slurm.conf" <<CONF
ClusterName=qhtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$((16817 + 0))
SlurmdPort=$((16818 + 0))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=2
OverTimeLimit=0
SchedulerParameters=sched_interval=1
MessageTimeout=10
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
touch "$dir/jobcomp.txt"

munged --foreground --force --socket="$sock" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" \
    >/dev/null 2>&1 &
echo $! >"$dir/munged.bgpid"
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "munged did not start"

export SLURM_CONF="$dir/slurm.conf"
slurmctld -D -c -i -f "$SLURM_CONF" >"$dir/slurmctld.out" 2>&1 &
echo $! >"$dir/slurmctld.bgpid"
slurmd -D -f "$SLURM_CONF" >"$dir/slurmd.out" 2>&1 &
echo $! >"$dir/slurmd.bgpid"

# Ready when the node is idle and a trivial job runs.
ok=0
for _ in $(seq 150); do
    if state=$(sinfo -h -N -o %t 2>/dev/null) && [ "$state" = "idle" ]; then ok=1; break; fi
    for p in slurmctld slurmd munged; do
        kill -0 "$(cat "$dir/$p.bgpid")" 2>/dev/null || fail "$p exited while starting"
    done
    sleep 0.2
done
[ $ok -eq 1 ] || fail "the node did not become idle (sinfo: $(sinfo -h -N -o %t 2>&1))"
out=$(timeout 30 srun -N1 -n1 -t 1 true 2>&1) || fail "a test job did not run: $out"
