import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from denoiser.evaluation.metrics import psnr
from denoiser.inference.precision import Inference, cpu_bfloat16
from denoiser.inference.tiled import denoise
from denoiser.models.bundled import load_pretrained, pretrained_path
from denoiser.models.checkpoint import read_payload
from denoiser.models.networks import ModelConfig, add_specialist, build_model, specialist_of
from denoiser.noise import GaussianNoise
from denoiser.samples import sample_photo
from denoiser.scenarios import SCENARIOS
from denoiser.training.loops import (
    BALANCE_FLOOR,
    CorpusConfig,
    TrainConfig,
    corpus_loss,
    cosine_schedule,
    measured_noise_level,
    notebook_preset,
    precision_name,
    train_on_corpus,
    train_on_image,
)
from denoiser.training.splits import PixelSplit, make_masks


@pytest.fixture
def setup():
    clean = np.ascontiguousarray(sample_photo("camera", 1)[160:224, 200:264])
    noise = GaussianNoise(625.0)
    noisy = noise.apply(clean, np.random.default_rng(0))
    masks = make_masks(clean.shape[:2], PixelSplit(), np.random.default_rng(0))
    return clean, noisy, noise, masks


def test_the_checks_and_the_image_returned_run_as_the_config_says(setup):
    clean, noisy, noise, masks = setup
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8))
    config = TrainConfig(epochs=2, batch_size=4, patch_size=16, threads=2, inference=Inference(2))
    result = train_on_image(model, clean, noisy, noise, masks, config)
    assert np.array_equal(result.denoised, Inference(2).run(model, noisy, noise.sigma))  # the best weights, kept
    assert not np.array_equal(result.denoised, denoise(model, noisy, noise.sigma))


def test_short_training_lowers_the_loss_and_beats_the_noisy_psnr(setup):
    clean, noisy, noise, masks = setup
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=16, features=16))
    config = TrainConfig(epochs=20, batch_size=8, patch_size=16, learning_rate=3e-3, threads=2)
    seen = []
    result = train_on_image(model, clean, noisy, noise, masks, config, on_progress=seen.append)
    losses = [p.train_loss for p in seen]
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:3])
    assert psnr(clean, result.denoised, masks.test) > psnr(clean, noisy, masks.test) + 2.0
    assert len(result.history) == 20 and all(p.val_psnr is not None for p in result.history)
    assert seen[-1].step == seen[-1].steps and 0 < seen[-1].elapsed


def test_training_is_reproducible(setup):
    clean, noisy, noise, masks = setup
    config = TrainConfig(epochs=2, batch_size=4, patch_size=16, threads=1)
    outs = []
    for _ in range(2):
        torch.manual_seed(5)
        model = build_model(ModelConfig(hidden=8, features=8))
        outs.append(train_on_image(model, clean, noisy, noise, masks, config).denoised)
    np.testing.assert_array_equal(*outs)


def test_training_never_sees_the_clean_test_pixels(setup):
    """Fresh noise is drawn on the training pixels only: changing the clean image at the test
    pixels leaves the trained weights exactly as they were (the test pixels cannot leak in)."""
    clean, noisy, noise, masks = setup
    altered = clean.copy()
    altered[masks.test] = np.random.default_rng(1).random(altered[masks.test].shape, dtype=np.float32)
    config = TrainConfig(epochs=2, batch_size=4, patch_size=16, threads=1)
    weights = []
    for image in (clean, altered):
        torch.manual_seed(5)
        model = build_model(ModelConfig(hidden=8, features=8))
        train_on_image(model, image, noisy, noise, masks, config)
        weights.append(torch.cat([w.flatten() for w in model.state_dict().values()]))
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)


def test_validating_every_few_epochs_checks_those_and_the_last(setup):
    clean, noisy, noise, masks = setup
    model = build_model(ModelConfig(hidden=8, features=8))
    seen = []
    result = train_on_image(model, clean, noisy, noise, masks,
                            TrainConfig(epochs=7, batch_size=4, patch_size=16, validate_every=3, threads=1),
                            on_progress=seen.append)
    assert [p.epoch for p in result.history] == [3, 6, 7]
    assert [p.epoch for p in seen if p.val_loss is not None] == [3, 6, 7]
    assert {p.epoch for p in seen} == set(range(1, 8)) and result.best_epoch in (3, 6, 7)
    with pytest.raises(ValueError, match="validate_every"):
        TrainConfig(validate_every=0)


def test_stop_flag_ends_early_and_keeps_the_best_so_far(setup):
    clean, noisy, noise, masks = setup
    model = build_model(ModelConfig(hidden=8, features=8))
    calls = []
    result = train_on_image(model, clean, noisy, noise, masks, TrainConfig(epochs=50, batch_size=4, patch_size=16),
                            should_stop=lambda: calls.append(1) or len(calls) >= 3)
    assert result.stopped and len(result.history) == 1 and result.best_epoch == 1
    assert result.denoised.shape == clean.shape


