"""kanerva_music.tools.prior_benchmark: every ratio printed."""




def test_the_prior_benchmark_prints_each_ratio(capsys):
  from configs import chorales  # pylint: disable=import-outside-toplevel
  from kanerva_music.tools import prior_benchmark  # pylint: disable=import-outside-toplevel
  config = chorales.get_config("prior_quick")
  config.prior.width, config.prior.depth, config.batch_size = 16, 2, 4
  config.eval.gibbs_steps = 2
  prior_benchmark.report(config, repeats=1, train_steps=1)
  out = capsys.readouterr().out
  assert "GFLOP/s:" in out and "x of it" in out and "episodes/s" in out
  assert "training step as two programs (batch, update): " in out and " as one: " in out
  assert "cues/s without forming the memory" in out and "max difference" in out
