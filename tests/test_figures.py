"""The accuracy figures, rendered for real: every seed, the mean, its 95% CI, matched controls.

The cells mimic LeNet-5 on Fashion-MNIST pruned by ``lamp`` against two baselines and lamp's two
matched controls, five targets, three seeds. Artists are found through their ``gid``
(``seeds:NAME``, ``band:NAME``, ``mean:NAME``) on the returned figure. Colours and markers come
from the properties each method declares (``PROPERTIES``), never from its name.
"""

import colorsys
import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from method_properties import PROPERTIES, parts
from scipy import stats

from prunebench.foundations.errors import PrunebenchError
from prunebench.reporting.figures.accuracy import plot_accuracy
from prunebench.reporting.figures.style import method_color, method_marker
from prunebench.reporting.methods import Methods
from prunebench.reporting.report.setup import Pretrained, ReportSetup
from prunebench.reporting.tables import cells_table

TARGETS = [2, 4, 8, 16, 32]
SEEDS = [0, 1, 2]
PARAMS_TOTAL = 431_080
# Mean top-1 (%) and theoretical speedup per target. The matched controls keep lamp's layer
# sizes, hence lamp's multiply-adds; magnitude within a layer nearly matches lamp, random does not.
CURVES = {
    "lamp": ([89.7, 89.5, 89.0, 88.0, 86.0], [1.3, 1.6, 2.2, 3.2, 5.0]),
    "random": ([88.0, 85.0, 78.0, 65.0, 40.0], [1.95, 3.85, 7.4, 14.0, 26.0]),
    "global_mag": ([89.6, 89.4, 88.9, 87.8, 85.2], [1.15, 1.35, 1.7, 2.3, 3.1]),
    "matched_random": ([88.6, 86.9, 83.0, 75.5, 58.0], [1.3, 1.6, 2.2, 3.2, 5.0]),
    "matched_mag": ([89.7, 89.4, 88.9, 87.7, 85.5], [1.3, 1.6, 2.2, 3.2, 5.0]),
}
BASELINES = ["random", "global_mag"]
MATCHED = ["matched_random", "matched_mag"]


METHODS = Methods("lamp", BASELINES, MATCHED, PROPERTIES)
# Seed offsets (percentage points), growing with compression as real spreads do.
OFFSETS = [-0.25, 0.05, 0.3]
CONTROL = {"top1": 0.9012, "top5": 0.9981}
SETUP = ReportSetup(
    benchmark="fashion_mnist_sample_lenet5",
    dataset="fashion_mnist_sample",
    model="lenet5",
    pretrained=Pretrained(source="trained in the pipeline", top1=0.9012),
    finetune={},
    augmentation="none",
    seeds=SEEDS,
    compressions=TARGETS,
    equal_budget=False,
    environment={},
)


def make_cells(seeds=SEEDS, methods=CURVES) -> pd.DataFrame:
    rows = []
    for method in methods:
        top1s, speedups = CURVES[method]
        for index, (target, top1, speedup) in enumerate(zip(TARGETS, top1s, speedups, strict=True)):
            for seed in seeds:
                value = (top1 + OFFSETS[seed] * (1 + index / 2)) / 100
                # A seeded allocation (random) may differ by a weight or so across seeds.
                jitter = 1 + 0.002 * seed if method == "random" else 1.0
                nonzero = round(PARAMS_TOTAL / target)
                rows.append(
                    {
                        "strategy": method,
                        "target_compression": target,
                        "seed": seed,
                        "top1": value,
                        "top5": min(0.999, value + 0.09),
                        "loss": 0.3 + (0.9 - value),
                        "compression": PARAMS_TOTAL / nonzero,
                        "effective_compression": PARAMS_TOTAL / nonzero * 1.02,
                        "speedup": speedup * jitter,
                    }
                )
    return cells_table(rows)


@pytest.fixture(scope="module")
def cells() -> pd.DataFrame:
    return make_cells()


