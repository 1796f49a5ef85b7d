"""The paper's applications, measured on a trained model (docs/tcn_wta.md, "Applications", 1-7).

Each function returns plain numbers (for report.json); `report.py` writes them, the figures and
the listening files.
"""

import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from music_runtime.training import batching
from music_runtime.training import checkpointing
from tcn_wta import model as model_lib
from tcn_wta.applications import cleaning
from tcn_wta.applications import codes
from tcn_wta.applications import compression
from tcn_wta.applications import markov_codes
from tcn_wta.datasets import data
from tcn_wta.datasets import maestro
from tcn_wta.datasets import representations
from tcn_wta.training import train

# Groove styles are "genre/variant" (e.g. "funk/purdieshuffle"); the probes ask for the genre.
LABEL_VIEWS = {"style": lambda value: value.split("/")[0]}


class Trained:
  """A restored model: the network, its parameters, the step and the final k."""

  def __init__(self, config, workdir, channels):
    self.net = train.build_model(config, channels)
    state, self.step = checkpointing.restore_trained(
        workdir, train.create_state(config, self.net), keep=config.checkpoints_to_keep)
    self.params = state["params"]
    self.k = model_lib.k_at_step(config.model.k, self.step)


def evaluation_windows(config, pieces, max_windows):
  """Non-overlapping full windows of a split, evenly spaced, as many as fit whole batches
  (so every batch metric has equal weight): ([W, window(, C)], batch size)."""
  pool = data.evaluation_pool(config.data, pieces)
  available = int(pool.starts.shape[0])
  num = min(max_windows, available) if max_windows else available
  batch = min(config.batch_size, num)
  num -= num % batch
  ids = np.linspace(0, available - 1, num).round().astype(np.int32)
  return np.asarray(data.gather(pool, jnp.asarray(ids), config.data.window)), batch


def evenly_spaced(windows, batch, max_windows):
  """At most `max_windows` of `windows`, evenly spaced, a whole number of batches."""
  num = min(len(windows), max(batch, max_windows - max_windows % batch))
  return windows[np.linspace(0, len(windows) - 1, num).round().astype(int)]


def reconstruction_and_cleaning(config, trained, windows, batch, drop=None, add=None):
  """Held-out reconstruction, and the model on corrupted windows: {"reconstruction",
  "corrupted", "cleaned"} metrics against the clean windows ("corrupted" scores the corrupted
  input itself); the noise is config.analysis.corrupt_drop / corrupt_add unless given."""
  rep, net, params, k = representations.of(config.data), trained.net, trained.params, trained.k
  drop = config.analysis.corrupt_drop if drop is None else drop
  add = config.analysis.corrupt_add if add is None else add
  corrupted = representations.corrupt(windows, rep, config.analysis.seed, drop, add,
                                      channels=net.channels)

  @jax.jit
  def scores(clean, noisy):
    x, x_noisy = (rep.to_inputs(a, net.channels) for a in (clean, noisy))
    recon, _ = net.apply({"params": params}, x, k)
    cleaned, _ = net.apply({"params": params}, x_noisy, k)
    out = {}
    for name, output in (("reconstruction", recon), ("corrupted", x_noisy), ("cleaned", cleaned)):
      out.update({f"{name}/{m}": v
                  for m, v in rep.metrics(output, x).items()})
    return out

  flat = batching.mean_in_batches(scores, (windows, corrupted), batch)
  result = {}
  for key, value in flat.items():
    group, name = key.split("/")
    result.setdefault(group, {})[name] = value
  return result, corrupted


def units_per_window(config, window):
  """(count, unit) of a window: bars of 16 sixteenths, or seconds for MAESTRO."""
  if config.data.dataset == "maestro":
    return representations.of(config.data).seconds_of(window, config.data), "second"
  return config.data.window / config.generate.steps_per_bar, "bar"


