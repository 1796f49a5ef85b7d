"""Recall against bytes: every method's storage, its recall frontier and the largest T per budget.

A method is a way to keep T episodes and read them back half masked: a DKM memory of K rows at a
precision, read by `lstsq` or by attention over its kept read-outs, or a list of the episodes
(float32, pitch bytes, run-length, lzma; read by the nearest stored episode, lossless), or the
modern Hopfield read over the float32 list. `storage` states each one's bytes per memory and per
episode, `frontier` its half-masked stored recall (exact) at every T, and `budget` the largest T
each family of methods recalls at >= 90% within B bytes (docs/dkm.md, "Storage").
"""

from typing import Mapping, Optional

from kanerva_music.evaluation import storage

BUDGETS = (4096, 16384, 65536)
RECALL_THRESHOLD = 0.9
LIST_KINDS = ("list_float32", "list_pitch_bytes", "list_run_length", "list_lzma")


def memory_methods(curves: Mapping, num_cols: int, reads=("lstsq", "attention")) -> dict:
  """{method: {"family", "bytes" {T}, "recall" {T}, "full_rank", "rows", "precision"}} of the
  DKM memories in the capacity `curves` ({read or "read@precision": {K: {T: {task: {...}}}}})."""
  methods = {}
  for read in reads:
    for precision in storage.PRECISIONS:
      key = read if precision == "float32" else f"{read}@{precision}"
      for rows, by_size in curves.get(key, {}).items():
        rows = int(rows)
        methods[f"dkm_{read}_K{rows}_{precision}"] = {
            "family": f"dkm_{read}", "rows": rows, "precision": precision,
            "full_rank": storage.full_rank(rows, num_cols),
            "bytes": {t: storage.memory_bytes(rows, num_cols, precision, int(t),
                                              keeps_readouts=read == "attention")
                      for t in by_size},
            "recall": {t: by_task["half"]["acc_exact"] for t, by_task in by_size.items()}}
  return methods


def list_methods(curves: Mapping, list_bytes_by_size: Mapping) -> dict:
  """The lossless lists (read by the nearest stored episode, so their recall is
  `nearest_stored`'s) and, where the curves hold it, the modern Hopfield read over the float32
  list.
  list_bytes_by_size: {T: {list kind: mean bytes per memory}}."""
  nearest = curves["nearest_stored"]["all"]
  methods = {}
  for kind in LIST_KINDS:
    methods[kind] = {"family": kind, "full_rank": False,
                     "bytes": {t: list_bytes_by_size[int(t)][kind] for t in nearest},
                     "recall": {t: v["half"]["acc_exact"] for t, v in nearest.items()}}
  hopfield = curves.get("modern_hopfield", {}).get("all")
  if not hopfield:
    return methods
  methods["modern_hopfield"] = {
      "family": "modern_hopfield", "full_rank": False,
      "bytes": {t: list_bytes_by_size[int(t)]["list_float32"] for t in hopfield},
      "recall": {t: v["half"]["acc_exact"] for t, v in hopfield.items()}}
  return methods


def storage_section(methods: Mapping) -> dict:
  """report["storage"]: {method: {bytes {T}, bytes_per_episode {T}, full_rank}}."""
  return {name: {"bytes": {str(t): float(b) for t, b in m["bytes"].items()},
                 "bytes_per_episode": {str(t): float(b) / int(t) for t, b in m["bytes"].items()},
                 "full_rank": m["full_rank"]}
          for name, m in methods.items()}


def frontier_section(methods: Mapping) -> dict:
  """report["frontier"]: {method: {T: {"half": {"acc_exact": recall}}}}."""
  return {name: {str(t): {"half": {"acc_exact": float(r)}} for t, r in m["recall"].items()}
          for name, m in methods.items()}


def largest_within(method: Mapping, budget: int,
                   threshold: float = RECALL_THRESHOLD) -> int:
  """The largest T the method recalls at >= threshold with bytes(T) <= budget (0: none)."""
  return max((int(t) for t, r in method["recall"].items()
              if r >= threshold and method["bytes"][t] <= budget), default=0)


def budget_section(methods: Mapping, budgets=BUDGETS,
                   threshold: float = RECALL_THRESHOLD) -> dict:
  """report["budget"]: {B: {family: {"largest_t", "method", "measured_max_t"}}}, the best
  method of each family (memories with K >= C excluded: they hold anything, trivially)."""
  out = {}
  for budget in budgets:
    by_family = {}
    for name, m in methods.items():
      if m["full_rank"]:
        continue
      t = largest_within(m, budget, threshold)
      best = by_family.get(m["family"])
      if best is None or t > best["largest_t"]:
        by_family[m["family"]] = {"largest_t": t, "method": name if t else None,
                                  "measured_max_t": max(int(s) for s in m["recall"])}
    out[str(budget)] = by_family
  return out


def sections(curves: Mapping, list_bytes_by_size: Mapping, num_cols: int) -> dict:
  """{"storage", "frontier", "budget"} of the report from the capacity curves and the lists'
  bytes."""
  methods = {**memory_methods(curves, num_cols), **list_methods(curves, list_bytes_by_size)}
  return {"storage": storage_section(methods), "frontier": frontier_section(methods),
          "budget": budget_section(methods)}
