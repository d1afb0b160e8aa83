"""One layout: the paths dvc.yaml declares are the ones ``prunebench.pipeline.layout`` names."""

from pathlib import Path

import yaml

from prunebench.pipeline import layout
from prunebench.pipeline.layout import Role, finetuned_folder, masks_folder, method_folder

ROOT = Path(__file__).resolve().parent.parent
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
NAME = "${item}"


def outs(stage: str) -> list[str]:
    body = STAGES[stage].get("do", STAGES[stage])
    return [next(iter(out)) if isinstance(out, dict) else out for out in body.get("outs", [])]


def test_each_method_stage_writes_where_the_layout_puts_its_role():
    for role, suffix in (
        (Role.EVALUATED, ""),
        (Role.BASELINE, "_baseline"),
        (Role.MATCHED, "_matched"),
    ):
        folder = method_folder(role, NAME)
        assert outs(f"prune{suffix}") == [str(masks_folder(folder))]
        assert outs(f"finetune{suffix}") == [str(finetuned_folder(folder))]
        assert outs(f"evaluate{suffix}") == [str(layout.CELLS / folder)]


def test_the_shared_stages_write_where_the_layout_says():
    assert outs("fetch_data") == [str(layout.DATA_SPLITS)]
    assert outs("fetch_pretrained") == [str(layout.PRETRAINED), str(layout.CONTROL_METRICS)]
    assert outs("latency") == [str(layout.LATENCY)]
    names = [
        layout.CELLS_TABLE,
        layout.AGGREGATE_TABLE,
        layout.LATENCY_TABLE,
        layout.LATENCY_CELLS_TABLE,
        layout.REPORT_FILE,
        layout.FIGURES,
        layout.PLOTS,
        layout.DETAILS_FILE,
    ]
    written = {str(layout.RESULTS / name) for name in names}
    assert set(outs("aggregate")) == written
    metrics = [next(iter(entry)) for entry in STAGES["aggregate"]["metrics"]]
    assert metrics == [
        str(layout.RESULTS / name) for name in (layout.SUMMARY_FILE, layout.SPEED_FILE)
    ]
    # The control's record is an output (above), not a metric: DVC's views show the headline.
    assert "metrics" not in STAGES["fetch_pretrained"]


def test_resolve_writes_one_config_per_later_stage_where_the_layout_says():
    from prunebench.pipeline.resolve import ResolvedStages

    expected = {str(layout.resolved_file(name)) for name in ResolvedStages.__dataclass_fields__}
    assert set(outs("resolve")) == expected


def test_the_method_folders():
    assert method_folder(Role.EVALUATED, "lamp") == "strategy"
    assert method_folder(Role.BASELINE, "random") == "baselines/random"
    assert method_folder(Role.MATCHED, "matched_mag") == "matched/matched_mag"


def test_the_leaderboard_stages_write_where_the_layout_says():
    from prunebench.pipeline.resolve import ResolvedLeaderboard

    stages = yaml.safe_load((ROOT / layout.LEADERBOARD / "dvc.yaml").read_text())["stages"]

    def written(stage: str) -> set[str]:
        body = stages[stage].get("do", stages[stage])
        return {next(iter(out)) if isinstance(out, dict) else out for out in body["outs"]}

    resolved = {
        str(layout.resolved_file(name, layout.LEADERBOARD_RESOLVED))
        for name in ResolvedLeaderboard.__dataclass_fields__
    }
    assert written("resolve") == resolved
    folder = method_folder(Role.BASELINE, NAME)
    assert written("prune") == {str(masks_folder(folder, layout.LEADERBOARD_MODELS))}
    assert written("finetune") == {str(finetuned_folder(folder, layout.LEADERBOARD_MODELS))}
    assert written("evaluate") == {str(layout.LEADERBOARD_CELLS / folder)}
    assert written("latency") == {str(layout.LEADERBOARD_LATENCY)}
    assert written("leaderboard") == {
        str(layout.LEADERBOARD_PAGE),
        str(layout.LEADERBOARD_FIGURES),
    }
