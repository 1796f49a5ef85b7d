"""REPORT.md's storage section: the budget table and the recall-vs-bytes frontier."""

from typing import Mapping

from kanerva_music.evaluation import frontier


def _kb(num_bytes: float) -> str:
  return f"{num_bytes / 1024:g} KB"


def _bytes(num_bytes: float) -> str:
  return f"{num_bytes:,.0f} B" if num_bytes >= 10 else f"{num_bytes:.1f} B"


def _largest(entry: Mapping) -> str:
  """'T (method)', with '+' where T is the largest size measured (it may hold more)."""
  t = entry["largest_t"]
  if not t:
    return "0"
  plus = "+" if t == entry["measured_max_t"] else ""
  return f"{t}{plus} (`{entry['method']}`)"


def markdown(report: Mapping) -> list:
  """Lines of the storage section (report["storage"], ["frontier"], ["budget"])."""
  budget, front, store = report["budget"], report["frontier"], report["storage"]
  budgets = list(budget)
  families = list(next(iter(budget.values())))
  lines = ["", "## Storage: recall against bytes", "",
           "Each method keeps T stored test episodes and reads them back half masked (exact "
           "pitch on the masked entries). Memories keep K x C entries at their precision (int8: "
           "plus a float32 scale per row) and, for the attention read, the T x C read-outs at the "
           "same precision; lists keep the episodes themselves (float32, one byte per pitch, "
           "run-length (pitch, length) byte pairs, lzma of the pitch bytes) and read by the "
           "nearest stored episode after exact decoding. Memories with K >= C are *full rank*: "
           "they can reconstruct any episode, so their recall says nothing about storage, and "
           "the budget table leaves them out.", "",
           f"### Largest T recalled at >= {100 * frontier.RECALL_THRESHOLD:.0f}% within a budget",
           "", "| method | " + " | ".join(_kb(int(b)) for b in budgets) + " |",
           "| --- " * (len(budgets) + 1) + "|"]
  for family in families:
    lines.append(f"| {family} | "
                 + " | ".join(_largest(budget[b][family]) for b in budgets) + " |")
  sizes = sorted({t for by_size in front.values() for t in by_size}, key=int)
  lines += ["", "'+': the largest T measured.", "",
            "### Frontier: bytes per stored episode, recall (half masked, exact)", "",
            "| method | full rank | " + " | ".join(f"T={t}" for t in sizes) + " |",
            "| --- " * (len(sizes) + 2) + "|"]
  for method, by_size in front.items():
    per_episode = store[method]["bytes_per_episode"]
    cells = [f"{_bytes(per_episode[t])}: {100 * by_size[t]['half']['acc_exact']:.1f}%"
             if t in by_size else "-" for t in sizes]
    lines.append(f"| {method} | {'yes' if store[method]['full_rank'] else 'no'} | "
                 + " | ".join(cells) + " |")
  return lines + ["", "![recall against bytes](frontier.png)"]
