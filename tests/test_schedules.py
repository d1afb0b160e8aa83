"""Pruning while finetuning (imp, gmp) and strategy hyperparameters, on the embedded sample."""

import pytest
import torch

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import load_state_dict
from prunebench.models import create_model
from prunebench.pipeline.cells import Cell
from prunebench.pipeline.configs import PruneConfig
from prunebench.sparsity.masks import mask_compression, prunable_parameters
from prunebench.stages.finetune import finetune_cell
from prunebench.stages.prune import PruneInputs, prune_cell
from prunebench.strategies import STRATEGIES, GradualOptions, keep_count, layerwise_allocation
from prunebench.strategies.schedules import cubic_keep_counts
from prunebench.training.loop import Recipe, train

CPU = torch.device("cpu")
WEIGHTS = "src/prunebench/benchmarks/weights/fashion_mnist_sample_lenet5.safetensors"
CONFIG = PruneConfig(
    benchmark="fashion_mnist_sample_lenet5",
    dataset="fashion_mnist_sample",
    model="lenet5",
    compressions=[2.0],
    seeds=[0],
    include_classifier=False,
    score_batches=1,
    score_batch_size=64,
)
RECIPE = Recipe(batch_size=64, epochs=2, patience=1, steps_per_epoch=6)


@pytest.fixture(scope="module")
def pretrained():
    return load_state_dict(WEIGHTS)


def kept(masks, model) -> int:
    return sum(int(masks[name].sum()) for name in prunable_parameters(model))


def run(method, compression, sample, pretrained, options=None, recipe=RECIPE):
    cell = Cell(float(compression), 0)
    pruned = prune_cell(method, cell, PruneInputs(CONFIG, sample, pretrained, CPU), options)
    finetuned = finetune_cell(
        "lenet5", pretrained, pruned.masks, pruned.metadata, sample, recipe, seed=0, device=CPU
    )
    return pruned, finetuned


def test_the_cubic_schedule_rises_to_the_target_and_holds():
    options = GradualOptions(initial_sparsity=0.0, start=0.0, end=0.5, frequency=10)
    counts = cubic_keep_counts(1000, 1000, 100, planned_steps=100, options=options)
    assert sorted(counts) == [10, 20, 30, 40, 50]
    # s_t = 0.9 - 0.9 (1 - t / 50)^3: at t = 10, 0.9 (1 - 0.512) = 0.4392 of 1000 pruned.
    assert counts[10] == 1000 - 439
    assert counts[50] == 100
    assert list(counts.values()) == sorted(counts.values(), reverse=True)


def test_imp_prunes_in_equal_factors_and_ends_on_the_target(sample, pretrained):
    pruned, finetuned = run("imp", 8, sample, pretrained)
    model = create_model("lenet5", 10)
    parameters = prunable_parameters(model)
    assert kept(pruned.masks, model) == keep_count(model, parameters, 8 ** (1 / 3))
    assert kept(finetuned.masks, model) == keep_count(model, parameters, 8)
    assert mask_compression(model, finetuned.masks) == pytest.approx(8, rel=1e-4)
    # Later rounds only tighten: every weight kept at the end was kept by the first mask.
    for name, mask in finetuned.masks.items():
        assert not (mask & ~pruned.masks[name]).any(), name
    weights = dict(finetuned.model.named_parameters())
    for name, mask in finetuned.masks.items():
        assert not weights[name].detach()[~mask].any(), name
    assert finetuned.budget.to_json() == {"epochs": 3 * 2, "steps": 3 * 2 * 6, "rounds": 3}
    assert [row["round"] for row in finetuned.result.history] == [1, 1, 2, 2, 3, 3]


def test_gmp_starts_dense_and_ends_on_the_target_with_pruned_weights_at_zero(sample, pretrained):
    options = {"start": 0.0, "end": 0.5, "frequency": 2}
    pruned, finetuned = run("gmp", 16, sample, pretrained, options=options)
    model = create_model("lenet5", 10)
    assert all(mask.all() for mask in pruned.masks.values())  # initial sparsity 0
    assert kept(finetuned.masks, model) == keep_count(model, prunable_parameters(model), 16)
    weights = dict(finetuned.model.named_parameters())
    for name, mask in finetuned.masks.items():
        assert not weights[name].detach()[~mask].any(), name
    assert finetuned.budget.to_json() == {"epochs": 2, "steps": 12, "rounds": 1}


