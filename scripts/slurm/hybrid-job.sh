#!/bin/bash
# A hybrid job through Slurm. There is no sbatch script to write: `qhybrid submit
# --scheduler slurm` writes the batch script (the job's supervisor) and calls sbatch, and
# the job is followed with qhybrid's own commands. QH_HOME must be on a filesystem the
# compute nodes share (see docs/slurm.md).
# Run from a login node: scripts/slurm/hybrid-job.sh ./my_vqe [ARGS...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: hybrid-job.sh PROGRAM [ARGS...]" >&2; exit 2; }
export QH_HOME=${QH_HOME:-$HOME/.qhybrid}
# module load openmpi qhybrid
# Its size: NODES × TASKS_PER_NODE ranks of CPUS cores each (defaults 1 × 4 × 4).
job=$(qhybrid submit --scheduler slurm --nodes "${NODES:-1}" \
    --ntasks-per-node "${TASKS_PER_NODE:-4}" --cpus-per-task "${CPUS:-4}" --time 00:30:00 --device sv --hyper shots=1000 --name "vqe-$(date +%s)" -- "$@" |
    sed -n 's/.*"name": "\([^"]*\)".*/\1/p')
echo "submitted $job" >&2
qhybrid status "$job" --json       # includes "slurm_job_id"
qhybrid logs "$job" --follow       # until it ends
qhybrid status "$job"              # DONE, or ERROR with the reason (e.g. TIMEOUT)
qhybrid result "$job"
