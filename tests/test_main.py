"""The README's entry point, run as a user would (tiny sizes through --config overrides)."""

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
