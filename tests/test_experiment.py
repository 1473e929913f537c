"""The notebook's experiment on one image: presets, the shared set-up, the cost estimate, the record."""

from dataclasses import replace

import numpy as np
import pytest

from denoiser.errors import DenoiserError
from denoiser.evaluation.metrics import psnr
from denoiser.inference.precision import Inference, bundled_inference
from denoiser.models.bundled import load_pretrained
from denoiser.noise import GaussianNoise, SaltPepperNoise
from denoiser.samples import sample_photo
from denoiser.scenarios import SCENARIOS
from denoiser.training.experiment import (
    Pace,
    estimate_cost,
    fit_record,
    make_experiment,
    measure_pace,
    network_design,
    noisy_input,
    run_experiment,
    score_table,
    split_pixels,
    experiment_model,
)
from denoiser.training.presets import PRESETS

GRAY, COLOR, IMPULSES = SCENARIOS["gray-gaussian"], SCENARIOS["color-gaussian"], SCENARIOS["gray-salt-pepper"]


@pytest.fixture(scope="module")
def bundled_gray():
    return load_pretrained("gray-gaussian").model


def test_the_notebook_network_reads_rgb_together_and_the_renet_keeps_the_planes():
    color = COLOR.model
    assert network_design(color, "row", 64) == replace(color, architecture="row", hidden=64, opponent_colors=False,
                                                       depth=1)
    assert network_design(color, "renet") == color
    bundled = load_pretrained("gray-gaussian").config
    assert bundled.specialist_below > 0 and network_design(bundled, "unet") == replace(bundled, specialist_below=0)
    with pytest.raises(DenoiserError, match="architecture"):
        network_design(color, "gru")


def test_presets_pick_their_network_and_training(bundled_gray):
    noise = GaussianNoise(100.0)
    notebook = make_experiment(GRAY, noise, "notebook", bundled_gray.config)
    assert notebook.model.architecture == "row" and not notebook.from_bundled
    assert notebook.training.sample == "row" and notebook.training.batch_size == 32
    assert make_experiment(COLOR, noise, "notebook", None).training.batch_size == 8  # the notebook's color batch
    quick = make_experiment(GRAY, noise, "quick", bundled_gray.config)
    assert quick.from_bundled and quick.model == bundled_gray.config
    assert not make_experiment(GRAY, noise, "quick", None).from_bundled  # no bundled weights: from scratch
    scratch = make_experiment(GRAY, noise, "scratch", bundled_gray.config, architecture="row", epochs=3, seed=7)
    assert scratch.model.architecture == "row" and (scratch.training.epochs, scratch.seed) == (3, 7)
    # the bundled gray network is the unet: an LSTM trained from scratch takes the scenario's sizes, not its
    assert bundled_gray.config.architecture == "unet" and quick.model.architecture == "unet"
    lstm = make_experiment(GRAY, noise, "scratch", bundled_gray.config).model
    assert lstm == replace(GRAY.model, depth=1) and (lstm.architecture, lstm.hidden) == ("renet", 32)
    assert make_experiment(GRAY, noise, "notebook", None, time_limit=0).training.time_budget is None
    assert set(PRESETS) == {"quick", "notebook", "row-best", "scratch"}


def test_fine_tuned_bundled_weights_are_checked_as_the_bundled_model_runs(bundled_gray):
    noise = GaussianNoise(100.0)
    assert make_experiment(GRAY, noise, "quick", bundled_gray.config).training.inference == bundled_inference(GRAY)
    for experiment in (make_experiment(GRAY, noise, "quick", None), make_experiment(GRAY, noise, "scratch", None),
                       make_experiment(GRAY, noise, "notebook", bundled_gray.config)):
        assert experiment.training.inference == Inference()  # random weights: one float32 pass


def test_the_color_2d_lstm_from_scratch_is_one_rgb_network_and_its_time_ends_gaussian_runs():
    noise = GaussianNoise(100.0)
    color, gray = (make_experiment(scenario, noise, "scratch", None) for scenario in (COLOR, GRAY))
    assert color.model == replace(COLOR.model, depth=1, opponent_colors=False)  # R, G and B in one pass
    impulses = make_experiment(IMPULSES, SaltPepperNoise(0.1), "scratch", None)
    assert (color.training.epochs, gray.training.epochs, impulses.training.epochs) == (1500, 1500, 500)
    assert color.training.time_budget == gray.training.time_budget == 120.0  # the time ends both
    assert make_experiment(COLOR, noise, "scratch", None, architecture="row").model.architecture == "row"
    bundled = load_pretrained("color-gaussian").config  # Quick fine-tunes the bundled planes network as it is
    assert make_experiment(COLOR, noise, "quick", bundled).model.opponent_colors


def test_row_best_trains_the_notebook_network_on_fresh_noise_for_its_two_minutes():
    noise = GaussianNoise(100.0)
    notebook, best = (make_experiment(GRAY, noise, preset, None) for preset in ("notebook", "row-best"))
    assert best.model == notebook.model  # the same row LSTM; only the training differs
    training = best.training
    assert training.sample == "row" and training.fresh_noise and training.cosine and not notebook.training.fresh_noise
    assert (training.batch_size, training.learning_rate, training.time_budget) == (16, 3e-3, 120.0)


def test_a_short_row_best_run_learns_and_checks_every_tenth_epoch():
    clean = np.ascontiguousarray(sample_photo("camera", 1)[96:160, 192:256])
    experiment = make_experiment(GRAY, GaussianNoise(100.0), "row-best", None, epochs=60, time_limit=0, threads=1)
    result = run_experiment(experiment, clean)
    assert [p.epoch for p in result.training.history] == [10, 20, 30, 40, 50, 60]
    assert result.scores["test"].gain > 1.5  # 420 steps of 16 rows: +2.4 dB


