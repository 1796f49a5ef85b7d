"""TCN configs: generation's values are refused before any work, naming the field."""

import pytest

from configs import corpus as corpus_config
from configs import groove as groove_config
from music_runtime.running.config_checks import ConfigError
from tcn_wta.training import config_checks


@pytest.mark.parametrize("field,value,message", [
    ("bars_per_section", 0, "config.generate.bars_per_section = 0: expected int >= 1"),
    ("qpm", 0.0, "config.generate.qpm = 0.0: expected float >= 1.0"),
    ("qpm", -60.0, "config.generate.qpm = -60.0"),
    ("qpm", 5000.0, "expected at most 1000"),
    ("structure", "", "config.generate.structure = '': expected section letters"),
    ("structure", "ab1", "expected section letters"),
    ("seed", 2**64, "config.generate.seed"),
    ("seed", -1, "config.generate.seed")])
def test_bad_generation_values_are_refused_naming_the_field(field, value, message):
  config = groove_config.get_config("quick")
  config.generate[field] = value
  with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
    config_checks.validate(config)


def test_the_shipped_generation_configs_pass():
  for config in (groove_config.get_config("quick"), groove_config.get_config(),
                 corpus_config.get_config("quick")):
    config_checks.validate(config)