def midi_bytes_per_unit(config, windows):
  """Mean bytes of a window written as a MIDI file, per bar (or second)."""
  from music_runtime.files import audio  # pylint: disable=import-outside-toplevel
  sizes, units, unit = [], [], "bar"
  for window in windows[:config.analysis.midi_size_windows]:
    count, unit = units_per_window(config, window)
    if count > 0:
      sizes.append(audio.midi_bytes(representations.of(config.data).to_sequence(window,
                                                                                 config.data)))
      units.append(count)
  return float(np.sum(sizes) / np.sum(units)), unit


def top_n_ns(code_steps, k):
  """Powers of two below the code's size, then the whole code (code_steps x k entries)."""
  full = code_steps * k
  ns = [n for n in (2**i for i in range(32)) if n < full]
  return ns + [full]


def _kept_code_scores(config, trained, windows, batch, keep, ns):
  """For each n: mean metrics of the decoded code after `keep(code, n)` (values as float16),
  and the mean number of code entries kept per window. One program encodes each batch once."""
  rep, net, params = representations.of(config.data), trained.net, trained.params

  @jax.jit
  def scores(clean):
    x = rep.to_inputs(clean, net.channels)
    code = net.apply({"params": params}, x, trained.k, method=net.encode)
    out = {}
    for i, n in enumerate(ns):
      kept = keep(code, n).astype(jnp.float16).astype(jnp.float32)
      metrics = rep.metrics(net.apply({"params": params}, kept, method=net.decode), x)
      out.update({f"{i}/{name}": value for name, value in metrics.items()})
      out[f"{i}/entries"] = jnp.sum(kept != 0) / kept.shape[0]
    return out

  result = batching.mean_in_batches(scores, (windows,), batch)
  quality = [{name.split("/", 1)[1]: value for name, value in result.items()
              if name.startswith(f"{i}/") and not name.endswith("/entries")}
             for i in range(len(ns))]
  return quality, [result[f"{i}/entries"] for i in range(len(ns))]


def top_n(config, trained, windows, batch):
  """Quality and bytes per bar (or second) of the code simplified two ways: the N largest
  entries of each window, and the paper's top N atoms (the N most used atoms of the window, all
  their entries); entries stored as step, atom and float16 value. Beside them: the MIDI file,
  the lossless grid encoding and, at equal quality, the grid of the m most played rows
  (`compression`)."""
  rep, net = representations.of(config.data), trained.net
  code_steps = config.data.window // net.patch
  ns = top_n_ns(code_steps, trained.k)
  bits = codes.entry_bits(code_steps, net.num_atoms)
  units = float(np.mean([units_per_window(config, w)[0]
                         for w in windows[:config.analysis.midi_size_windows]]))
  quality, _ = _kept_code_scores(config, trained, windows, batch, codes.keep_top_n, ns)
  atom_ns = [n for n in ns if n < net.num_atoms] + [min(ns[-1], net.num_atoms)]
  atom_ns = sorted(set(atom_ns))
  atom_quality, atom_entries = _kept_code_scores(config, trained, windows, batch,
                                                 codes.keep_top_atoms, atom_ns)
  midi, unit = midi_bytes_per_unit(config, windows)
  out = {"n": ns, "quality": quality,
         "code_bytes_per_unit": [codes.sparse_code_bytes(n, code_steps, net.num_atoms) / units
                                 for n in ns],
         "atoms": {"n": atom_ns, "quality": atom_quality, "entries_per_window": atom_entries,
                   "code_bytes_per_unit": [e * bits / 8 / units for e in atom_entries]},
         "midi_bytes_per_unit": midi, "unit": unit, "entry_bits": bits, "windows": len(windows)}
  if rep.cell_scores is not None:
    played = cleaning.played_cells(rep, windows)
    out["lossless_bytes_per_unit"] = float(np.mean(compression.lossless_bytes(played))) / units
    out["lossless"] = "the smaller of a bitmap and a run-length code of the played cells"
    out["grid_baseline"] = [{**point, "bytes_per_unit": point["bytes_per_window"] / units}
                            for point in compression.row_subset_curve(played)]
  else:
    out["lossless_bytes_per_unit"] = compression.token_bytes(
        config.data.window, maestro.NUM_EVENTS) / units
    out["lossless"] = f"token ids at {compression.token_bits(maestro.NUM_EVENTS)} bits each"
  return out