@pytest.mark.parametrize("changes, message", [({"preset": "keras"}, "preset"), ({"epochs": 0}, "Epochs"),
                                              ({"time_limit": -1.0}, "time limit"),
                                              ({"preset": "quick", "architecture": "row"}, "from scratch")])
def test_impossible_experiments_are_one_clear_error(bundled_gray, changes, message):
    settings = {"preset": "notebook", **changes}
    preset = settings.pop("preset")
    with pytest.raises(DenoiserError, match=message):
        make_experiment(GRAY, GaussianNoise(100.0), preset, bundled_gray.config, **settings)


def test_the_seed_fixes_the_noise_the_split_and_the_starting_weights(gray_image):
    experiment = make_experiment(GRAY, GaussianNoise(100.0), "notebook", None, seed=3)
    np.testing.assert_array_equal(noisy_input(gray_image, experiment.noise, 3), noisy_input(gray_image, experiment.noise, 3))
    assert not np.array_equal(noisy_input(gray_image, experiment.noise, 3), noisy_input(gray_image, experiment.noise, 4))
    a, b = split_pixels(gray_image.shape, experiment.training.split, 3), split_pixels(gray_image.shape, experiment.training.split, 3)
    np.testing.assert_array_equal(a.test, b.test)
    first, second = experiment_model(experiment, None), experiment_model(experiment, None)
    for x, y in zip(first.parameters(), second.parameters()):
        assert x.data.equal(y.data)


def test_fine_tuning_starts_from_a_copy_of_the_bundled_weights(bundled_gray):
    experiment = make_experiment(GRAY, GaussianNoise(100.0), "quick", bundled_gray.config)
    model = experiment_model(experiment, bundled_gray)
    assert model is not bundled_gray
    assert all(x.data.equal(y.data) for x, y in zip(model.parameters(), bundled_gray.parameters()))


def test_the_cost_counts_steps_and_checks_and_stops_at_the_time_limit():
    experiment = make_experiment(GRAY, GaussianNoise(100.0), "notebook", None, time_limit=0)
    cost = estimate_cost(experiment, (256, 256), Pace(step=0.01, check=0.2))
    assert (cost.steps, cost.checks) == (60 * 52, 60) and not cost.limited
    assert cost.seconds == pytest.approx(60 * 52 * 0.01 + 60 * 0.2)
    limited = estimate_cost(replace(experiment, training=replace(experiment.training, time_budget=10.0)),
                            (256, 256), Pace(step=0.01, check=0.2))
    assert limited.limited and limited.seconds == 10.0 and limited.steps < cost.steps


def test_the_paced_step_is_the_step_a_quick_run_takes():
    """The page's "about N s" rests on `measure_pace`: it times a step as the run trains it (in
    bfloat16 where the CPU has it, twice as fast as float32 there; the float32 pace made the page
    say half the steps a run then took). Timed in one process, before and after the run, against
    the median step of the run, so a shared machine's load moves both alike."""
    checkpoint = load_pretrained("gray-gaussian")
    experiment = make_experiment(GRAY, GaussianNoise(400.0), "quick", checkpoint.config, time_limit=0, threads=1)
    experiment = replace(experiment, training=replace(experiment.training, epochs=14, validate_every=14))
    clean = sample_photo("camera", 1)[60:188, 190:318]
    paces = [measure_pace(experiment, clean.shape, checkpoint.model).step]
    times: list[tuple[int, float]] = []
    run_experiment(experiment, clean, checkpoint.model, on_progress=lambda p: times.append((p.step, p.elapsed)))
    paces.append(measure_pace(experiment, clean.shape, checkpoint.model).step)
    steps = [later - earlier for (n, earlier), (m, later) in zip(times, times[1:]) if m == n + 1]
    assert len(steps) >= 10
    assert 1 / 1.5 < float(np.median(steps)) / float(np.mean(paces)) < 1.5


def test_a_run_of_the_notebook_preset_learns_and_is_scored_per_split():
    clean = np.ascontiguousarray(sample_photo("camera", 1)[96:160, 192:256])
    experiment = make_experiment(GRAY, GaussianNoise(100.0), "notebook", None, epochs=100, threads=1)
    result = run_experiment(experiment, clean)
    test = result.scores["test"]
    assert test.pixels == result.masks.test.sum() and test.noisy_psnr == pytest.approx(psnr(clean, result.noisy, result.masks.test))
    assert test.denoised_psnr > test.noisy_psnr + 2.5  # the row LSTM from scratch, 400 steps of 32 rows: +2.69 dB
    record = fit_record(experiment, result, seconds=1.0, image="crop")
    assert set(record["splits"]) == {"all", "train", "validation", "test"}
    assert set(record["splits"]["test"]) >= {"noisy_psnr", "denoised_psnr", "noisy_ssim", "denoised_ssim",
                                             "noisy_mse", "denoised_mse"}
    assert record["splits"]["test"]["denoised_mse"] == pytest.approx(test.denoised_mse)
    assert (record["epochs"], record["steps"]) == (100, 100 * 4) and record["preset"] == "notebook"
    table = score_table(record)
    assert table.count("\n") == 6 and f"{test.denoised_psnr:.2f}" in table


def test_salt_and_pepper_keeps_its_impulse_design_in_the_notebook_network():
    experiment = make_experiment(IMPULSES, SaltPepperNoise(0.1), "notebook", None)
    assert experiment.model.architecture == "row" and experiment.model.impulse_mask and experiment.model.fill_impulses
