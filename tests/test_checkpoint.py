import io
import os
import pickle

import numpy as np
import pytest
import torch

from denoiser.errors import DenoiserError
from denoiser.inference.tiled import denoise
from denoiser.models.checkpoint import checkpoint_bytes, load_checkpoint, save_checkpoint
from denoiser.models.networks import ModelConfig, build_model


def test_round_trip_keeps_weights_config_and_metadata(tmp_path, gray_image):
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture="row", hidden=8, depth=2))
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, {"scenario": "gray-gaussian", "test_psnr": 27.5})
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    assert loaded.metadata == {"scenario": "gray-gaussian", "test_psnr": 27.5}
    np.testing.assert_array_equal(denoise(model, gray_image, 10), denoise(loaded.model, gray_image, 10))
    assert load_checkpoint(path.read_bytes()).config == model.config  # from an upload's bytes


class RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/denoiser-pwned",))


def test_a_pickle_that_runs_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "lstm-denoiser/1", "payload": RunsCode()}, path)
    if os.path.exists("/tmp/denoiser-pwned"):
        os.remove("/tmp/denoiser-pwned")
    with pytest.raises(DenoiserError, match="refused"):
        load_checkpoint(path)
    assert not os.path.exists("/tmp/denoiser-pwned")
    for protocol in (2, pickle.DEFAULT_PROTOCOL):  # a bare pickle is refused before any unpickler reads it
        with pytest.raises(DenoiserError, match="not a denoiser checkpoint"):
            load_checkpoint(pickle.dumps(RunsCode(), protocol=protocol))
    assert not os.path.exists("/tmp/denoiser-pwned")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04broken zip"])
def test_files_that_are_not_checkpoints_get_a_clear_error(tmp_path, content):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(DenoiserError, match="not a denoiser checkpoint"):
        load_checkpoint(path)


def test_foreign_torch_files_and_mismatched_weights_are_rejected(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(DenoiserError, match="of this lab"):
        load_checkpoint(foreign)
    model = build_model(ModelConfig(hidden=8, features=8))
    data = checkpoint_bytes(model)
    payload = torch.load(__import__("io").BytesIO(data), weights_only=True)
    payload["model_config"]["hidden"] = 16
    mismatched = tmp_path / "mismatched.pt"
    torch.save(payload, mismatched)
    with pytest.raises(DenoiserError, match="do not match"):
        load_checkpoint(mismatched)
    with pytest.raises(DenoiserError, match="No such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_file_with_other_weight_names_than_its_model_is_refused_in_one_line(tmp_path):
    # Keys load as they are stored: a file naming the specialist's weights otherwise (once `low.`) is refused.
    model = build_model(ModelConfig(hidden=8, features=8, specialist_below=20.0))
    payload = torch.load(io.BytesIO(checkpoint_bytes(model)), weights_only=True)
    renamed = {key.replace("specialist.", "low."): value for key, value in payload["state_dict"].items()}
    torch.save({**payload, "state_dict": renamed}, tmp_path / "old.pt")
    with pytest.raises(DenoiserError, match="do not match its model description"):
        load_checkpoint(tmp_path / "old.pt")
