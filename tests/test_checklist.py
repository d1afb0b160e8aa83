"""The Appendix B checklist: complete, in the paper's order, paraphrased, and ticked from evidence.

Where the paper's text is available (``../shared/reference`` beside the repository), the
structure and the order are checked against the appendix itself, and every item against copying
the paper's sentences.
"""

import dataclasses
import re
from pathlib import Path

import pytest
from method_properties import PROPERTIES, parts

from prunebench.reporting.checklist import (
    LEGEND,
    ChecklistItem,
    RunEvidence,
    checklist,
    render_checklist,
)
from prunebench.reporting.methods import Methods

PAPER = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "reference"
    / "blalock2020-state-of-pruning.txt"
)
GROUPS = ["The method", "Every experiment", "Every result", "Compared against"]
# Appendix B: levels of the items, group by group (1 = a sub-item).
LEVELS = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, 1, 0, 1, 1, 0, 1]]
# Words that tie each of our items (first tuple) to the paper's item at the same place (second).
ORDER = [
    (("magnitude", "2010"), ("magnitude", "2010s")),
    (("hyperparameters", "reimplement"), ("hyperparameters", "reimplement")),
    (("claims",), ("claims",)),
    (("source code", "link"), ("source code", "link")),
    (("architecture", "rebuild"), ("architecture", "reimplement")),
    (("existing architecture", "cited"), ("not novel", "citation")),
    (("batch size", "augmentation"), ("batch size", "augmentation")),
    (("library", "hardware"), ("library", "hardware")),
    (("range", "extreme"), ("range", "extreme")),
    (("raw accuracy",), ("raw accuracy",)),
    (("several runs", "seed"), ("multiple runs", "seeds")),
    (("error bars", "mean", "standard deviation"), ("error bars", "mean", "standard deviation")),
    (("flops",), ("flop",)),
    (("random", "baseline"), ("random pruning baseline",)),
    (("random", "global"), ("global random",)),
    (("random", "per layer proportions"), ("random", "layerwise pruning proportions")),
    (("magnitude", "baseline"), ("magnitude pruning baseline",)),
    (("magnitude", "global", "equal fraction"), ("magnitude", "global", "uniform")),
    (("magnitude", "per layer proportions"), ("magnitude", "layerwise pruning proportions")),
    (("state of the art",), ("state of the art",)),
    (("reimplementation", "differs"), ("reimplementation", "differences")),
]
AUTHOR_ONLY = 4  # the four items about the proposed method itself


FULL_METHODS = Methods(
    "lamp",
    ["random", "global_mag", "layer_mag", "global_grad", "layer_grad"],
    ["matched_random", "matched_mag"],
    PROPERTIES,
)


def run_with(run: RunEvidence | None = None, **methods) -> RunEvidence:
    """``run`` (FULL by default) with its methods changed (strategy, baselines, matched, ...)."""
    run = run or FULL
    return dataclasses.replace(run, methods=dataclasses.replace(run.methods, **methods))


FULL = RunEvidence(
    methods=FULL_METHODS,
    targets=[2, 4, 8, 16, 32],
    seeds_per_point=3,
    control_top1=0.9012,
    evaluated_top1={2: 0.897, 4: 0.895, 8: 0.890, 16: 0.880, 32: 0.800},
    has_top5=True,
    has_speedup=True,
    interval="95% paired-t CI over 3 seeds; figures: band = 95% CI of the mean",
    dataset="fashion_mnist_sample",
    model="lenet5",
    model_citation="LeNet-5-Caffe (LeCun et al. 1998; Caffe's variant)",
    finetune={
        "optimizer": "adam",
        "learning_rate": 0.0003,
        "batch_size": 64,
        "epochs": 10,
        "patience": 3,
    },
    augmentation="none",
    environment={
        "prunebench": "0.1.0",
        "torch": "2.5.1",
        "device": "cpu",
        "cpu": "AMD EPYC 7B13",
        "threads": "2",
    },
    pretrained="prunebench's published LeNet-5 (sha256-checked)",
    figures=2,
)
BARE = dataclasses.replace(
    FULL,
    methods=Methods("lamp", [], [], PROPERTIES),
    targets=[32],
    seeds_per_point=1,
    control_top1=None,
    evaluated_top1={},
    has_top5=False,
    has_speedup=False,
    interval="",
    model_citation=None,
    finetune={},
    augmentation=None,
    environment={},
)


def _by_group(items: list[ChecklistItem]) -> dict[str, list[ChecklistItem]]:
    groups: dict[str, list[ChecklistItem]] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    return groups


def _item(items: list[ChecklistItem], group: int, index: int) -> ChecklistItem:
    return _by_group(items)[GROUPS[group]][index]


def _words(text: str) -> list[str]:
    """Lowercase words, with line-end hyphenation undone and other hyphens read as spaces."""
    text = re.sub(r"-\s*\n\s*", "", text)
    return re.findall(r"[a-z0-9]+", text.lower().replace("-", " "))


def _normal(text: str) -> str:
    return " " + " ".join(_words(text)) + " "


