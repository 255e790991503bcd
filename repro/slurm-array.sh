#!/usr/bin/env bash
# Example: spread a full reproduction over a Slurm job array of 16 tasks, then report.
#   sbatch --array=1-16 repro/slurm-array.sh          # each task fills target/shards/$K
#   cargo xtask repro merge target/shards/* --out target/repro
#   cargo xtask repro --out target/repro              # reads the cache, writes the report
#SBATCH --job-name=aesgd-repro
#SBATCH --cpus-per-task=2
#SBATCH --time=01:00:00
set -euo pipefail
K=${SLURM_ARRAY_TASK_ID:?run as a job array}
N=${SLURM_ARRAY_TASK_MAX:-16}
cargo xtask repro --shard "${K}/${N}" --jobs "${SLURM_CPUS_PER_TASK:-2}" --out "target/shards/${K}"
