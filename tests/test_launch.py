"""launch/: every script parses, dry runs print the exact commands, sweeps expand as declared."""

import os
import subprocess
import sys

import pytest

from music_runtime.training import distributed

ROOT = os.path.join(os.path.dirname(__file__), "..")
LAUNCH = os.path.join(ROOT, "launch")
SCRIPTS = ("tpu_vm.sh", "slurm_gpu.sbatch", "slurm_array.sbatch")


def run(args, env=None):
  return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False,
                        env=dict(os.environ, **(env or {})))


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_parse(script):
  out = run(["bash", "-n", os.path.join(LAUNCH, script)])
  assert out.returncode == 0, out.stderr


def test_sweep_expands_a_configs_sweep_into_commands():
  out = run([sys.executable, "launch/sweep.py", "--config=configs/groove.py", "--dry_run",
             "--root=/tmp/sw", "--", "--config.data.root=/data/groove"])
  assert out.returncode == 0, out.stderr
  lines = out.stdout.strip().splitlines()
  assert len(lines) == 6  # k_end in (1, 2, 4) x num_atoms in (100, 400)
  assert lines[0] == ("python -m tcn_wta.main --config=configs/groove.py "
                      "--workdir=/tmp/sw/groove/000_k_end=1_num_atoms=100 "
                      "--config.model.k.k_end=1 --config.model.num_atoms=100 "
                      "--config.data.root=/data/groove")
  assert lines[5].endswith("--config.model.k.k_end=4 --config.model.num_atoms=400 "
                           "--config.data.root=/data/groove")
  assert not os.path.exists("/tmp/sw/groove")  # a dry run creates nothing


def test_slurm_sweep_is_an_array_job_whose_tasks_run_the_commands(tmp_path):
  out = run([sys.executable, "launch/sweep.py", "--config=configs/chorales.py:quick",
             "--runner=slurm", "--sbatch_args=--partition=gpu", f"--root={tmp_path}",
             "--dry_run"])
  assert out.returncode == 0, out.stderr
  lines = out.stdout.strip().splitlines()
  assert len(lines) == 11  # 3 U0 x 2 sigma_xi (the ablation), 2 K x 2 sigma_xi, then sbatch
  assert lines[-1].startswith("sbatch --array=0-9 --partition=gpu ")
  assert lines[-1].endswith(f"launch/slurm_array.sbatch {tmp_path}/chorales_quick/commands.txt")
  assert "kanerva_music.main --config=configs/chorales.py:quick" in lines[0]
  assert "--config.model.prior_cov=full --config.model.obs_noise_std=0.03" in lines[0]
  assert "--config.model.num_rows=64 --config.model.obs_noise_std=0.2" in lines[9]
  commands = tmp_path / "commands.txt"
  commands.write_text("\n".join(lines[:-1]) + "\n")
  task = run(["bash", "launch/slurm_array.sbatch", str(commands)],
             env={"DRY_RUN": "1", "SLURM_ARRAY_TASK_ID": "9"})
  assert task.returncode == 0 and task.stdout.strip() == lines[9]
  beyond = run(["bash", "launch/slurm_array.sbatch", str(commands)],
               env={"DRY_RUN": "1", "SLURM_ARRAY_TASK_ID": "10"})
  assert beyond.returncode == 2 and "no line for array task 10" in beyond.stderr


def test_sweep_rejects_unknown_config_keys(tmp_path):
  config = tmp_path / "bad.py"
  config.write_text("import ml_collections\n"
                    "def get_config(variant=''):\n"
                    "  return ml_collections.ConfigDict({'name': 'bad', 'data': {'path': ''}})\n"
                    "def get_sweep():\n"
                    "  return [{'model.num_rowz': 3}]\n")
  out = run([sys.executable, "launch/sweep.py", f"--config={config}", "--dry_run"])
  assert out.returncode != 0 and "unknown config key 'model.num_rowz'" in out.stderr


def test_slurm_gpu_dry_run_prints_the_srun_command():
  out = run(["bash", "launch/slurm_gpu.sbatch", "tcn_wta.main", "--config=configs/groove.py",
             "--workdir=runs/g"], env={"DRY_RUN": "1"})
  assert out.returncode == 0, out.stderr
  assert out.stdout.strip() == ("srun --kill-on-bad-exit=1 python -m tcn_wta.main "
                                "--config=configs/groove.py --workdir=runs/g")
  bad = run(["bash", "launch/slurm_gpu.sbatch", "os.system"], env={"DRY_RUN": "1"})
  assert bad.returncode == 2 and "unknown module" in bad.stderr


def test_tpu_vm_dry_run_prints_every_step_on_all_workers():
  out = run(["bash", "launch/tpu_vm.sh", "--name=vm", "--zone=us-central2-b", "--type=v4-32",
             "--dry-run", "--", "kanerva_music.main", "--config=configs/chorales.py"])
  assert out.returncode == 0, out.stderr
  lines = out.stdout.strip().splitlines()
  assert lines[0] == ("gcloud compute tpus tpu-vm create vm --zone=us-central2-b "
                      "--accelerator-type=v4-32 --version=tpu-ubuntu2204-base")
  assert sum("--worker=all" in line for line in lines) == 4  # copy, unpack, install, run
  assert "pip\\ install\\ -e\\ \\'.\\[tpu\\]\\'" in lines[4]
  assert "python\\ -m\\ kanerva_music.main\\ --config=configs/chorales.py" in lines[5]
  assert lines[-1].endswith("--worker=0")  # results come from worker 0
  missing = run(["bash", "launch/tpu_vm.sh", "--zone=z", "--dry-run", "--", "x"])
  assert missing.returncode == 2 and "--name and --zone are required" in missing.stderr


@pytest.mark.parametrize("mode,address,environ,expected", [
    ("auto", None, {}, False),
    ("auto", None, {"SLURM_NTASKS": "1"}, False),
    ("auto", None, {"SLURM_NTASKS": "16"}, True),
    ("auto", None, {"TPU_WORKER_HOSTNAMES": "10.0.0.2"}, False),
    ("auto", None, {"TPU_WORKER_HOSTNAMES": "10.0.0.2,10.0.0.3"}, True),
    ("auto", "10.0.0.2:1234", {}, True),
    ("off", None, {"SLURM_NTASKS": "16"}, False),
    ("on", None, {}, True),
])
def test_when_jax_distributed_is_initialized(mode, address, environ, expected):
  assert distributed.should_initialize(mode, address, environ) == expected
