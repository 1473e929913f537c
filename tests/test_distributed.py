"""Distributed training: the world torchrun describes, the sharded patch stream, exact resume, and
two real CPU processes under torchrun (gloo), then resumed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from denoiser.cli import main
from denoiser.errors import DenoiserError
from denoiser.models.checkpoint import load_checkpoint, read_payload
from denoiser.models.networks import ModelConfig, build_model
from denoiser.scenarios import SCENARIOS
from denoiser.training.distributed import World, fingerprint, split_batch, world_from_env
from denoiser.training.loops import CorpusConfig, train_on_corpus
from denoiser.training.patches import PatchGroups, PatchStream, distributed_epochs, image_files

REPO = Path(__file__).resolve().parents[1]
GRAY = SCENARIOS["gray-gaussian"]
TINY = ["--scenario", "gray-gaussian", "--patch-size", "16", "--batch-size", "4", "--hidden", "8",
        "--features", "8", "--checkpoint-every", "2"]


def write_photos(folder: Path, count: int = 4, size: int = 40) -> Path:
    """Tiny smooth gray images (PNG, and one JPEG in a subfolder: the stream walks the tree)."""
    rng = np.random.default_rng(7)
    (folder / "sub").mkdir(parents=True)
    for i in range(count):
        ramp = np.add.outer(np.arange(size), np.arange(size)) * (2 + i) % 256
        pixels = np.clip(ramp + rng.normal(0, 4, ramp.shape), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / ("sub" if i == 0 else "") / f"photo{i}.{'jpg' if i == 0 else 'png'}")
    return folder


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def test_world_comes_from_torchrun_variables():
    assert world_from_env({}, use_cuda=False) == World()
    world = world_from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}, use_cuda=False)
    assert (world.rank, world.size, world.local_rank, world.local_size) == (3, 4, 1, 2)
    assert world.backend == "gloo" and not world.is_main
    assert world_from_env({"LOCAL_RANK": "1"}, use_cuda=True).device == torch.device("cuda", 1)
    assert World(device=torch.device("cuda", 0)).backend == "nccl"


def test_the_global_batch_splits_evenly_or_not_at_all():
    assert split_batch(8, 1, 1) == 8
    assert split_batch(8, 2, 1) == 4
    assert split_batch(8, 2, 2) == 2
    with pytest.raises(DenoiserError, match="multiple of 3"):
        split_batch(8, 3, 1)
    with pytest.raises(DenoiserError, match="multiple of 16"):
        split_batch(8, 4, 4)


def test_the_distributed_sampler_shares_out_the_images():
    first, second = (distributed_epochs(5, rank, 2, seed=0) for rank in (0, 1))
    epoch0 = [next(first) for _ in range(3)], [next(second) for _ in range(3)]
    indices = [index for share in epoch0 for _, index, _ in share]
    assert {epoch for share in epoch0 for epoch, _, _ in share} == {0}
    assert {rank for share in epoch0 for _, _, rank in share} == {0, 1}
    assert set(indices) == set(range(5))  # all images, one repeated to even the shares
    assert next(first)[0] == 1  # then a new epoch, reshuffled


def test_patch_groups_depend_on_their_key_and_seed_only(tmp_path):
    files = image_files(write_photos(tmp_path / "photos"))
    groups = PatchGroups(files, 1, 16, GRAY.random_training_noise, seed=3)
    noisy, sigma, clean = groups[(0, 1, 0)]
    assert noisy.shape == clean.shape == (6, 1, 16, 16) and sigma.shape == (6,)  # 40x40 holds six 16x16
    again = PatchGroups(files, 1, 16, GRAY.random_training_noise, seed=3)[(0, 1, 0)]
    assert all(np.array_equal(a, b) for a, b in zip((noisy, sigma, clean), again))
    assert not np.array_equal(clean, groups[(1, 1, 0)][2])  # another epoch
    assert not np.array_equal(clean, groups[(0, 1, 1)][2])  # another rank


def test_patch_stream_decodes_in_worker_processes(tmp_path):
    stream = PatchStream(tuple(image_files(write_photos(tmp_path / "photos"))), channels=1, workers=1, pool=8)
    batches = stream.batches(3, 16, GRAY.random_training_noise, rank=1, world_size=2)
    noisy, sigma, clean = next(batches)
    batches.close()
    assert noisy.shape == clean.shape == (3, 1, 16, 16) and sigma.shape == (3,)
    assert 0.0 <= sigma.min() and sigma.max() <= 55 / 255


def test_resumed_training_ends_where_uninterrupted_training_does():
    images = [np.linspace(0, 1, 40 * 36, dtype=np.float32).reshape(40, 36, 1) ** (1 + i) for i in range(2)]
    config = CorpusConfig(steps=6, batch_size=4, patch_size=16, threads=1)

    def fresh():
        torch.manual_seed(0)
        return build_model(ModelConfig(channels=1, hidden=8, features=8))

    straight = fresh()
    train_on_corpus(straight, images, GRAY, config)
    states, done, interrupted = [], [], fresh()
    train_on_corpus(interrupted, images, GRAY, config, on_progress=done.append, on_checkpoint=states.append,
                    should_stop=lambda: len(done) == 3)
    resumed = fresh()
    resumed.load_state_dict(interrupted.state_dict())
    train_on_corpus(resumed, images, GRAY, config, resume=states[-1])
    assert states[-1]["step"] == 3
    assert fingerprint(resumed) == fingerprint(straight)


def test_command_line_refuses_what_cannot_run(tmp_path, capsys):
    photos = write_photos(tmp_path / "photos")
    out = tmp_path / "out"
    assert main(["train", "--data", str(photos), "--out", str(out), "--steps", "2", *TINY, "--accumulate", "3"]) == 2
    assert "multiple of 3" in capsys.readouterr().err
    assert main(["train", "--data", str(photos), "--out", str(out), "--steps", "2", *TINY, "--resume"]) == 2
    assert "Nothing to resume" in capsys.readouterr().err
    assert main(["train", "--data", str(photos), "--out", str(out), "--steps", "2", *TINY, "--depth", "1"]) == 0
    capsys.readouterr()
    assert main(["train", "--data", str(photos), "--out", str(out), "--steps", "4", *TINY, "--resume", "--depth", "2"]) == 2
    assert "leave out --depth 2 (it has 1)" in capsys.readouterr().err


def torchrun(*args: str) -> subprocess.CompletedProcess:
    """`torchrun --nproc_per_node 2 -m denoiser train ...` on a free port, two CPU processes."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(port), "-m", "denoiser", "train", *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    """Four steps on two processes (each with one decoding worker); returns the output folder."""
    root = tmp_path_factory.mktemp("ddp")
    photos = write_photos(root / "photos")
    torchrun("--data", str(photos), "--out", str(root / "out"), "--steps", "4", "--workers", "1", *TINY)
    return root


def test_two_processes_train_one_model(two_process_run):
    out = two_process_run / "out"
    start, *steps, end = read_log(out)
    assert start["world_size"] == 2 and start["backend"] == "gloo" and start["per_process_batch"] == 2
    assert steps[-1]["step"] == 4
    assert [rank["rank"] for rank in end["ranks"]] == [0, 1]
    assert len({rank["pid"] for rank in end["ranks"]}) == 2
    assert all(rank["steps"] == 4 and rank["patches"] == 8 for rank in end["ranks"])
    assert end["replicas_identical"]
    checkpoint = load_checkpoint(out / "gray-gaussian.pt")
    assert checkpoint.metadata["world_size"] == 2 and checkpoint.metadata["steps"] == 4
    assert fingerprint(checkpoint.model) == end["ranks"][0]["weights"] == end["ranks"][1]["weights"]


def test_two_processes_resume_from_the_checkpoint(two_process_run):
    out = two_process_run / "out"
    before = read_payload(out / "gray-gaussian.pt")["training"]
    torchrun("--data", str(two_process_run / "photos"), "--out", str(out), "--steps", "8", "--resume", *TINY)
    log = read_log(out)
    starts = [record for record in log if "world_size" in record and "end" not in record]
    assert [record["start_step"] for record in starts] == [0, 4]
    assert log[-1]["end"] and log[-1]["steps"] == 8 and log[-1]["replicas_identical"]
    training = read_payload(out / "gray-gaussian.pt")["training"]
    assert training["step"] == 8 and training["schedule"]["last_epoch"] == 8
    adam_steps = {float(state["step"]) for state in training["optimizer"]["state"].values()}
    assert adam_steps == {8.0} and {float(s["step"]) for s in before["optimizer"]["state"].values()} == {4.0}
    assert fingerprint(load_checkpoint(out / "gray-gaussian.pt").model) == log[-1]["ranks"][0]["weights"]
