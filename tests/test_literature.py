"""The meta-analysis data of Blalock et al. (2020), parsed: the tidy table, pairs and counts.

Expectations come from the data's README (rows with an accuracy, per pair), the paper's text
(Table 1, section 4.1) and the raw CSV rows, converted by hand in each test.
"""

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from prunebench.benchmarks.registry import BENCHMARKS
from prunebench.foundations.errors import PrunebenchError
from prunebench.literature.counts import (
    FIGURE_3_AXES,
    FIGURE_3_METRICS,
    PAPER_TABLE_1,
    counts_markdown,
    figure_3_papers,
)
from prunebench.literature.pairs import (
    BENCHMARK_PAIRS,
    Pair,
    merge_models,
    most_common_pairs,
    pair_rows,
    papers_per_pair,
)
from prunebench.literature.papers import DATA, comparison_counts, read_papers
from prunebench.literature.results import RESULT_COLUMNS, fraction, plottable, read_results
from prunebench.pipeline.sources import stage_closure

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return read_results()


@pytest.fixture(scope="module")
def rows(results) -> pd.DataFrame:
    """The table indexed by the data's result number, to read named rows."""
    return results.set_index("result")


def with_top1(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["top1"].notna() | frame["top1_change"].notna()]


def test_every_result_stays_in_the_table_with_one_documented_meaning_per_column(results):
    assert len(results) == 551
    assert list(results.columns) == list(RESULT_COLUMNS)
    # The data's README: 224 of the 551 result rows carry an accuracy.
    assert len(with_top1(results)) == 224


@pytest.mark.parametrize(
    ("pair", "with_accuracy"),
    [
        (Pair("ImageNet", "ResNet-50"), 39),
        (Pair("ImageNet", "VGG-16"), 37),
        (Pair("ImageNet", "CaffeNet"), 32),
        (Pair("CIFAR-10", "ResNet-56"), 30),
        (Pair("CIFAR-10", "ResNet-110"), 13),
        (Pair("ImageNet", "ResNet-34"), 11),
        (Pair("ImageNet", "ResNet-18"), 10),
    ],
)
def test_rows_with_an_accuracy_per_pair_are_the_readmes(results, pair, with_accuracy):
    assert len(with_top1(pair_rows(results, pair))) == with_accuracy


def test_percentage_text_becomes_a_fraction_on_named_rows(rows):
    assert rows.loc[328, "top1"] == pytest.approx(0.9355)  # "93.55%"
    assert rows.loc[330, "top1_change"] == pytest.approx(-0.004)  # dTop1 "-0.400%"
    assert rows.loc[330, "top1_original"] == pytest.approx(0.706)  # "70.60%"
    # Only the error is given ("23.60%"): top-1 is 1 - 0.236.
    assert rows.loc[365, "top1"] == pytest.approx(0.764)
    assert rows.loc[90, "trials"] == 10 and pd.isna(rows.loc[328, "trials"])


def test_kept_saved_ratio_and_counts_become_ratios_on_named_rows(rows):
    expected = {
        # result: (compression, its source) by hand from the raw row.
        328: (1 / (1 - 0.60), "saved"),  # savedParams "60.00%"
        90: (1 / 0.615, "kept"),  # keptParams "61.50%"
        324: (10.30, "ratio"),  # old/new Nparam 10.30 (counts 60.9 / 5.9 would say 10.32)
        286: (0.460 / 0.0693, "counts"),  # OrigMParams 0.460, MParams 0.0693
    }
    for result, (compression, source) in expected.items():
        assert rows.loc[result, "compression"] == pytest.approx(compression), result
        assert rows.loc[result, "compression_from"] == source, result
    assert rows.loc[327, "speedup"] == pytest.approx(2.0)  # savedFLOPS "50.00%"
    assert rows.loc[90, "speedup"] == pytest.approx(1 / 0.699)  # keptFLOPS "69.90%"
    assert rows.loc[54, "speedup"] == pytest.approx(7.729 / 2.64)  # OrigGFLOPS / GFLOPS
    assert rows.loc[54, "speedup_from"] == "counts"


def test_absolute_accuracy_and_its_change_stay_apart(rows):
    # Absolute and original given: the change is their difference, and says so.
    assert rows.loc[327, "top1"] == pytest.approx(0.919)
    assert rows.loc[327, "top1_change"] == pytest.approx(0.919 - 0.928)
    assert rows.loc[327, "top1_change_from"] == "difference"
    # Only the change given: no absolute accuracy is invented.
    assert math.isnan(rows.loc[330, "top1"])
    assert rows.loc[330, "top1_change_from"] == "reported"
    assert rows.loc[54, "top5_change"] == pytest.approx(0.9125 - 0.9287)
    # No accuracy at all: the row stays, with nothing in the accuracy columns.
    assert rows.loc[326, ["top1", "top1_change", "top5", "compression"]].isna().all()
    assert pd.isna(rows.loc[326, "top1_change_from"])


