"""configs/: every variant has its own default workdir (runs/<config.name>)."""

from configs import chorales
from configs import corpus
from configs import groove
from configs import maestro


ALIASES = {"precise": ""}  # chorales.py: two names for one config


def test_every_variant_names_its_own_workdir():
  for alias, target in ALIASES.items():
    assert chorales.get_config(alias) == chorales.get_config(target)
  names = {}
  for module, variants in ((chorales, chorales.VARIANTS), (groove, ("", "quick")),
                           (corpus, ("", "quick")),
                           (maestro, ("", "quick", "roll_sparse", "authors"))):
    for variant in (v for v in variants if v not in ALIASES):
      name = module.get_config(variant).name
      assert name not in names, (module.__name__, variant, names.get(name))
      names[name] = (module.__name__, variant)
  assert names["chorales_quick"] == ("configs.chorales", "quick")
