"""Published results beside the measured curve: above and below, the report, the overlay.

The placement is checked on a hand-made curve; the section on the real CIFAR-10 ResNet-56 claims;
the whole path on a run of the ``cifar10_resnet56`` benchmark (ShrinkBench's published weights
from the mirror, tiny CIFAR-format files), whose report overlays the literature, and on the same
cells under a benchmark without a pair in the data, whose report says so in one line.
"""

import dataclasses
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from params_edit import with_changes
from test_data import write_cifar
from test_pretrained import MIRROR, needs_mirror

from prunebench.pipeline.layout import (
    MODEL_FILE,
    Role,
    finetuned_folder,
    masks_folder,
    method_folder,
)
from prunebench.pipeline.params import parse_params
from prunebench.pipeline.resolve import resolve
from prunebench.reporting import Pretrained, ReportSetup
from prunebench.reporting.published import (
    Position,
    measured_change,
    positions,
    published_results,
)
from prunebench.reporting.report.published_results import published_line, published_lines

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "params.yaml").read_text())


def setup_of(benchmark: str, dataset: str, model: str) -> ReportSetup:
    return ReportSetup(
        benchmark=benchmark,
        dataset=dataset,
        model=model,
        pretrained=Pretrained(source="published weights", top1=0.93),
        finetune={},
        augmentation="none",
        seeds=[0, 1],
        compressions=[2.0, 8.0],
        equal_budget=False,
        environment={},
    )


def test_a_claim_is_placed_against_the_curve_interpolated_in_log2_compression():
    # The curve: -1 point at 2x, -3 points at 8x; at 4x (halfway in log2) it is -2 points.
    curve = pd.DataFrame({"compression": [2.0, 8.0], "top1_change": [-0.01, -0.03]})
    claims = pd.DataFrame(
        {
            "compression": [4.0, 4.0, 8.0, 1.5, 16.0],
            "top1_change": [-0.015, -0.025, -0.03, 0.0, -0.5],
        }
    )
    measured = measured_change(curve, claims["compression"])
    assert measured[:3] == pytest.approx([-0.02, -0.02, -0.03])
    assert math.isnan(measured[3]) and math.isnan(measured[4])
    assert list(positions(claims["top1_change"], measured)) == [
        Position.ABOVE,
        Position.BELOW,
        Position.ON,
        Position.OUTSIDE,  # below the measured range: never extrapolated
        Position.OUTSIDE,  # above it
    ]


def test_a_benchmark_without_a_pair_has_no_published_results_and_one_setup_line():
    grouped = pd.DataFrame({"strategy": ["lamp"], "compression": [2.0], "top1_mean": [0.9]})
    assert published_results("fashion_mnist_sample_lenet5", grouped, 0.9, "lamp") is None
    setup = setup_of("fashion_mnist_sample_lenet5", "fashion_mnist_sample", "lenet5")
    assert published_line(None, setup) == (
        "- Published results: none to set beside this run; the meta-analysis data of Blalock "
        "et al. (2020) hold no result for this dataset and model (`fashion_mnist_sample`, "
        "`lenet5`)"
    )
    assert published_lines(None, "lamp") == []


def test_the_section_lists_every_claim_with_its_paper_and_trials():
    # A measured curve from 1.5x to 40x: -0.1 point, then -1 point.
    grouped = pd.DataFrame(
        {"strategy": "lamp", "compression": [1.5, 40.0], "top1_mean": [0.929, 0.92]}
    )
    published = published_results("cifar10_resnet56", grouped, 0.93, "lamp")
    assert (published.results, published.papers, len(published.claims)) == (32, 14, 12)
    above, below = published.count(Position.ABOVE), published.count(Position.BELOW)
    outside = published.count(Position.OUTSIDE)
    assert above + below + published.count(Position.ON) + outside == 12
    lines = published_lines(published, "lamp")
    text = "\n".join(lines)
    assert lines[0] == "## Published results" and lines[-1] == ""
    assert f"**{above}** of {12 - outside} compared claim(s) above the measured curve" in text
    # Suau et al.'s PFA-En (data result 90): kept 61.5% of the parameters, -0.18 points, 10 runs.
    # The curve at 1.626x, 0.0334 of the way from 1.5x to 40x in log2: -0.1 - 0.9 * 0.0245.
    assert "| Suau 2018, PFA-En | 1.63× | -0.18 | 10 trials | -0.12 | below |" in text
    assert "trials not reported" in text
    assert "![published results beside the measured curve](figures/" in text