def _paper_appendix() -> list[list[tuple[int, str]]]:
    """Appendix B parsed from the paper: per group, (level, text) of each bullet."""
    if not PAPER.exists():
        pytest.skip(f"the paper's text is not at {PAPER}")
    text = PAPER.read_text(encoding="utf-8")
    start = text.index("B CHECKLIST FOR EVALUATING")
    end = text.index("C EXPERIMENTAL SETUP", start)
    groups: list[list[tuple[int, str]]] = []
    for line in text[start:end].splitlines()[2:]:
        stripped = line.strip()
        if "check if" in stripped:
            groups.append([])
        elif stripped.startswith("•"):
            groups[-1].append((0, stripped[1:]))
        elif stripped.startswith("–"):
            groups[-1].append((1, stripped[1:]))
        elif stripped and groups and groups[-1]:
            level, body = groups[-1][-1]
            groups[-1][-1] = (level, body + "\n" + stripped)
    return groups


def test_every_item_of_appendix_b_in_the_papers_order():
    items = checklist(FULL)
    assert len(items) == 21
    assert list(_by_group(items)) == GROUPS
    assert [[item.level for item in group] for group in _by_group(items).values()] == LEVELS
    for item, (ours, _) in zip(items, ORDER, strict=True):
        assert all(word in _normal(item.text) for word in ours), item.text


def test_structure_and_order_match_the_paper_itself():
    paper = _paper_appendix()
    assert [[level for level, _ in group] for group in paper] == LEVELS
    bullets = [body for group in paper for _, body in group]
    items = checklist(FULL)
    for item, body, (ours, theirs) in zip(items, bullets, ORDER, strict=True):
        assert all(word in _normal(item.text) for word in ours), item.text
        assert all(word in _normal(body) for word in theirs), body


def test_full_run_ticks_every_item_it_has_evidence_for():
    items = checklist(FULL)
    data_items = [item for item in items if item.group != "The method"]
    # Open whatever the run: initialisations are fixed on purpose, and which state-of-the-art
    # methods matter is the author's call.
    seeds, other = _item(items, 2, 2), _item(items, 3, 6)
    assert (seeds.status, other.status) == ("not met", "author")
    assert "one pretrained model" in seeds.evidence
    rest = [item for item in data_items if item not in (seeds, other)]
    assert [item.status for item in rest] == ["met"] * len(rest)
    extreme = _item(items, 2, 0)
    assert "32×" in extreme.evidence and "10.1 points below" in extreme.evidence
    assert "3 seeds" in _item(items, 2, 2).evidence
    assert "95% paired-t CI" in _item(items, 2, 3).evidence
    assert "`global_grad`, `layer_grad`" in _item(items, 3, 6).evidence
    assert "AMD EPYC" in _item(items, 1, 3).evidence
    assert "batch size 64" in _item(items, 1, 2).evidence


def test_two_seeds_leave_multiple_runs_open():
    items = checklist(dataclasses.replace(FULL, seeds_per_point=2))
    seeds = _item(items, 2, 2)
    assert seeds.status == "not met"
    assert re.search(r"\b2\b", seeds.evidence)
    assert _item(items, 2, 3).status == "met"  # two seeds still give a spread


def test_without_matched_random_the_sub_item_and_its_parent_are_open():
    items = checklist(run_with(matched=["matched_mag"]))
    random_parent, global_random, matched_random = _by_group(items)["Compared against"][:3]
    assert global_random.status == "met"
    assert matched_random.status == "not met" and "matched_random" in matched_random.evidence
    assert random_parent.status == "not met"
    assert "per-layer proportions" in random_parent.evidence
    assert [item.status for item in _by_group(items)["Compared against"][3:6]] == ["met"] * 3


def test_the_method_is_not_its_own_baseline():
    run = run_with(strategy="layer_mag", baselines=["random", "layer_mag", "global_grad"])
    magnitude_parent, plain_magnitude = _by_group(checklist(run))["Compared against"][3:5]
    assert plain_magnitude.status == "not met"
    assert magnitude_parent.status == "not met"


def test_without_other_techniques_that_comparison_is_open():
    run = run_with(baselines=["random", "global_mag", "layer_mag"])
    other, how = _by_group(checklist(run))["Compared against"][6:]
    assert (other.status, how.status) == ("author", "not met")
    assert "only random and magnitude baselines" in other.evidence
    full_how = _by_group(checklist(FULL))["Compared against"][7]
    assert "reimplemented in prunebench" in full_how.evidence
    assert "same finetuning recipe" in full_how.evidence


