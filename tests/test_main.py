"""The README's entry point, run as a user would (tiny sizes through --config overrides)."""

import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_main_trains_resumes_and_prints_the_final_elbo(tiny_chorale_npz, tmp_path):
  command = [sys.executable, "-m", "kanerva_music.main", "--config=configs/chorales.py",
             f"--workdir={tmp_path}", f"--config.data.path={tiny_chorale_npz}",
             "--config.model.num_rows=4", "--config.episodes_per_memory=4",
             "--config.batch_size=2", "--config.num_train_steps=3", "--config.log_every_steps=1",
             "--config.eval.num_memories=3", "--config.eval.report=False"]
  done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  assert "Final test negative conditional ELBO:" in done.stdout
  assert "steps_per_sec" in done.stderr and "eta_sec" in done.stderr
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["3"]
  again = subprocess.run(command + ["--mode=eval"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
  assert again.returncode == 0, again.stderr[-3000:]
  assert done.stdout.splitlines()[-1] == again.stdout.splitlines()[-1]


def test_main_rejects_an_unknown_config_key(tmp_path):
  done = subprocess.run([sys.executable, "-m", "kanerva_music.main", "--config=configs/chorales.py",
                         f"--workdir={tmp_path}", "--config.modle.num_rows=4"], cwd=ROOT,
                        capture_output=True, text=True, timeout=120)
  assert done.returncode != 0
  assert "modle" in done.stderr and "Did you mean" in done.stderr


def _tiny_flags(npz, workdir):
  return [sys.executable, "-m", "kanerva_music.main", "--config=configs/chorales.py",
          f"--workdir={workdir}", f"--config.data.path={npz}", "--config.model.num_rows=4",
          "--config.episodes_per_memory=4", "--config.batch_size=2", "--config.num_train_steps=2",
          "--config.eval.num_memories=3", "--config.eval.report=False"]


def _snapshot(workdir):
  files = {}
  for root, _, names in os.walk(workdir):
    for name in names:
      path = os.path.join(root, name)
      if not name.startswith("events."):
        files[os.path.relpath(path, workdir)] = open(path, "rb").read()
  return files


def test_user_errors_are_one_line_exit_2_and_leave_the_workdir_untouched(tiny_chorale_npz,
                                                                         tmp_path):
  from kanerva_music import config_checks  # pylint: disable=import-outside-toplevel
  from tests.conftest import tiny_config  # pylint: disable=import-outside-toplevel
  from kanerva_music import train  # pylint: disable=import-outside-toplevel
  config = tiny_config(tiny_chorale_npz, 2)
  train.train_and_evaluate(config, str(tmp_path))
  before = _snapshot(tmp_path)
  cases = [("--config.num_train_steps=-5", "config.num_train_steps = -5: expected int >= 1"),
           ("--config.batch_size=0", "config.batch_size = 0: expected int >= 1"),
           ("--config.model.obs_noise_std=0.2", "model.obs_noise_std: 0.03 -> 0.2"),
           ("--config.data.path=/nonexistent/jsb.npz", "/nonexistent/jsb.npz: no such file")]
  for flag, message in cases:
    done = subprocess.run(_tiny_flags(tiny_chorale_npz, tmp_path) + [flag], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, (flag, done.stderr[-2000:])
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], (flag, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert _snapshot(tmp_path) == before, flag
  # Fields that are safe to change resume the same run.
  assert not config_checks.differing_keys(tiny_config(tiny_chorale_npz, 50),
                                          json.load(open(tmp_path / "config.json")))


def test_other_binaries_report_user_errors_in_one_line(tmp_path):
  cases = [([sys.executable, "-m", "tcn_wta.main", "--config=configs/groove.py",
             f"--workdir={tmp_path / 'run'}", f"--config.data.root={tmp_path / 'nowhere'}"],
            "groove-v1.0.0-midionly.zip"),
           ([sys.executable, "-m", "tcn_wta.main", "--config=configs/groove.py",
             f"--workdir={tmp_path / 'run'}", "--config.batch_size=0"],
            "config.batch_size = 0: expected int >= 1"),
           ([sys.executable, "-m", "tcn_wta.main", "--config=configs/maestro.py",
             f"--workdir={tmp_path / 'run'}", "--config.data.representation=drums"],
            "config.data.representation = 'drums': expected one of ('events', 'event_ids', 'roll')"),
           ([sys.executable, "-m", "kanerva_music.main", "--config=configs/chorales.py",
             f"--workdir={tmp_path / 'run'}", "--config.modle.read_method=svd"],
            "--config.modle.read_method: unknown config key 'modle'; Did you mean \"model\""),
           ([sys.executable, "-m", "kanerva_music.main", "--config=configs/chorales.py:nope",
             f"--workdir={tmp_path / 'run'}"], "Unknown config variant 'nope'"),
           ([sys.executable, "-m", "kanerva_music.complete", f"--workdir={tmp_path / 'none'}",
             "--input=x.mid", "--output=y.mid"], "no config.json"),
           ([sys.executable, "-m", "kanerva_music.complete", "--input=x.mid", "--output=y.mid"],
            "--workdir is required")]
  for command, message in cases:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in done.stderr, (
        errors, done.stderr[-2000:])
  assert not os.path.exists(tmp_path / "run")  # nothing written by a run that cannot start