def piece_labels(config, splits, names):
  """{name: [pieces] str} over all splits in sorted split order, through LABEL_VIEWS."""
  out = {}
  for name in names:
    values = np.concatenate([splits[s].labels[name] for s in sorted(splits)])
    view = LABEL_VIEWS.get(name) if config.data.dataset == "groove" else None
    out[name] = np.array([view(str(v)) if view else str(v) for v in values])
  return out


def piece_level(config, trained, splits):
  """Mean code and mean input patch of every piece (all splits), with their labels."""
  features, raw, labels = [], [], {}
  wanted = sorted(set(config.analysis.probe_labels) | set(config.analysis.style_labels)
                  | ({config.analysis.group_label} if config.analysis.get("group_label") else set()))
  all_labels = piece_labels(config, splits, wanted)
  offset = 0
  for split in sorted(splits):
    windows = codes.piece_windows(splits[split], config.data.window, trained.net.patch,
                                  config.analysis.max_windows_per_piece)
    code_mean, raw_mean, present = codes.piece_features(trained.net, trained.params, config,
                                                        trained.k, windows)
    features.append(code_mean)
    raw.append(raw_mean)
    for name in wanted:
      labels.setdefault(name, []).append(all_labels[name][offset + present])
    offset += len(splits[split])
  return (np.concatenate(features), np.concatenate(raw),
          {name: np.concatenate(v) for name, v in labels.items()})


def code_bank(config, trained, pieces):
  """The training codes as a markov_codes.CodeBank (full windows, evenly spaced)."""
  windows, batch = evaluation_windows(config, pieces, config.analysis.bank_windows)
  net, params, k, rep = trained.net, trained.params, trained.k, representations.of(config.data)

  @jax.jit
  def winners(inputs):
    code = net.apply({"params": params}, rep.to_inputs(inputs, net.channels), k,
                     method=net.encode)
    _, atoms = jax.lax.top_k(jnp.abs(code), k)
    return atoms, jnp.take_along_axis(code, atoms, axis=-1)

  atoms, values = batching.map_in_batches(winners, (windows,), batch)
  steps_per_bar = config.generate.steps_per_bar
  period = steps_per_bar // net.patch if steps_per_bar and steps_per_bar % net.patch == 0 else 1
  return markov_codes.CodeBank(atoms, values, net.num_atoms, period)


def parameter_count(config, channels):
  """Parameters of the model a config builds, without computing them."""
  net = train.build_model(config, channels)
  dummy = jnp.zeros((1, config.data.window, channels), jnp.float32)
  shapes = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), dummy,
                                           config.model.k.k_start))
  return sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(shapes))


def authors_variant_size(config):
  """For MAESTRO: the same model fed the authors' one channel (token ids scaled, the
  `event_ids` representation), its parameters and their float64 bytes; else None."""
  if config.data.dataset != "maestro":
    return None
  variant = ml_collections.ConfigDict(config.to_dict())
  variant.data.representation = "event_ids"
  count = parameter_count(variant, 1)
  return {"parameters": count, "float64_bytes": 8 * count}


def model_size(params, workdir, step):
  """Parameters, their float32 bytes and the bytes of the checkpoint (parameters + Adam)."""
  count = sum(int(np.prod(p.shape)) for p in jax.tree_util.tree_leaves(params))
  directory = os.path.join(os.path.abspath(workdir), "checkpoints", str(step))
  checkpoint = sum(os.path.getsize(os.path.join(root, f))
                   for root, _, files in os.walk(directory) for f in files)
  return {"parameters": count, "parameter_bytes": 4 * count, "checkpoint_bytes": checkpoint}