def test_kinds_of_baseline_come_from_the_declared_properties():
    # Iterative magnitude and channel random are other techniques, not the paper's plain
    # baselines; a researcher's own name declared as plain global magnitude is one.
    run = run_with(
        baselines=["imp", "random_channel", "mylab.mag:strategy"],
        properties=PROPERTIES | {"mylab.mag:strategy": parts("magnitude")},
    )
    compared = _by_group(checklist(run))["Compared against"]
    random_parent, global_random, _, magnitude_parent, plain_magnitude = compared[:5]
    assert global_random.status == "not met" and random_parent.status == "not met"
    assert plain_magnitude.status == "met" and "`mylab.mag:strategy`" in plain_magnitude.evidence
    assert magnitude_parent.status == "met"
    assert "`imp`, `random_channel`" in compared[6].evidence
    # A matched control is recognised by its score, whatever its name.
    renamed = run_with(
        matched=["shuffle_a", "shuffle_b"],
        properties=PROPERTIES | {"shuffle_a": parts("random", "matched"),
                                 "shuffle_b": parts("magnitude", "matched")},
    )  # fmt: skip
    matched_random, matched_magnitude = [_by_group(checklist(renamed))["Compared against"][i]
                                         for i in (2, 5)]  # fmt: skip
    assert matched_random.status == "met" and "`shuffle_a`" in matched_random.evidence
    assert matched_magnitude.status == "met" and "`shuffle_b`" in matched_magnitude.evidence


def test_a_mild_curve_leaves_the_extreme_compression_item_open_with_the_numbers():
    mild = dict(FULL.evaluated_top1) | {32: 0.8932}
    extreme = _item(checklist(dataclasses.replace(FULL, evaluated_top1=mild)), 2, 0)
    assert extreme.status == "not met"
    assert "32×" in extreme.evidence and "0.8 points below" in extreme.evidence
    assert "larger compressions" in extreme.evidence


def test_too_few_operating_points_leave_the_range_item_open():
    run = dataclasses.replace(
        FULL, targets=[2, 8, 32], evaluated_top1={2: 0.897, 8: 0.890, 32: 0.800}
    )
    extreme = _item(checklist(run), 2, 0)
    assert extreme.status == "not met" and "3 targets" in extreme.evidence


def test_author_items_stay_with_the_author_whatever_the_evidence():
    for run in (FULL, BARE):
        method = _by_group(checklist(run))["The method"]
        assert [item.status for item in method] == ["author"] * AUTHOR_ONLY
        assert all(item.evidence for item in method)
    assert "magnitude pruning (`global_mag`, `layer_mag`)" in _item(checklist(FULL), 0, 0).evidence
    assert "no magnitude baseline" in _item(checklist(BARE), 0, 0).evidence
    assert _item(checklist(BARE), 1, 1).status == "author"  # no citation: the author's to give
    assert _item(checklist(FULL), 1, 1).status == "met"


def test_a_bare_run_ticks_nothing():
    statuses = {item.status for item in checklist(BARE)}
    assert statuses == {"author", "not met"}


def test_no_item_copies_eight_words_of_the_paper():
    if not PAPER.exists():
        pytest.skip(f"the paper's text is not at {PAPER}")
    paper = _normal(PAPER.read_text(encoding="utf-8"))
    for run in (FULL, BARE):
        for item in checklist(run):
            for part in (item.text, item.evidence):
                words = _words(part)
                for start in range(len(words) - 7):
                    window = " " + " ".join(words[start : start + 8]) + " "
                    assert window not in paper, f"copied from the paper: {window.strip()!r}"


def test_render_checklist_is_markdown_with_legend_and_group_headings():
    lines = render_checklist(checklist(FULL))
    assert lines[0] == LEGEND and "[x]" in LEGEND and "[?]" in LEGEND and "[ ]" in LEGEND
    assert [line for line in lines if line.startswith("**")] == [f"**{g}**" for g in GROUPS]
    items = [line for line in lines if line.lstrip().startswith("- [")]
    assert len(items) == 21
    assert sum(line.startswith("  - [") for line in items) == 5
    assert sum(line.startswith("- [?] ") and "(for the author)" in line for line in items) == 5
    assert "- [ ] Several runs per point" in "\n".join(lines)
    opened = render_checklist(checklist(dataclasses.replace(FULL, seeds_per_point=1)))
    assert "- [ ] Several runs per point" in "\n".join(opened)


def test_a_checklist_item_refuses_an_unknown_status():
    with pytest.raises(ValueError, match="status"):
        ChecklistItem("The method", "x", "ticked", "y")


def test_several_initial_models_meet_the_item_on_separate_initialisations():
    from prunebench.reporting.checklist import InitialModelEvidence

    one = _item(checklist(FULL), 2, 2)
    assert one.status == "not met" and "one pretrained model" in one.evidence
    several = InitialModelEvidence(
        initial_models=[0, 1, 2], references=["random", "global_mag"], holding=["random"]
    )
    item = _item(checklist(dataclasses.replace(FULL, initial_models=several)), 2, 2)
    assert item.status == "met"
    assert "3 seeds from each of 3 initial models (0, 1, 2)" in item.evidence
    assert "the verdict against 1 of 2 baselines holds on every initial model" in item.evidence
    assert "(not: global_mag)" in item.evidence
    # Too few seeds stay too few, however many initial models.
    few = dataclasses.replace(FULL, initial_models=several, seeds_per_point=2)
    assert _item(checklist(few), 2, 2).status == "not met"
