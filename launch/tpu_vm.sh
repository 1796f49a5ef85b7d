#!/usr/bin/env bash
# Runs a training (or analysis) job on a Cloud TPU VM, single host or pod slice:
# create the VM, copy this repository to every worker, install it with the TPU extra, run the
# same command on all workers (JAX joins them; --distributed=auto sees TPU_WORKER_HOSTNAMES),
# and fetch the workdir from worker 0.
#
#   launch/tpu_vm.sh --name=music-v4 --zone=us-central2-b --type=v4-32 \
#       -- tcn_wta.main --config=configs/maestro.py --config.data.root=/data/maestro-v2.0.0
#
# Steps: create copy install run fetch (default: all but delete); pick some with --steps=run,fetch.
# --dry-run prints every command without running any. Needs the gcloud CLI, logged in.
set -euo pipefail

name="" zone="" type="v4-8" version="tpu-ubuntu2204-base" project=""
workdir="runs/tpu" steps="create,copy,install,run,fetch" dry_run=0 spot=0
usage() {
  sed -n '2,12p' "$0" >&2
  echo "options: --name= --zone= [--type=$type] [--version=$version] [--project=]" >&2
  echo "         [--workdir=$workdir] [--steps=$steps|delete] [--spot] [--dry-run] -- MODULE FLAGS" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name=*) name="${1#*=}" ;;
    --zone=*) zone="${1#*=}" ;;
    --type=*) type="${1#*=}" ;;
    --version=*) version="${1#*=}" ;;
    --project=*) project="${1#*=}" ;;
    --workdir=*) workdir="${1#*=}" ;;
    --steps=*) steps="${1#*=}" ;;
    --spot) spot=1 ;;
    --dry-run) dry_run=1 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "unknown option: $1" >&2; usage ;;
  esac
  shift
done
[[ -n "$name" && -n "$zone" ]] || { echo "--name and --zone are required" >&2; usage; }
if [[ ",$steps," == *",run,"* ]]; then
  [[ $# -ge 1 ]] || { echo "the run step needs a command: -- MODULE FLAGS" >&2; usage; }
  case "$1" in
    kanerva_music.main|tcn_wta.main) ;;
    *) echo "unknown module '$1': expected kanerva_music.main or tcn_wta.main" >&2; exit 2 ;;
  esac
fi

gcloud_tpu=(gcloud compute tpus tpu-vm)
where=(--zone="$zone")
[[ -n "$project" ]] && where+=(--project="$project")
remote_dir="music-memory"

run() {
  local line
  printf -v line '%q ' "$@"
  echo "${line% }"
  if [[ "$dry_run" == 0 ]]; then
    "$@"
  fi
}

for step in ${steps//,/ }; do
  case "$step" in
    create)
      extra=()
      [[ "$spot" == 1 ]] && extra+=(--spot)
      run "${gcloud_tpu[@]}" create "$name" "${where[@]}" --accelerator-type="$type" \
        --version="$version" "${extra[@]}" ;;
    copy)
      archive="/tmp/${name}-src.tar.gz"
      run git archive --format=tar.gz --prefix="$remote_dir/" -o "$archive" HEAD
      run "${gcloud_tpu[@]}" scp "$archive" "$name:~/" "${where[@]}" --worker=all
      run "${gcloud_tpu[@]}" ssh "$name" "${where[@]}" --worker=all \
        --command="rm -rf ~/$remote_dir && tar xzf ~/$(basename "$archive")" ;;
    install)
      run "${gcloud_tpu[@]}" ssh "$name" "${where[@]}" --worker=all \
        --command="cd ~/$remote_dir && python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[tpu]'" ;;
    run)
      printf -v job '%q ' python -m "$@" --workdir="$workdir"
      run "${gcloud_tpu[@]}" ssh "$name" "${where[@]}" --worker=all \
        --command="cd ~/$remote_dir && . .venv/bin/activate && $job" ;;
    fetch)
      run mkdir -p "$(dirname "$workdir")"
      run "${gcloud_tpu[@]}" scp --recurse "$name:~/$remote_dir/$workdir" \
        "$(dirname "$workdir")/" "${where[@]}" --worker=0 ;;
    delete)
      run "${gcloud_tpu[@]}" delete "$name" "${where[@]}" --quiet ;;
    *) echo "unknown step '$step'" >&2; exit 2 ;;
  esac
done
