"""music_runtime.files.workdir_utils: atomic writes, damaged JSON named, the checkpoint step."""

import pytest

from music_runtime.files import workdir_utils



def test_a_damaged_json_file_is_named_with_what_to_do(tmp_path):
  (tmp_path / "config.json").write_text('{"seed": 0, "mod')
  with pytest.raises(workdir_utils.WorkdirFileError,
                     match=r"config.json: this run's config is damaged \(not JSON"):
    workdir_utils.read_config_json(str(tmp_path))
  (tmp_path / "config.json").write_text("[1, 2]")
  with pytest.raises(workdir_utils.WorkdirFileError, match="expected a JSON object"):
    workdir_utils.read_config_json(str(tmp_path))


def test_config_json_keeps_the_provenance_apart_from_the_config(tmp_path):
  import ml_collections  # pylint: disable=import-outside-toplevel
  config = ml_collections.ConfigDict({"seed": 3, "data": {"path": "x.npz"}})
  record = {"kind": "jsb_file", "path": "/x.npz", "sha256": "ab" * 32, "description": "x"}
  workdir_utils.write_config_json(config, str(tmp_path), record)
  assert workdir_utils.read_config_json(str(tmp_path)) == {"seed": 3, "data": {"path": "x.npz"}}
  assert workdir_utils.read_run_record(str(tmp_path))[1] == record


def test_latest_checkpoint_step_reads_orbax_step_folders(tmp_path):
  assert workdir_utils.latest_checkpoint_step(str(tmp_path)) is None
  for name in ("500", "1000", "1000.corrupt", "tmp"):
    (tmp_path / "checkpoints" / name).mkdir(parents=True)
  assert workdir_utils.latest_checkpoint_step(str(tmp_path)) == 1000