def test_learning_rate_anneals_with_the_steps_or_the_time_whichever_is_further():
    assert TrainConfig().done(50, 100, 1e6) == 0.5  # no time budget: the steps alone
    timed = TrainConfig(learning_rate=0.01, cosine=True, time_budget=60.0)
    assert timed.done(10, 100, 30.0) == 0.5  # half the time beats a tenth of the steps
    assert timed.done(75, 100, 30.0) == 0.75
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.01)
    schedule = cosine_schedule(optimizer, lambda step: timed.done(step, 100, 30.0 * step / 25))
    rates = [optimizer.param_groups[0]["lr"]]
    for _ in range(60):
        optimizer.step()
        schedule.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates[0] == 0.01 and rates[25] == pytest.approx(0.005)  # 25 steps are half the time budget
    assert rates[-1] == pytest.approx(0.0, abs=1e-15)  # the budget is spent at step 50; the rate stays 0
    with pytest.raises(ValueError, match="time_budget"):
        TrainConfig(time_budget=0)


def test_time_budget_ends_the_run_early_and_still_scores_the_last_weights(setup):
    clean, noisy, noise, masks = setup
    model = build_model(ModelConfig(hidden=8, features=8))
    config = TrainConfig(epochs=100_000, batch_size=4, patch_size=16, validate_every=5, cosine=True,
                         time_budget=1.5, threads=1)
    result = train_on_image(model, clean, noisy, noise, masks, config)
    epochs = [p.epoch for p in result.history]
    assert result.out_of_time and not result.stopped
    assert epochs[-1] < config.epochs and len(set(epochs)) == len(epochs)
    assert epochs[:-1] == list(range(5, 5 * len(epochs) - 4, 5))  # the regular checks, then the last weights
    assert result.history[-1].elapsed < 2 * config.time_budget  # the budget counts the checks too
    assert result.history[-1].fraction > 0.5  # the progress bar follows the time, not the 100,000 epochs


def test_no_validation_pixels_falls_back_to_train_pixels(setup):
    clean, noisy, noise, _ = setup
    masks = make_masks(clean.shape[:2], PixelSplit(0.9, 0.0, 0.1), np.random.default_rng(0))
    model = build_model(ModelConfig(architecture="row", hidden=8))
    result = train_on_image(model, clean, noisy, noise, masks, TrainConfig(epochs=1, batch_size=2, patch_size=16))
    assert np.isfinite(result.history[0].val_loss)


def test_notebook_preset_keeps_the_original_defaults():
    gray, color = notebook_preset(SCENARIOS["gray-gaussian"]), notebook_preset(SCENARIOS["color-gaussian"])
    assert (gray.epochs, gray.batch_size, gray.learning_rate, gray.cosine) == (60, 32, 1e-3, False)
    assert color.batch_size == 8
    assert (gray.split.train, gray.split.validation, gray.split.test) == (0.8, 0.1, 0.1)
    assert gray.sample == "row" and not gray.fresh_noise and gray.time_budget == 120


def test_a_batch_of_rows_is_one_patch_that_many_rows_high():
    rows = TrainConfig(batch_size=8, patch_size=32, sample="row")
    assert rows.patch_shape(256, 256) == (1, 8, 32)
    assert rows.patch_shape(5, 20) == (1, 5, 20)  # never more rows or columns than the image has
    assert TrainConfig(batch_size=8, patch_size=32).patch_shape(256, 100) == (8, 32, 32)
    with pytest.raises(ValueError, match="sample"):
        TrainConfig(sample="pixel")


def test_an_epoch_is_one_pass_over_the_training_pixels():
    train_pixels = 52_429  # 80% of 256 x 256
    assert TrainConfig(batch_size=32, patch_size=32, sample="row").steps_per_epoch(train_pixels, 256, 256) == 52
    assert TrainConfig(batch_size=8, patch_size=48).steps_per_epoch(train_pixels, 256, 256) == 3
    assert TrainConfig(batch_size=8, patch_size=48).steps_per_epoch(10, 256, 256) == 1


def test_row_batches_train_the_row_lstm_and_count_their_steps(setup):
    clean, noisy, noise, masks = setup
    model = build_model(ModelConfig(architecture="row", hidden=8))
    config = TrainConfig(epochs=2, batch_size=8, patch_size=16, sample="row", threads=1)
    result = train_on_image(model, clean, noisy, noise, masks, config)
    per_epoch = math.ceil(int(masks.train.sum()) / (8 * 16))
    assert [p.step for p in result.history] == [per_epoch, 2 * per_epoch]


