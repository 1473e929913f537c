"""Training slots: at most `capacity` trainings at once, first come first served, places in line,
clean-up however a run ends, and the time cap stopping a real training."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from denoiser import jobs
from denoiser.errors import DenoiserError
from denoiser.jobs import TrainingSlots
from denoiser.models import ModelConfig, build_model
from denoiser.noise import GaussianNoise
from denoiser.splits import PixelSplit, make_masks
from denoiser.train import TrainConfig, train_on_image


def run_jobs(slots: TrainingSlots, count: int, seconds: float):
    """`count` threads each hold a slot for `seconds`; returns the start order, peak concurrency, positions seen."""
    lock, order, active, peak, seen = threading.Lock(), [], [0], [0], {}

    def job(name: int) -> None:
        positions = seen.setdefault(name, [])
        with slots.slot(on_wait=positions.append, poll=0.01):
            with lock:
                order.append(name)
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(seconds)
            with lock:
                active[0] -= 1

    threads = []
    for name in range(count):
        threads.append(threading.Thread(target=job, args=(name,)))
        threads[-1].start()
        time.sleep(0.02)  # arrive in order
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return order, peak[0], seen


def test_one_slot_serves_visitors_in_order_and_tells_each_its_place():
    slots = TrainingSlots(capacity=1)
    order, peak, seen = run_jobs(slots, 4, 0.15)
    assert order == [0, 1, 2, 3] and peak == 1
    assert seen[0] == [] and seen[1][0] == 1 and seen[3][0] == 3  # places in line, 1 = next
    assert all(p == sorted(p, reverse=True) for p in seen.values())  # a place only improves
    assert slots.running == 0 and slots.waiting == 0


def test_ten_visitors_on_two_slots_all_finish_never_more_than_two_at_once():
    slots = TrainingSlots(capacity=2)
    order, peak, _ = run_jobs(slots, 10, 0.05)
    assert sorted(order) == list(range(10)) and peak == 2
    assert slots.running == 0 and slots.waiting == 0


def test_position_and_wait_of_a_ticket():
    slots = TrainingSlots(capacity=1)
    with slots.slot() as first:
        assert slots.position(first) == 0 and first.first_position == 0 and first.waited < 1
        ticket = slots._join()
        assert slots.position(ticket) == 1 and ticket.first_position == 1 and ticket.elapsed == 0.0
        slots._leave(ticket)
    with pytest.raises(ValueError):
        slots.position(first)


def test_an_error_in_training_frees_the_slot():
    slots = TrainingSlots(capacity=1)
    with pytest.raises(RuntimeError):
        with slots.slot():
            raise RuntimeError("training failed")
    assert slots.running == 0
    with slots.slot() as ticket:  # free at once
        assert ticket.first_position == 0


def test_a_visitor_who_leaves_the_line_is_removed_from_it():
    """Streamlit stops an abandoned run by raising inside the next st.* call: here, in on_wait."""
    class StopRun(Exception):
        pass

    def leave(position: int) -> None:
        raise StopRun

    slots = TrainingSlots(capacity=1)
    with slots.slot():
        with pytest.raises(StopRun):
            with slots.slot(on_wait=leave, poll=0.01):
                pass
        assert slots.waiting == 0 and slots.running == 1
    assert slots.running == 0


def test_a_full_line_turns_visitors_away_with_a_clear_message():
    slots = TrainingSlots(capacity=1, max_waiting=1)
    with slots.slot():
        waiting = slots._join()
        with pytest.raises(DenoiserError, match="busy"):
            slots._join()
        slots._leave(waiting)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("LAB_MAX_TRAININGS", "3")
    monkeypatch.setenv("LAB_TRAINING_TIME_CAP", "12.5")
    monkeypatch.setenv("LAB_MAX_WAITING", "7")
    slots = TrainingSlots.from_env()
    assert (slots.capacity, slots.time_cap, slots.max_waiting) == (3, 12.5, 7)
    monkeypatch.setenv("LAB_MAX_TRAININGS", "many")
    with pytest.raises(DenoiserError, match="LAB_MAX_TRAININGS"):
        TrainingSlots.from_env()
    monkeypatch.delenv("LAB_MAX_TRAININGS")
    assert TrainingSlots.from_env().capacity == jobs.default_capacity() >= 1
    with pytest.raises(DenoiserError):
        TrainingSlots(capacity=0)


def test_the_process_wide_slots_are_one_object(monkeypatch):
    monkeypatch.setattr(jobs, "_slots", None)
    assert jobs.training_slots() is jobs.training_slots()


def test_the_time_cap_stops_a_long_training_and_keeps_the_best_model(gray_image):
    slots = TrainingSlots(capacity=1, time_cap=0.5)
    clean = gray_image[:16, :16]
    noise = GaussianNoise(400.0)
    noisy = noise.apply(clean, np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model(ModelConfig(channels=1, hidden=4, features=4))
    masks = make_masks(clean.shape[:2], PixelSplit(), np.random.default_rng(0))
    with slots.slot() as ticket:
        result = train_on_image(model, clean, noisy, noise, masks, TrainConfig(epochs=500, batch_size=2, threads=1),
                                should_stop=ticket.expired)
    assert result.stopped and result.history[-1].epoch < 500
    assert ticket.expired() and 0.5 <= ticket.elapsed < 30  # stopped soon after the cap
    assert result.denoised.shape == clean.shape and np.isfinite(result.denoised).all()