def draw(cells, path, methods=METHODS, **options):
    """Plot ``cells``; ``options`` change the run's methods (strategy, baselines, matched)."""
    changed = {
        key: options.pop(key) for key in ("strategy", "baselines", "matched") if key in options
    }
    methods = dataclasses.replace(methods, **changed)
    return plot_accuracy(cells, CONTROL, path, methods=methods, setup=SETUP, **options)


def artists(figure, kind, prefix):
    """Artists of ``kind`` on the figure's axes whose gid starts with ``prefix``."""
    return {
        artist.get_gid().split(":", 1)[1]: artist
        for artist in figure.axes[0].get_children()
        if isinstance(artist, kind) and (artist.get_gid() or "").startswith(prefix)
    }


def sorted_rows(points: np.ndarray) -> np.ndarray:
    return points[np.lexsort(points.T[::-1])]


def figure_texts(figure) -> str:
    return "\n".join(text.get_text() for text in figure.findobj(lambda a: hasattr(a, "get_text")))


@pytest.mark.parametrize("x", ["compression", "speedup"])
def test_png_is_written_on_a_log2_axis(cells, tmp_path, x):
    path = tmp_path / "figures" / f"top1_vs_{x}.png"
    figure = draw(cells, path, x=x)
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 10_000
    assert not list(path.parent.glob(".*.tmp"))
    axes = figure.axes[0]
    assert axes.get_xscale() == "log" and axes.xaxis.get_transform().base == 2
    assert {"2", "4"} <= {label.get_text() for label in axes.get_xticklabels()}
    assert axes.get_ylabel() == "Top-1 accuracy (%)"
    title = axes.get_title(loc="left")
    assert "lenet5" in title and "fashion_mnist_sample" in title


def test_every_seed_is_a_point_at_its_own_x(cells, tmp_path):
    figure = draw(cells, tmp_path / "f.png", x="speedup")
    points = artists(figure, PathCollection, "seeds:")
    assert set(points) == set(CURVES)
    for method, collection in points.items():
        rows = cells[cells["strategy"] == method]
        offsets = np.asarray(collection.get_offsets())
        assert len(offsets) == len(rows) == len(TARGETS) * len(SEEDS)
        expected = np.column_stack([rows["speedup"], 100 * rows["top1"]])
        np.testing.assert_allclose(sorted_rows(offsets), sorted_rows(expected))


def test_the_band_is_the_t_interval_of_the_mean(cells, tmp_path):
    figure = draw(cells, tmp_path / "f.png")
    bands = artists(figure, PolyCollection, "band:")
    assert set(bands) == set(CURVES)
    rows = cells[(cells["strategy"] == "random") & (cells["target_compression"] == 16)]
    n = len(rows)
    mean, std = 100 * rows["top1"].mean(), 100 * rows["top1"].std(ddof=1)
    half = stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)
    vertices = np.concatenate([path.vertices for path in bands["random"].get_paths()])
    at_x = vertices[np.isclose(vertices[:, 0], rows["compression"].mean())]
    assert at_x[:, 1].min() == pytest.approx(mean - half)
    assert at_x[:, 1].max() == pytest.approx(mean + half)
    line = artists(figure, type(figure.axes[0].lines[0]), "mean:")["random"]
    assert 100 * line.get_ydata()[TARGETS.index(16)] == pytest.approx(100 * mean)


def test_a_single_seed_draws_no_band_and_says_so(tmp_path):
    path = tmp_path / "single.png"
    figure = draw(make_cells(seeds=[0]), path)
    assert path.stat().st_size > 10_000
    assert not artists(figure, PolyCollection, "band:")
    assert len(artists(figure, PathCollection, "seeds:")["lamp"].get_offsets()) == len(TARGETS)
    assert "no band: a single seed (n = 1)" in figure_texts(figure)


def test_the_figure_says_what_the_band_is(cells, tmp_path):
    texts = figure_texts(draw(cells, tmp_path / "f.png"))
    assert "points: each seed; line: mean" in texts
    assert "band: 95% CI of the mean" in texts and "n = 3 seeds" in texts