def test_pruned_weights_stay_zero_between_mask_updates(sample, pretrained):
    """The mechanism gmp trains with: after every step, whatever the masks in force prune is 0."""
    model = create_model("lenet5", 10)
    model.load_state_dict(pretrained)
    strategy = STRATEGIES["global_mag"]
    total = sum(p.numel() for p in prunable_parameters(model).values())
    schedule = {3: total // 2, 6: total // 4, 9: total // 8}
    in_force = {"masks": strategy.masks(model, keep=total, seed=0)}
    checked = []

    def update(steps_taken):
        weights = dict(model.named_parameters())
        for name, mask in in_force["masks"].items():
            assert not weights[name].detach()[~mask].any(), (steps_taken, name)
        checked.append(steps_taken)
        if steps_taken in schedule:
            in_force["masks"] = strategy.masks(
                model, keep=schedule[steps_taken], seed=0, current=in_force["masks"]
            )
            return in_force["masks"]
        return None

    recipe = Recipe(batch_size=64, epochs=1, patience=1, steps_per_epoch=12)
    result = train(
        model,
        sample,
        recipe,
        seed=0,
        device=CPU,
        masks=in_force["masks"],
        mask_schedule=update,
        settle_step=9,
    )
    assert checked == list(range(1, 13)) and result.steps == 12
    assert kept(in_force["masks"], model) == total // 8


def test_hyperparameters_reach_the_strategy(sample, pretrained):
    cell = Cell(16.0, 0)
    two = prune_cell("imp", cell, PruneInputs(CONFIG, sample, pretrained, CPU), {"rounds": 2})
    four = prune_cell("imp", cell, PruneInputs(CONFIG, sample, pretrained, CPU), {"rounds": 4})
    assert two.metadata.options == {"rounds": 2}
    assert two.metadata.achieved_compression == pytest.approx(4, rel=1e-4)
    assert four.metadata.achieved_compression == pytest.approx(2, rel=1e-4)


@pytest.mark.parametrize(
    ("strategy", "options", "message"),
    [
        ("imp", {"round": 2}, "unknown key prune.options.round; valid keys: rounds"),
        ("lamp", {"rounds": 2}, "valid keys: none"),
        ("gmp", {"start": 0.6, "end": 0.5}, "0 <= start < end <= 1"),
        ("synflow", {"rounds": "many"}, "prune.options.rounds has the wrong type"),
    ],
)
def test_unknown_or_bad_hyperparameters_are_refused_in_one_line(strategy, options, message):
    with pytest.raises(PrunebenchError, match=message.replace(".", r"\.")):
        STRATEGIES[strategy].parse_options(options)


def test_equal_budget_gives_a_one_shot_method_the_recipe_as_many_times(sample, pretrained):
    recipe = Recipe(batch_size=64, epochs=1, patience=5, steps_per_epoch=4)
    pruned = prune_cell("global_mag", Cell(4.0, 0), PruneInputs(CONFIG, sample, pretrained, CPU))
    finetuned = finetune_cell(
        "lenet5",
        pretrained,
        pruned.masks,
        pruned.metadata,
        sample,
        recipe,
        seed=0,
        device=CPU,
        one_shot_rounds=3,
    )
    assert finetuned.budget.to_json() == {"epochs": 3, "steps": 12, "rounds": 1}
    assert all(torch.equal(finetuned.masks[name], pruned.masks[name]) for name in pruned.masks)


def test_a_layerwise_schedule_never_revives_a_pruned_weight():
    """Largest remainders alone give the 2-weight layer one more weight at 10 kept than at 11."""
    scores = {
        name: torch.arange(size, dtype=torch.float64) + 1
        for name, size in (("a", 6), ("b", 6), ("c", 2))
    }
    eleven = layerwise_allocation(scores, 11)
    assert [int(mask.sum()) for mask in eleven.values()] == [5, 5, 1]
    tightened = {
        name: score.masked_fill(~eleven[name], -torch.inf) for name, score in scores.items()
    }
    ten = layerwise_allocation(tightened, 10)
    assert sum(int(mask.sum()) for mask in ten.values()) == 10
    for name, mask in ten.items():
        assert not (mask & ~eleven[name]).any(), name


def test_the_cubic_schedule_reaches_the_target_even_on_one_planned_step():
    options = GradualOptions(end=0.5)
    assert cubic_keep_counts(100, 100, 10, planned_steps=1, options=options) == {1: 10}
    with pytest.raises(PrunebenchError, match="initial_sparsity 0.95 already prunes more"):
        cubic_keep_counts(
            100, 5, 10, planned_steps=10, options=GradualOptions(initial_sparsity=0.95)
        )


def test_an_initial_sparsity_beyond_the_target_is_refused_before_any_work():
    gmp = STRATEGIES["gmp"]
    model = create_model("lenet5", 10)
    options = gmp.parse_options({"initial_sparsity": 0.9})
    gmp.check_reachable(model, [16], input_shape=(1, 28, 28), options=options)
    with pytest.raises(PrunebenchError, match="initial_sparsity 0.9 already prunes more than"):
        gmp.check_reachable(model, [4], input_shape=(1, 28, 28), options=options)