def test_corpus_training_learns_to_denoise():
    images = [np.ascontiguousarray(sample_photo("astronaut", 1)[::4, ::4])]
    held_out = np.ascontiguousarray(sample_photo("camera", 1)[160:224, 200:264])
    noisy = GaussianNoise(625.0).apply(held_out, np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8))
    before = psnr(held_out, denoise(model, noisy, 25.0))
    history = train_on_corpus(model, images, SCENARIOS["gray-gaussian"],
                              CorpusConfig(steps=80, batch_size=4, patch_size=24, learning_rate=3e-3, threads=2))
    assert len(history) == 80
    assert psnr(held_out, denoise(model, noisy, 25.0)) > max(before, psnr(held_out, noisy)) + 0.5


def test_corpus_training_of_a_model_with_a_specialist_trains_only_the_specialist_on_its_noise_levels():
    images = [np.ascontiguousarray(sample_photo("astronaut", 1)[::8, ::8])]
    torch.manual_seed(0)
    model = add_specialist(build_model(ModelConfig(hidden=8, features=8)), 15.0)
    specialist = specialist_of(model)
    general = {k: v.clone() for k, v in model.general.state_dict().items()}
    before = {k: v.clone() for k, v in specialist.state_dict().items()}
    levels = []
    specialist.register_forward_pre_hook(lambda module, inputs: levels.append(inputs[1] * 255))
    train_on_corpus(model, images, SCENARIOS["gray-gaussian"],  # its levels reach 55
                    CorpusConfig(steps=6, batch_size=8, patch_size=16, learning_rate=1e-2, threads=1))
    assert len(levels) == 6  # every batch went to the specialist alone
    assert float(torch.cat(levels).max()) < 15.0
    for key, value in model.general.state_dict().items():
        torch.testing.assert_close(value, general[key], atol=0, rtol=0)
    assert any(not torch.equal(value, before[key]) for key, value in specialist.state_dict().items())


def test_corpus_training_anneals_by_half_a_cosine_and_a_longer_resumed_run_decays_to_its_new_end():
    images = [np.ascontiguousarray(sample_photo("astronaut", 1)[::8, ::8])]
    config = CorpusConfig(steps=4, batch_size=2, patch_size=16, learning_rate=0.01, threads=1, checkpoint_every=1)

    def rates(steps: int, resume: dict | None = None) -> tuple[list[float], list[dict]]:
        torch.manual_seed(0)
        states = []
        train_on_corpus(build_model(ModelConfig(hidden=8, features=8)), images, SCENARIOS["gray-gaussian"],
                        replace(config, steps=steps), on_checkpoint=states.append, resume=resume)
        return [state["optimizer"]["param_groups"][0]["lr"] for state in states], states

    straight, states = rates(4)  # the rate after each step
    assert straight == pytest.approx([0.005 * (1 + math.cos(math.pi * step / 4)) for step in (1, 2, 3, 4)], abs=1e-12)
    longer, _ = rates(8, resume=states[1])  # from step 2 of 4 on to 8: from the rate reached down to 0
    assert longer == pytest.approx([straight[1] * (1 + math.cos(math.pi * step / 8)) / (1 + math.cos(math.pi / 4))
                                    for step in range(3, 9)], abs=1e-12)


def test_a_bundled_file_resumes_from_its_step_and_rate():
    # The schedule restarts from the saved step and the optimizer's rate, whichever scheduler wrote the state.
    training = read_payload(pretrained_path("gray-salt-pepper"))["training"]  # a campaign's model keeps it in its stage file
    images, states = [np.ascontiguousarray(sample_photo("astronaut", 1)[::8, ::8])], []
    config = CorpusConfig(steps=training["step"] + 1, batch_size=2, patch_size=16, threads=1)
    train_on_corpus(load_pretrained("gray-salt-pepper").model, images, SCENARIOS["gray-salt-pepper"], config,
                    resume=training, on_checkpoint=states.append)
    assert states[-1]["step"] == states[-1]["schedule"]["last_epoch"] == training["step"] + 1


def test_balanced_loss_weighs_a_low_noise_patch_above_a_high_noise_one():
    clean = torch.zeros(2, 1, 4, 4)
    output = torch.stack([torch.full((1, 4, 4), 0.1), torch.full((1, 4, 4), 0.3)])  # errors 0.01 and 0.09
    sigma = torch.tensor([10.0, 50.0]) / 255
    assert corpus_loss(output, clean, sigma, balance=False).item() == pytest.approx(0.05)
    weights = 1 / (sigma ** 2 + BALANCE_FLOOR ** 2)  # the sigma-10 patch weighs 13 times more
    expected = (weights * torch.tensor([0.01, 0.09])).sum() / weights.sum()
    assert corpus_loss(output, clean, sigma, balance=True).item() == pytest.approx(expected.item())
    assert corpus_loss(output, clean, sigma, balance=True).item() < 0.02
    same_level = torch.tensor([25.0, 25.0]) / 255  # one noise level: the plain mean
    assert corpus_loss(output, clean, same_level, balance=True).item() == pytest.approx(0.05)