def test_a_run_of_several_initial_models_counts_runs_and_names_its_control_line(cells, tmp_path):
    # The same three seeds again from initial model 1: six runs per point.
    several = pd.concat([cells.assign(initial_model=0), cells.assign(initial_model=1)])
    label = "control (unpruned), mean of 2 initial models"
    figure = draw(several, tmp_path / "f.png", control_label=label)
    texts = figure_texts(figure)
    assert "points: each run (a seed from\none initial model)" in texts
    assert "n = 6 runs" in texts and "3 seeds × 2 initial models" in texts
    assert f"{label}: 90.1%" in texts


def test_a_varying_number_of_seeds_is_given_as_a_range(cells, tmp_path):
    fewer = cells[~((cells["strategy"] == "random") & (cells["seed"] == 2))]
    texts = figure_texts(draw(fewer, tmp_path / "f.png"))
    assert "n = 2–3 seeds" in texts


def test_a_target_with_one_seed_leaves_a_gap_in_the_band(cells, tmp_path):
    one = (
        (cells["strategy"] == "random") & (cells["target_compression"] == 32) & (cells["seed"] > 0)
    )
    figure = draw(cells[~one], tmp_path / "f.png")
    assert "n = 1–3 seeds" in figure_texts(figure) and "none where n = 1" in figure_texts(figure)
    vertices = np.concatenate(
        [path.vertices for path in artists(figure, PolyCollection, "band:")["random"].get_paths()]
    )
    assert vertices[:, 0].max() < 32


def test_legend_lists_methods_in_order_with_control_and_matched_labels(cells, tmp_path):
    legend = draw(cells, tmp_path / "f.png").axes[0].get_legend()
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == [
        "lamp (evaluated)",
        "random",
        "global_mag",
        "matched_random (lamp's layer sizes, random)",
        "matched_mag (lamp's layer sizes, magnitude)",
        "control (unpruned): 90.1%",
    ]


def test_matched_controls_take_the_evaluated_colour_and_their_own_line_style(cells, tmp_path):
    figure = draw(cells, tmp_path / "f.png")
    lines = artists(figure, type(figure.axes[0].lines[0]), "mean:")
    assert lines["matched_mag"].get_color() == lines["lamp"].get_color()
    assert lines["matched_random"].get_color() == lines["lamp"].get_color()
    assert lines["matched_mag"].get_linestyle() == "--"
    assert lines["matched_random"].get_linestyle() == ":"
    assert lines["matched_mag"].get_markerfacecolor() == "white"
    assert lines["lamp"].get_linewidth() > lines["global_mag"].get_linewidth()


def test_another_matched_name_gets_a_dash_dot_line(cells, tmp_path):
    renamed = cells.replace({"strategy": {"matched_mag": "matched_grad"}})
    figure = draw(renamed, tmp_path / "f.png", matched=["matched_random", "matched_grad"])
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert "matched_grad (lamp's layer sizes, gradient)" in labels
    lines = artists(figure, type(figure.axes[0].lines[0]), "mean:")
    assert lines["matched_grad"].get_linestyle() == "-."


def test_the_strategy_listed_as_a_baseline_is_drawn_once(cells, tmp_path):
    figure = draw(cells, tmp_path / "f.png", strategy="global_mag", matched=())
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels == ["global_mag (evaluated)", "random", "control (unpruned): 90.1%"]


@pytest.mark.parametrize("option", [{"baselines": ["layer_grad"]}, {"matched": ["matched_x"]}])
def test_a_method_without_results_is_an_error(cells, tmp_path, option):
    path = tmp_path / "f.png"
    with pytest.raises(PrunebenchError, match="no results for method .* \\(have: "):
        draw(cells, path, **option)
    assert not path.exists()


def lightness(color) -> float:
    return colorsys.rgb_to_hls(*color)[1]


def hue(color) -> float:
    return colorsys.rgb_to_hls(*color)[0]