def test_a_percentage_without_its_sign_is_refused():
    assert fraction(pd.Series(["93.55%", None], name="Top1")).tolist()[0] == pytest.approx(0.9355)
    with pytest.raises(PrunebenchError, match="column 'Top1' holds '93.55', not a percentage"):
        fraction(pd.Series(["93.55%", "93.55"], name="Top1"))


def test_figures_draw_only_rows_with_both_numbers(results):
    resnet56 = pair_rows(results, Pair("CIFAR-10", "ResNet-56"))
    drawn = plottable(resnet56, "compression", "top1_change")
    assert len(resnet56) == 32 and len(drawn) == 12
    assert drawn[["compression", "top1_change"]].notna().all().all()


def test_papers_have_one_label_each_and_their_review():
    papers = read_papers().set_index("paper")
    assert len(papers) == 81 and papers["label"].is_unique
    # Two Huang 2018 papers, lettered in the order of their keys.
    assert papers.loc["huang-prune-filters", "label"] == "Huang 2018a"
    assert papers.loc["sss", "label"] == "Huang 2018b"
    assert papers.loc["soft-filter-pruning", "peer_reviewed"]
    assert not papers.loc["lottery-ticket-followup", "peer_reviewed"]  # arXiv
    assert papers.loc["lottery-ticket-followup", "compares_to"] == (
        "SNIP",
        "rethinking-net-pruning",
        "lottery-ticket",
    )


def test_comparison_counts_on_a_hand_built_corpus():
    # a compares to b and c, b to c, c to none; a and c are peer-reviewed.
    papers = pd.DataFrame(
        {
            "paper": ["a", "b", "c"],
            "peer_reviewed": [True, False, True],
            "compares_to": [("b", "c"), ("c",), ()],
        }
    )
    counts = comparison_counts(papers)
    compares = counts["compares_to"].set_index("k")
    assert compares["papers"].tolist() == [1, 1, 1]  # c: 0, b: 1, a: 2
    assert compares["peer_reviewed"].tolist() == [1, 0, 1]
    compared = counts["compared_to_by"].set_index("k")
    assert compared["papers"].tolist() == [1, 1, 1]  # a: 0, b: 1, c: 2
    assert compared["other"].tolist() == [0, 1, 0]


def test_figure_2_counts_beside_the_papers_text():
    counts = comparison_counts(read_papers())
    compares = counts["compares_to"].set_index("k")["papers"]
    compared = counts["compared_to_by"].set_index("k")["papers"]
    assert compares.sum() == compared.sum() == 81
    # "More than a fourth" compare to no earlier method, "another fourth" to only one.
    assert compares[0] == 21 and compares[0] / 81 > 0.25
    assert compares[1] == 22
    # "Dozens" are compared to by no later paper.
    assert compared[0] == 33


def test_table_1_and_figure_3s_pairs(results):
    counts = papers_per_pair(results)
    differing = {pair for pair, papers in PAPER_TABLE_1.items() if counts[pair] != papers}
    assert differing == {Pair("MNIST", "LeNet-5"), Pair("ImageNet", "CaffeNet")}
    merged = merge_models(results)
    assert most_common_pairs(merged) == [
        Pair("ImageNet", "VGG-16"),
        Pair("ImageNet", "AlexNet/CaffeNet"),
        Pair("ImageNet", "ResNet-50"),
        Pair("CIFAR-10", "ResNet-56"),
    ]
    assert figure_3_papers(merged, most_common_pairs(merged)) == 39
    assert FIGURE_3_AXES == ("compression", "speedup")
    assert set(FIGURE_3_METRICS) <= set(RESULT_COLUMNS)


def test_every_matched_benchmark_is_registered_and_its_pair_is_in_the_data(results):
    for benchmark, pair in BENCHMARK_PAIRS.items():
        assert benchmark in BENCHMARKS.names(), benchmark
        assert len(pair_rows(results, pair)) > 0, pair
    default = yaml.safe_load((ROOT / "params.yaml").read_text())["benchmark"]
    assert default not in BENCHMARK_PAIRS
    assert BENCHMARK_PAIRS["cifar10_vgg"] == Pair("CIFAR-10", "VGG-Torch-CIFAR10")


def test_the_data_ship_with_their_licence_and_only_aggregate_reads_them():
    licence = (DATA / "LICENSE").read_text()
    assert "MIT License" in licence and "Copyright (c) 2019 Jose Javier" in licence
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    # The data are no import: aggregate's deps name their folder beside the modules.
    assert "src/prunebench/literature/blalock2020" in stages["aggregate"]["deps"]
    scripts = {stage.get("do", stage)["cmd"].split()[1] for stage in stages.values()}
    for script in scripts:
        closure = {str(path.relative_to(ROOT)) for path in stage_closure(ROOT / script)}
        reads = any("prunebench/literature" in path for path in closure)
        assert reads == (script == "stages/aggregate.py"), script


def test_the_committed_counts_and_docs_are_the_datas():
    command = "python scripts/literature_figures.py"
    committed = (ROOT / "docs/literature/counts.md").read_text()
    assert committed == counts_markdown(read_papers(), read_results(), command)
    page = (ROOT / "docs/literature.md").read_text()
    assert command in page
    for column in RESULT_COLUMNS:
        assert f"`{column}`" in page, column