@pytest.mark.parametrize("balance", [True, False])
def test_blind_scenario_balances_by_the_noise_each_patch_shows(monkeypatch, balance):
    """Camera patches give the network no level (sigma 0); balancing weighs them by their measured noise."""
    from denoiser.training import loops

    seen = []

    def spy(output, clean, sigma, balance):
        seen.append(sigma.clone())
        return loops_loss(output, clean, sigma, balance)

    loops_loss = loops.corpus_loss
    monkeypatch.setattr(loops, "corpus_loss", spy)
    images = [np.ascontiguousarray(sample_photo("astronaut", 3)[::4, ::4])]
    config = CorpusConfig(steps=2, batch_size=4, patch_size=24, threads=1, balance_noise_levels=balance)
    scenario = SCENARIOS["color-camera"]
    train_on_corpus(build_model(replace(scenario.model, hidden=8, features=8)), images, scenario, config)
    levels = torch.cat(seen)
    if balance:
        assert (levels > 0.5 / 255).all() and len(set(levels.tolist())) == len(levels)  # one measured level a patch
    else:
        assert (levels == 0).all()  # the blind network's sigma, unused by the plain mean


def test_measured_noise_level_is_the_noise_standard_deviation():
    clean = torch.rand(3, 3, 64, 64) * 0.5 + 0.25
    sigmas = torch.tensor([0.0, 5.0, 30.0]) / 255
    noisy = clean + torch.randn_like(clean) * sigmas.view(-1, 1, 1, 1)
    assert torch.allclose(measured_noise_level(noisy, clean), sigmas, atol=0.3 / 255)


def _conv_dtypes(model) -> list[torch.dtype]:
    """The dtypes the second convolution computes in, recorded on every forward pass (the first, which
    reads the image, computes in float32 always: `networks.ImageConv2d`)."""
    seen = []
    model.stem[2].register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    return seen


def test_precision_follows_the_device_and_the_switch():
    assert precision_name(torch.device("cuda"), True) == "float16"
    assert precision_name(torch.device("cpu"), True) == ("bfloat16" if cpu_bfloat16() else "float32")
    assert precision_name(torch.device("cpu"), False) == precision_name(torch.device("cuda"), False) == "float32"


@pytest.mark.parametrize("amx, avx512_bf16, expected", [(True, False, True), (False, True, True), (False, False, False)])
def test_bfloat16_only_where_the_cpu_has_bfloat16_instructions(monkeypatch, amx, avx512_bf16, expected):
    # oneDNN also "supports" bfloat16 on plain AVX-512 by converting, where it was 1.4x slower.
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    assert cpu_bfloat16() is expected
    assert precision_name(torch.device("cpu"), True) == ("bfloat16" if expected else "float32")


@pytest.mark.skipif(not cpu_bfloat16(), reason="this CPU has no native bfloat16")
def test_bfloat16_image_training_computes_in_bfloat16_and_still_learns(setup):
    clean, noisy, noise, masks = setup
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=16, features=16))
    dtypes = _conv_dtypes(model)
    config = TrainConfig(epochs=20, batch_size=8, patch_size=16, learning_rate=3e-3, threads=2, bfloat16=True)
    result = train_on_image(model, clean, noisy, noise, masks, config)
    assert torch.bfloat16 in dtypes  # training steps
    assert dtypes[-1] == torch.float32  # the final denoise (inference stays float32)
    assert psnr(clean, result.denoised, masks.test) > psnr(clean, noisy, masks.test) + 2.0
    assert next(model.parameters()).dtype == torch.float32  # the weights stay float32


@pytest.mark.skipif(not cpu_bfloat16(), reason="this CPU has no native bfloat16")
@pytest.mark.parametrize("mixed, expected", [(True, torch.bfloat16), (False, torch.float32)])
def test_corpus_training_uses_bfloat16_on_this_cpu_unless_switched_off(mixed, expected):
    images = [np.ascontiguousarray(sample_photo("astronaut", 1)[::8, ::8])]
    model = build_model(ModelConfig(hidden=8, features=8))
    dtypes = _conv_dtypes(model)
    train_on_corpus(model, images, SCENARIOS["gray-gaussian"],
                    CorpusConfig(steps=2, batch_size=2, patch_size=16, threads=1, mixed_precision=mixed))
    assert dtypes == [expected, expected]