def test_one_score_shares_a_hue_and_the_allocation_sets_the_shade():
    dark, light = method_color("global_mag", METHODS), method_color("layer_mag", METHODS)
    assert dark != light
    assert hue(dark) == pytest.approx(hue(light), abs=0.02)
    assert lightness(dark) < lightness(light)  # global dark, layerwise light
    # The same holds for a score of the researcher's own, and for channel scores.
    own = Methods("mylab.taylor:global", ["mylab.taylor:layer"], (), {
        "mylab.taylor:global": parts("taylor"), "mylab.taylor:layer": parts("taylor", "layerwise")
    })  # fmt: skip
    dark, light = method_color("mylab.taylor:global", own), method_color("mylab.taylor:layer", own)
    assert hue(dark) == pytest.approx(hue(light), abs=0.02) and lightness(dark) < lightness(light)
    channels = [method_color(name, METHODS) for name in ("global_channel_l1", "layer_channel_l1")]
    assert hue(channels[0]) == pytest.approx(hue(channels[1]), abs=0.02)
    # Different scores: different hues; the schedule changes the marker, not the colour.
    assert method_color("lamp", METHODS) != method_color("global_mag", METHODS)
    assert method_color("imp", METHODS) == method_color("global_mag", METHODS)
    assert method_color("gmp", METHODS) == method_color("layer_mag", METHODS)  # gmp is layerwise


def test_the_colour_follows_the_properties_not_the_name():
    # A name that says magnitude, declared with a random score: drawn as random is.
    misleading = Methods("global_mag", [], (), {"global_mag": parts("random")})
    assert method_color("global_mag", misleading) == method_color("random", METHODS)
    # An unknown score's hue is stable and the same for every method declaring it.
    first = Methods("a", ["b"], (), {"a": parts("snip"), "b": parts("snip")})
    assert method_color("a", first) == method_color("b", first) == method_color("a", first)


def test_markers_come_from_structure_and_schedule():
    markers = {name: method_marker(name, METHODS) for name in PROPERTIES}
    assert markers["global_mag"] == markers["layer_mag"] == markers["lamp"] == "o"
    assert markers["global_channel_l1"] == markers["layer_channel_l1"] == "s"
    assert markers["imp"] == "D" and markers["gmp"] == "v"
    assert method_marker("unknown", METHODS) == "*"


def test_the_drawn_figure_uses_the_properties(cells, tmp_path):
    renamed = cells.replace({"strategy": {"random": "imp", "global_mag": "layer_channel_l1"}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph missing from the legend's font would warn
        figure = draw(renamed, tmp_path / "f.png", baselines=["imp", "layer_channel_l1"])
    lines = artists(figure, type(figure.axes[0].lines[0]), "mean:")
    assert lines["imp"].get_marker() == "D" and lines["layer_channel_l1"].get_marker() == "s"
    assert lines["lamp"].get_marker() == "o"
    assert lines["imp"].get_color() == method_color("global_mag", METHODS)
    # The evaluated method still stands out: thickest line, first in the legend.
    assert lines["lamp"].get_linewidth() > max(
        lines[n].get_linewidth() for n in lines if n != "lamp"
    )
    # Matched controls keep the evaluated method's colour and their hollow markers.
    assert lines["matched_mag"].get_color() == lines["lamp"].get_color()
    assert lines["matched_mag"].get_marker() == "s"
    assert lines["matched_mag"].get_markerfacecolor() == "white"
    title = figure.axes[0].get_legend().get_title().get_text()
    assert "colour: score; dark global, light layerwise" in title
    assert "● one-shot" in title and "■ channels" in title and "◆ iterative" in title


def test_an_external_method_name_is_drawn(cells, tmp_path):
    name = "mylab.taylor:strategy"
    renamed = cells.replace({"strategy": {"lamp": name}})
    methods = Methods(name, BASELINES, MATCHED, PROPERTIES | {name: parts("taylor")})
    path = tmp_path / "f.png"
    figure = draw(renamed, path, methods=methods)
    assert path.stat().st_size > 10_000
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels[0] == f"{name} (evaluated)"
    assert "matched_mag (mylab.taylor:strategy's layer sizes, magnitude)" in labels
    assert name in artists(figure, type(figure.axes[0].lines[0]), "mean:")
