"""Training slots: at most `capacity` trainings at once, first come first served, places in line,
clean-up however a run ends, the fair share that cuts trainings while others wait (on a fake
clock), and the time cap and the fair share stopping a real training, also on a page."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from apptest_tools import TIMEOUT, open_page, started_app

from dashboard import training_slots
from dashboard.training_progress import fair_config, shortened_line, waiting_line
from dashboard.training_slots import MIN_SHARE, Place, TrainingSlots, fair_share
from denoiser.errors import DenoiserError
from denoiser.models.networks import ModelConfig, build_model
from denoiser.noise import GaussianNoise
from denoiser.training.loops import TrainConfig, train_on_image
from denoiser.training.splits import PixelSplit, make_masks


def run_jobs(slots: TrainingSlots, count: int, seconds: float):
    """`count` threads each hold a slot for `seconds`; returns the start order, peak concurrency, positions seen."""
    lock, order, active, peak, seen = threading.Lock(), [], [0], [0], {}

    def job(name: int) -> None:
        positions = seen.setdefault(name, [])
        with slots.slot(on_wait=lambda place: positions.append(place.position), poll=0.01):
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
    slots = TrainingSlots(capacity=1, serve_within=0)
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

    def leave(place: Place) -> None:
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
    monkeypatch.setenv("LAB_SERVE_WITHIN", "45")
    monkeypatch.setenv("LAB_SERVE_MARGIN", "5")
    slots = TrainingSlots.from_env()
    assert (slots.capacity, slots.time_cap, slots.max_waiting, slots.serve_within, slots.margin) == (3, 12.5, 7, 45, 5)
    monkeypatch.setenv("LAB_MAX_TRAININGS", "many")
    with pytest.raises(DenoiserError, match="LAB_MAX_TRAININGS"):
        TrainingSlots.from_env()
    monkeypatch.delenv("LAB_MAX_TRAININGS")
    assert TrainingSlots.from_env().capacity == training_slots.default_capacity() >= 1
    monkeypatch.delenv("LAB_SERVE_WITHIN")
    monkeypatch.delenv("LAB_SERVE_MARGIN")
    assert TrainingSlots.from_env().serve_within == training_slots.DEFAULT_SERVE_WITHIN
    assert TrainingSlots.from_env().margin == training_slots.DEFAULT_MARGIN
    with pytest.raises(DenoiserError):
        TrainingSlots(capacity=0)


def test_the_process_wide_slots_are_one_object(monkeypatch):
    monkeypatch.setattr(training_slots, "_slots", None)
    assert training_slots.training_slots() is training_slots.training_slots()


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
    assert ticket.cut_to == 0.5 and ticket.elapsed >= 0.5  # stopped by the cap
    assert result.denoised.shape == clean.shape and np.isfinite(result.denoised).all()


# --- the fair share while others wait ------------------------------------------------------------

class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def slots_on(clock: FakeClock, capacity: int = 1, overhead: float = 5) -> TrainingSlots:
    """Slots whose turns cost `overhead` beyond their training, all of it measured in the slot."""
    return TrainingSlots(capacity=capacity, serve_within=60, overhead=overhead, drawing=0, clock=clock)


def test_the_fair_share_splits_the_target_into_equal_turns():
    assert MIN_SHARE == 4
    assert fair_share(60, 10, 2, overhead=5) == 7  # 5 turns of 12 s: 7 s training, 5 s overhead
    assert fair_share(60, 9, 2, overhead=5) == 7  # the last turn has one visitor
    assert fair_share(60, 2, 2, overhead=5) == 55
    assert fair_share(60, 3, 1, overhead=5) == 15
    assert fair_share(60, 10, 1, overhead=5) == 4  # 6 s turns would leave 1 s: the shortest training instead
    assert fair_share(60, 10, 1, overhead=5, floor=0) == 0  # or none, for a run that may keep its start
    assert fair_share(-10, 1, 1, overhead=5) == 4  # already late: still the shortest training


def test_with_nobody_waiting_a_training_runs_to_the_time_cap():
    clock = FakeClock()
    slots = slots_on(clock)
    ticket = slots._join()
    assert slots._start(ticket, 0)
    clock.now = 179.0
    assert ticket.allowed() == 180 and not ticket.expired()
    clock.now = 180.0
    assert ticket.expired() and ticket.cut_to == 180


def test_a_visitor_who_joins_cuts_the_running_training_to_its_share():
    clock = FakeClock()
    slots = slots_on(clock)
    running = slots._join()
    assert slots._start(running, 0)
    clock.now = 30.0
    behind = slots._join()  # due at 90: two turns from the running one's start, 45 s each
    assert running.allowed() == 40 and not running.expired()
    clock.now = 40.0
    assert running.expired() and running.cut_to == 40
    clock.now = 45.0  # its last check and denoise: the overhead the policy assumed
    slots._leave(running)
    assert slots._start(behind, 0)
    assert behind.allowed() == 90 - 45 - 5  # nobody behind it, but it waited: its own result is due at 90
    slots.serve_within = 0  # the fair share off: only the time cap
    assert behind.allowed() == slots.time_cap
    slots._leave(behind)


def serve_ten_at_once(slots: TrainingSlots, clock: FakeClock, tail: float):
    """Ten visitors join at once; each turn's training runs to its share, then `tail` seconds of
    last check and denoise in the slot. Returns the line's first forecasts, each visitor's seconds
    from joining to the result and the training each got."""
    tickets = []
    for _ in range(10):
        tickets.append(slots._join())
        for waiting in list(slots._waiting):
            slots._start(waiting, 0)
    forecast = {t.number: slots.place(t).result_in for t in slots._waiting}
    assert [slots.position(t) for t in tickets] == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    result_at, trained, leaving = {}, {}, {}
    while len(result_at) < len(tickets):
        ends = {t: leaving.get(t, t.started + t.allowed()) for t in slots._running}
        ticket = min(ends, key=ends.get)
        clock.now = ends[ticket]
        if ticket not in leaving:  # its training expires; its last check and denoise follow
            assert ticket.expired()
            trained[ticket.number], leaving[ticket] = ticket.cut_to, clock.now + tail
        else:
            slots._leave(ticket)
            result_at[ticket.number] = clock.now - ticket.joined
            for waiting in list(slots._waiting):
                slots._start(waiting, 0)
    assert slots.running == 0 and slots.waiting == 0
    return forecast, result_at, trained


def test_ten_visitors_at_once_on_two_slots_each_see_a_result_within_the_target():
    """Turns cost what the policy assumes (training, then the overhead in the slot): every
    visitor's result comes within `serve_within` of the click, each after a training of the same
    length, and the forecast each waiting visitor was shown at the start comes true."""
    clock = FakeClock()
    forecast, result_at, trained = serve_ten_at_once(slots_on(clock, capacity=2), clock, tail=5)
    assert max(result_at.values()) == pytest.approx(60)
    assert list(trained.values()) == pytest.approx([7] * 10)
    assert forecast == {number: pytest.approx(result_at[number]) for number in forecast}


def test_the_margin_keeps_results_within_the_target_when_turns_run_slower_than_assumed():
    """Turns 3 s slower than the overhead the policy starts from (8 s, not 5): planned for the
    target itself the last visitor is late; with a 15 s margin kept in hand every result comes
    within the target, after less training."""
    clock = FakeClock()
    _, late, _ = serve_ten_at_once(slots_on(clock, capacity=2), clock, tail=8)
    assert max(late.values()) > 60
    clock = FakeClock()
    slots = TrainingSlots(capacity=2, serve_within=60, overhead=5, drawing=0, margin=15, clock=clock)
    _, result_at, trained = serve_ten_at_once(slots, clock, tail=8)
    assert max(result_at.values()) <= 60
    assert min(trained.values()) >= MIN_SHARE


def test_the_overhead_is_learned_from_the_turns_that_ran():
    clock = FakeClock()
    slots = slots_on(clock, overhead=5)
    for tail, expected in ((15, 10), (15, 12.5), (2.5, 7.5)):  # each turn moves it halfway to what it took
        ticket = slots._join()
        assert slots._start(ticket, 0)
        clock.now += 3.0
        ticket.expired()  # after the training's last step
        clock.now += tail
        slots._leave(ticket)
        assert slots.overhead == expected
    with slots.slot():  # a slot held without training (no step asked `expired`) teaches nothing
        clock.now += 100
    assert slots.overhead == 7.5


def test_a_long_line_gives_the_shortest_training_or_none_to_a_run_that_may_keep_its_start():
    clock = FakeClock()
    slots = slots_on(clock)
    running = slots._join()
    assert slots._start(running, 0)
    for _ in range(20):
        slots._join()
    assert running.allowed() == MIN_SHARE
    place = slots.place(slots._waiting[-1])
    assert place.position == 20 and place.training_seconds == MIN_SHARE
    assert place.result_in == pytest.approx(21 * (MIN_SHARE + 5))
    bundled = slots._join(min_share=0)
    assert running.allowed() == MIN_SHARE  # the floor is the running run's own
    place = slots.place(bundled)
    assert place.training_seconds == 0 and place.result_in == pytest.approx(21 * (MIN_SHARE + 5) + 5)


def test_the_run_takes_its_fair_share_as_its_time_budget_so_its_learning_rate_anneals_in_time():
    clock = FakeClock()
    slots = slots_on(clock)
    quick = TrainConfig(epochs=100, time_budget=30.0)
    alone = slots._join(min_share=0)
    assert slots._start(alone, 0)
    assert fair_config(quick, alone) is quick  # nobody waiting: the preset's own 30 s
    slots._join()
    assert fair_config(quick, alone).time_budget == 25  # one visitor behind: two turns of 30 s
    assert fair_config(TrainConfig(epochs=100), alone).time_budget == 25  # a run without a time limit too
    for _ in range(20):
        slots._join()
    assert fair_config(quick, alone) is None  # no time to train: it keeps its starting weights


def test_the_waiting_line_says_the_place_and_about_when_the_result_comes():
    assert waiting_line(Place(position=3, running=2, capacity=2, result_in=31.6, training_seconds=7.2),
                        full_seconds=30) == (
        "Waiting for a free training slot: you are number 3 in line (2 of 2 training now); your result in about "
        "35 s, after a training shortened to about 7 s while others wait.")
    assert waiting_line(Place(8, 2, 2, 44.0, 0.0), full_seconds=30).endswith(
        "your result in about 45 s, with the bundled weights as they are: no time to fine-tune while others wait.")
    assert "shortened" not in waiting_line(Place(1, 1, 1, 70.0, 40.0), full_seconds=30)  # Quick's 30 s fits
    assert shortened_line(7.4).startswith("Training shortened to 7 s because other visitors were waiting")
    assert shortened_line(0.0).startswith("Not fine-tuned: other visitors were waiting for a training slot")


def test_a_real_training_is_cut_when_a_visitor_joins_behind_it(gray_image):
    """The share is checked after every step: a visitor joining mid-run stops it at once when the
    line leaves it no time (a run that may keep its starting weights)."""
    slots = TrainingSlots(capacity=1, serve_within=1)
    clean = gray_image[:16, :16]
    noise = GaussianNoise(400.0)
    noisy = noise.apply(clean, np.random.default_rng(0))
    model = build_model(ModelConfig(channels=1, hidden=4, features=4))
    masks = make_masks(clean.shape[:2], PixelSplit(), np.random.default_rng(0))
    with slots.slot(min_share=0) as ticket:
        threading.Timer(0.2, slots._join).start()
        result = train_on_image(model, clean, noisy, noise, masks, TrainConfig(epochs=500, batch_size=2, threads=1),
                                should_stop=ticket.expired)
    assert result.stopped and result.history[-1].epoch < 500
    assert ticket.cut_to == 0
    slots._leave(slots._waiting[0])


@pytest.fixture
def page_slots(monkeypatch) -> TrainingSlots:
    """Fresh process-wide slots, one training at a time, with no overhead beyond the training."""
    slots = TrainingSlots(capacity=1, overhead=0, drawing=0)
    monkeypatch.setattr(training_slots, "_slots", slots)
    return slots


def train_behind_another_visitor(slots: TrainingSlots, serve_within: float):
    """Press Train on Gray · Gaussian (Quick, 500 epochs) while another visitor trains for a second."""
    slots.serve_within = serve_within
    app = started_app()
    open_page(app, "gray-gaussian")
    app.number_input(key="gray-gaussian:epochs").set_value(500).run()
    held = slots._join()
    assert slots._start(held, 1)
    threading.Timer(1.0, slots._leave, args=(held,)).start()
    app.button(key="gray-gaussian:train").click().run(timeout=TIMEOUT)
    assert not app.exception
    assert slots.running == 0 and slots.waiting == 0
    return app, app.session_state["gray-gaussian:outcome"], [i.value for i in app.info if "waiting" in i.value]


def test_a_page_whose_training_is_shortened_says_so_in_one_line(page_slots):
    """A visitor who waited gets what is left of the target as its time budget, and one line why."""
    app, outcome, said = train_behind_another_visitor(page_slots, serve_within=8)
    budget = outcome.history[-1].time_budget
    assert MIN_SHARE <= budget < 8 and outcome.history[-1].epoch < 500  # 8 s less the time it waited
    assert outcome.settings["shortened_to_seconds"] == round(budget, 1)
    assert said == [f"Training shortened to {budget:.0f} s because other visitors were waiting for a slot; "
                    "training again when nobody is waiting gives the full run."]


def test_a_training_cut_to_nothing_once_others_join_gives_the_bundled_result(page_slots):
    """A run from the bundled weights that had started when a long line formed behind it: its
    share falls to 0, and its result is the bundled model's, as its one line says (a few steps of
    fine-tuning, scored as the best so far, had given less)."""
    from denoiser.inference.precision import bundled_inference
    from denoiser.models.bundled import load_pretrained
    from denoiser.scenarios import get_scenario

    page_slots.serve_within = 20
    app = started_app()
    open_page(app, "gray-gaussian")
    app.number_input(key="gray-gaussian:epochs").set_value(500).run()
    line = []
    threading.Timer(2.0, lambda: line.extend(page_slots._join(min_share=0) for _ in range(8))).start()
    app.button(key="gray-gaussian:train").click().run(timeout=TIMEOUT)
    for ticket in line:
        page_slots._leave(ticket)
    outcome = app.session_state["gray-gaussian:outcome"]
    assert outcome.settings["shortened_to_seconds"] == 0 and outcome.history == []
    assert any(i.value.startswith("Not fine-tuned") for i in app.info)
    inference = bundled_inference(get_scenario("gray-gaussian"))  # as Denoise now runs the bundled weights
    expected = inference.run(load_pretrained("gray-gaussian").model, outcome.noisy, outcome.sigma)
    np.testing.assert_allclose(outcome.denoised, expected, atol=1e-6)


def test_a_page_left_no_time_to_train_gives_the_bundled_result_and_says_so(page_slots):
    app, outcome, said = train_behind_another_visitor(page_slots, serve_within=0.5)
    assert outcome.history == [] and outcome.stopped and outcome.settings["shortened_to_seconds"] == 0
    assert outcome.settings["from_bundled_weights"] and outcome.scores["all"].gain > 0
    assert said == ["Not fine-tuned: other visitors were waiting for a training slot, so this is the bundled "
                    "model's result; training again when nobody is waiting gives the full run."]


def test_an_adaptation_shortened_for_others_says_so_in_its_verdict(page_slots):
    """Your photo: Adapt pressed while another visitor trains is cut to its share, and the result's
    one line says why it stopped early."""
    import io

    from PIL import Image

    from denoiser.samples import sample_photo

    page_slots.serve_within = 5
    buffer = io.BytesIO()
    Image.fromarray(np.round(sample_photo("camera")[:96, :96, 0] * 255).astype(np.uint8)).save(buffer, format="PNG")
    app = started_app()
    open_page(app, "your-photo")
    app.file_uploader(key="your-photo:upload").set_value(("photo.png", buffer.getvalue(), "image/png"))
    app.run()
    held = page_slots._join()
    assert page_slots._start(held, 1)
    threading.Timer(1.0, page_slots._leave, args=(held,)).start()
    app.button(key="your-photo:adapt").click().run(timeout=TIMEOUT)
    assert not app.exception
    verdict = app.session_state["your-photo:outcome"].adaptation
    steps = int(verdict.split(" steps)")[0].rsplit(", ", 1)[1])
    assert 0 < steps < 150  # AdaptConfig's 150 steps take far longer than the 4 s share
    assert verdict.endswith(f"Shortened to {MIN_SHARE:.0f} s because other visitors were waiting for a slot; "
                            "adapting again when nobody is waiting gives the full run.")
