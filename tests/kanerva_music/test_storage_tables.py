"""kanerva_music.reporting.storage_tables: the budget table and the frontier in REPORT.md."""

from kanerva_music.reporting import storage_tables
from tests.kanerva_music.test_frontier import _curves
from tests.kanerva_music.test_frontier import _list_bytes
from kanerva_music.evaluation import frontier


def test_the_tables_mark_the_largest_measured_t_and_full_rank_memories():
  lines = storage_tables.markdown(frontier.sections(_curves(), _list_bytes(), num_cols=128))
  assert "| method | 4 KB | 16 KB | 64 KB |" in lines
  # lzma recalls every T measured within 4 KB: '+', the largest measured, may hold more.
  assert "| list_lzma | 32+ (`list_lzma`) | 32+ (`list_lzma`) | 32+ (`list_lzma`) |" in lines
  assert "| list_float32 | 8 (`list_float32`) | 32+ (`list_float32`) | 32+ (`list_float32`) |" in (
      lines)
  assert "| dkm_lstsq | 16 (`dkm_lstsq_K4_float32`) |" in " ".join(lines)
  frontier_rows = {line.split(" | ")[0][2:]: line for line in lines
                   if line.startswith("| dkm_") or line.startswith("| list_")}
  assert frontier_rows["dkm_lstsq_K200_float32"].startswith("| dkm_lstsq_K200_float32 | yes |")
  assert "| dkm_lstsq_K4_float32 | no | 256 B: 100.0% | 128 B: 95.0% | 64 B: 50.0% |" in lines
  assert "| dkm_lstsq_K4_int8 | no | 66 B: 97.0% | 33 B: 60.0% | 16 B: 20.0% |" in lines
  assert lines[-1] == "![recall against bytes](frontier.png)"
