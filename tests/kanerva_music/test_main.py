"""The README's entry point, run as a user would (tiny sizes through --config overrides)."""

import json
import os
import subprocess
import sys
import time

import numpy as np

from music_runtime.files import workdir_lock
from tests.conftest import random_splits
from tests.conftest import write_object_npz

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


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
  saved_config = open(tmp_path / "config.json", "rb").read()
  again = subprocess.run(command + ["--mode=eval", "--config.eval.num_memories=4"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
  assert again.returncode == 0, again.stderr[-3000:]
  assert open(tmp_path / "config.json", "rb").read() == saved_config  # evaluation never writes it
  again = subprocess.run(command + ["--mode=eval"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
  assert done.stdout.splitlines()[-1] == again.stdout.splitlines()[-1]
  os.remove(tmp_path / "config.json")  # nothing left to compare the config with but the arrays
  other = subprocess.run(command + ["--mode=eval", "--config.model.num_rows=2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
  assert other.returncode == 2 and "Traceback" not in other.stderr
  assert other.stderr.strip().splitlines()[-1].startswith("error: checkpoint ")
  assert "where the config builds (2," in other.stderr
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["3"]  # never renamed for a config


def test_a_second_trainer_on_a_running_workdir_is_refused_within_seconds(tiny_chorale_npz,
                                                                         tmp_path):
  first = subprocess.Popen(_tiny_flags(tiny_chorale_npz, tmp_path / "run")
                           + ["--config.num_train_steps=1000000"], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  try:
    deadline = time.monotonic() + 120
    while not os.path.exists(tmp_path / "run" / ".lock") and time.monotonic() < deadline:
      time.sleep(0.2)
    start = time.monotonic()
    second = subprocess.run(_tiny_flags(tiny_chorale_npz, tmp_path / "run")
                            + ["--config.seed=1"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    elapsed = time.monotonic() - start
  finally:
    first.kill()
    first.wait()
  assert second.returncode == 2, second.stderr[-2000:]
  assert f"is in use by pid {first.pid} on " in second.stderr and elapsed < 60


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
          "--config.data.episode_steps=8", "--config.eval.num_memories=3",
          "--config.eval.capacity_rows=(4,8)", "--config.eval.capacity_sizes=(2,4,8)",
          "--config.eval.recall_sizes=(2,8)", "--config.eval.report=False"]


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
  from kanerva_music.training import config_checks  # pylint: disable=import-outside-toplevel
  from tests.conftest import tiny_config  # pylint: disable=import-outside-toplevel
  from kanerva_music.training import train  # pylint: disable=import-outside-toplevel
  config = tiny_config(tiny_chorale_npz, 2)
  train.train_and_evaluate(config, str(tmp_path / "run"))
  workdir = tmp_path / "run"
  other_npz = str(tmp_path / "other.npz")
  write_object_npz(other_npz, random_splits(np.random.default_rng(1), num=4, length=72))
  before = _snapshot(workdir)
  cases = [("--config.num_train_steps=-5", "config.num_train_steps = -5: expected int >= 1"),
           ("--config.batch_size=0", "config.batch_size = 0: expected int >= 1"),
           ("--config.learning_rate=nan", "config.learning_rate = nan: expected a finite"),
           ("--config.model.obs_noise_std=0.2", "model.obs_noise_std: 0.03 -> 0.2"),
           ("--config.eval.num_memories=4", "eval.num_memories: 3 -> 4"),
           ("--config.num_train_steps=1", "config.num_train_steps = 1 is below step 2"),
           (f"--config.data.path={other_npz}", "not on jsb_file " + other_npz),
           ("--config.data.path=/nonexistent/jsb.npz", "/nonexistent/jsb.npz: no such file"),
           ("--config.mesh_devices=2", "config.mesh_devices = 2, but JAX sees only 1"),
           ("--workdir=", "--workdir is empty"),
           ("--mode=eval --config.model.prior_std=2.0", "cannot be evaluated with this one"),
           ("locked", "is in use by pid")]
  for flag, message in cases:
    command = _tiny_flags(tiny_chorale_npz, workdir) + [a for a in flag.split() if a != "locked"]
    if flag == "locked":  # a trainer running in this workdir
      with workdir_lock.hold(str(workdir)):
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    else:
      done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, (flag, done.stderr[-2000:])
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], (flag, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert _snapshot(workdir) == before, flag
  assert sorted(os.listdir(tmp_path)) == ["other.npz", "run", "tiny_chorales.npz"]
  # A damaged config.json is named in one line by the trainer and the completion tool.
  (workdir / "config.json").write_text(open(workdir / "config.json").read()[:40])
  for command in (_tiny_flags(tiny_chorale_npz, workdir),
                  [sys.executable, "-m", "kanerva_music.tools.complete", f"--workdir={workdir}",
                   "--input=in.mid", f"--output={tmp_path / 'out.mid'}"]):
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert f"error: {workdir / 'config.json'}: this run's config is damaged" in done.stderr
  # Fields that are safe to change resume the same run.
  saved = json.loads(before["config.json"])
  assert saved.pop("data_provenance")["path"] == os.path.abspath(tiny_chorale_npz)
  assert not config_checks.differing_keys(tiny_config(tiny_chorale_npz, 50), saved)


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
           ([sys.executable, "-m", "kanerva_music.tools.complete", f"--workdir={tmp_path / 'none'}",
             "--input=x.mid", "--output=y.mid"], "no config.json"),
           ([sys.executable, "-m", "kanerva_music.tools.complete", "--input=x.mid",
             "--output=y.mid"],
            "--workdir is required"),
           ([sys.executable, "-m", "kanerva_music.tools.complete", f"--workdir={tmp_path / 'none'}",
             "--input=x.mid", "--output=./x.mid"], "--output=./x.mid is the input file"),
           ([sys.executable, "-m", "kanerva_music.main", "--config=configs/chorales.py",
             f"--workdir={tmp_path / 'run'}", "--config=configs/nonexistent.py"],
            "--config: [Errno 2] No such file or directory: 'configs/nonexistent.py'")]
  for command, message in cases:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in done.stderr, (
        errors, done.stderr[-2000:])
  assert not os.path.exists(tmp_path / "run")  # nothing written by a run that cannot start