@pytest.fixture(scope="module")
def cifar_run(tmp_path_factory) -> dict:
    """``cifar10_resnet56`` from its published weights on tiny CIFAR files (30 training images,
    6 test images), every stage in this process: ``global_mag`` against itself as the baseline
    at 2x and 4x, one seed, one step of finetuning."""
    from prunebench.stages.evaluate import evaluate_cells
    from prunebench.stages.fetch_data import fetch_data
    from prunebench.stages.fetch_pretrained import fetch_pretrained
    from prunebench.stages.finetune import finetune_cells
    from prunebench.stages.prune import prune_strategy_cells

    root = tmp_path_factory.mktemp("cifar_run")
    write_cifar(root / "cifar", hundred=False, images_per_batch=6)
    params = with_changes(
        DEFAULT,
        benchmark="cifar10_resnet56",
        strategy="global_mag",
        baselines=["global_mag"],
        matched_controls=[],
        compressions=[2, 4],
        seeds=[0],
        data__root=str(root / "cifar"),
        data__validation_size=6,
        pretrained__mirror=str(MIRROR),
        finetune__epochs=1,
        finetune__batch_size=24,
        evaluate__batch_size=6,
        prune__score_batch_size=6,
    )
    stages = resolve(parse_params(params))
    data, models, results = root / "data", root / "models", root / "results"
    pretrained, cpu = models / "pretrained" / MODEL_FILE, torch.device("cpu")
    fetch_data(stages.fetch_data, data)
    fetch_pretrained(
        stages.fetch_pretrained,
        data=data,
        out=pretrained.parent,
        control=results / "control.json",
        device=cpu,
        cache=root / "cache",
    )
    shared = dict(data=data, device=cpu, code="test")
    folder = method_folder(Role.EVALUATED, "global_mag")
    masks, finetuned = masks_folder(folder, models), finetuned_folder(folder, models)
    prune_strategy_cells("global_mag", stages.prune, out=masks, pretrained=pretrained, **shared)
    finetune_cells(stages.finetune, masks=masks, out=finetuned, pretrained=pretrained, **shared)
    cells = results / "cells"
    evaluate_cells(stages.evaluate, finetuned=finetuned, out=cells / folder, **shared)
    # The method run again as its own baseline gives the same bytes (a seed fixes the run,
    # tests/test_verdicts_pipeline.py), so its cells are copied rather than computed again.
    shutil.copytree(cells / folder, cells / method_folder(Role.BASELINE, "global_mag"))
    paths = {"results": results, "source": pretrained.parent / "source.json"}
    return {"config": stages.aggregate, "paths": paths | {"data": data / "dataset.json"}}


@needs_mirror
def test_a_cifar10_resnet56_run_overlays_the_published_results(cifar_run):
    from prunebench.stages.aggregate import aggregate

    aggregate(cifar_run["config"], **cifar_run["paths"])

    results = cifar_run["paths"]["results"]
    report = (results / "report.md").read_text()
    assert (
        "- Published results: 32 result(s) of 14 paper(s) on CIFAR-10 ResNet-56 in the "
        "meta-analysis data of Blalock et al. (2020); 12 give a change in top-1 and a "
        "compression ratio (Published results, below)"
    ) in report
    section = report.split("## Published results")[1].split("## Metric disagreement")[0]
    assert "against `global_mag`'s measured curve" in section
    assert section.count("\n| ") == 2 + 12  # header, rule and one row per claim
    assert "| Suau 2018, PFA-En | 1.63× | -0.18 | 10 trials |" in section
    assert (results / "figures/published_top1_vs_compression.png").stat().st_size > 10_000


@needs_mirror
def test_the_same_cells_under_a_benchmark_without_a_pair_show_no_overlay(cifar_run):
    from prunebench.stages.aggregate import aggregate

    results = cifar_run["paths"]["results"]
    aggregate(cifar_run["config"], **cifar_run["paths"])
    assert (results / "figures/published_top1_vs_compression.png").exists()
    # cifar10_resnet44: the data hold no ResNet-44 result.
    config = dataclasses.replace(cifar_run["config"], benchmark="cifar10_resnet44")
    aggregate(config, **cifar_run["paths"])

    report = (results / "report.md").read_text()
    assert "## Published results" not in report
    assert "- Published results: none to set beside this run;" in report
    # The earlier run's overlay would contradict this report: it is removed.
    assert not (results / "figures/published_top1_vs_compression.png").exists()
    assert (results / "figures/top1_vs_compression.png").exists()
