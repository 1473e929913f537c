"""Checkpoints: weights with their model config and metadata, loaded only through the safe path
(`torch.load(weights_only=True)`), so a file cannot run code when it is opened."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from denoiser.errors import DenoiserError
from denoiser.models.networks import ModelConfig, build_model

FORMAT = "lstm-denoiser/1"

@dataclass
class Checkpoint:
    model: nn.Module
    config: ModelConfig
    metadata: dict


def checkpoint_bytes(model: nn.Module, metadata: dict | None = None, extra: dict | None = None) -> bytes:
    """The checkpoint as bytes (for downloads); `extra` holds resumable state such as the optimizer."""
    buffer = io.BytesIO()
    payload = {"format": FORMAT, "model_config": model.config.to_dict(),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "metadata": dict(metadata or {})}
    payload.update(extra or {})
    torch.save(payload, buffer)
    return buffer.getvalue()


def save_checkpoint(path: str | os.PathLike, model: nn.Module, metadata: dict | None = None,
                    extra: dict | None = None) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(checkpoint_bytes(model, metadata, extra))
    os.replace(temporary, path)


def read_payload(source: str | os.PathLike | bytes) -> dict:
    """The raw checkpoint dictionary, validated; a clear error for anything else."""
    name = "The upload" if isinstance(source, (bytes, bytearray)) else str(source)
    if not isinstance(source, (bytes, bytearray)) and not Path(source).is_file():
        raise DenoiserError(f"No such checkpoint: {source}")
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    if not zipfile.is_zipfile(stream):  # torch.save writes a zip archive; a bare pickle is not ours
        raise DenoiserError(f"{name} is not a denoiser checkpoint.")
    if isinstance(stream, io.BytesIO):
        stream.seek(0)  # is_zipfile read its end
    try:
        payload = torch.load(stream, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "global" in str(error).lower():  # the safe unpickler met a class or function to call
            raise DenoiserError(f"{name} was refused: it holds code or objects, not only weights.") from None
        raise DenoiserError(f"{name} is not a denoiser checkpoint.") from None
    except Exception:  # garbage fails the unpickler in many ways: RuntimeError, EOFError, IndexError, ...
        raise DenoiserError(f"{name} is not a denoiser checkpoint.") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DenoiserError(f"{name} is not a denoiser checkpoint of this lab.")
    return payload


def load_checkpoint(source: str | os.PathLike | bytes) -> Checkpoint:
    payload = read_payload(source)
    try:
        config = ModelConfig(**payload["model_config"])
        model = build_model(config)
        model.load_state_dict(payload["state_dict"])
    except (TypeError, ValueError, KeyError, RuntimeError):
        raise DenoiserError("The checkpoint's weights do not match its model description.") from None
    model.eval()
    return Checkpoint(model, config, payload.get("metadata", {}))
