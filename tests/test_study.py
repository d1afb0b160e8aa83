"""The study (study/dvc.yaml): the default run repeated from several initial models.

Its stages are the default pipeline's scripts with study paths; these tests check that the study
resolves to exactly the default run's configs on its initial models, that its stages write where
the default layout puts each role under the study's roots, and that the committed study's cells
of initial model 0 are the default run's, file for file.
"""

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from prunebench.foundations.errors import PrunebenchError
from prunebench.pipeline import layout
from prunebench.pipeline.layout import Role, finetuned_folder, masks_folder, method_folder
from prunebench.pipeline.params import parse_params, study_params
from prunebench.pipeline.resolve import ResolvedStudy, resolve, resolve_study

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "params.yaml").read_text())
STUDY = ROOT / "study"
STUDY_STAGES = yaml.safe_load((STUDY / "dvc.yaml").read_text())["stages"]
# The study's roots (study/dvc.yaml), under which the default layout's names apply.
MODELS = Path("study/models")
RESULTS = Path("results/study")
RESOLVED = Path("study/resolved")


def test_the_study_resolves_to_the_default_run_on_its_initial_models():
    study = yaml.safe_load((STUDY / "params.yaml").read_text())
    assert len(study["initial_models"]) >= 3
    resolved = resolve_study(study_params(DEFAULT, study))
    default = resolve(parse_params(DEFAULT))
    for name, config in resolved.items():
        expected = getattr(default, name)
        if hasattr(expected, "initial_models"):
            expected = replace(expected, initial_models=study["initial_models"])
        assert config == expected, name


@pytest.mark.parametrize(
    ("study", "message"),
    [
        ({"initial_models": [0, 1], "seeds": [0]}, "must hold exactly the keys initial_models"),
        ([0, 1, 2], "must hold exactly the keys initial_models"),
        ({"initial_models": [0]}, "study initial_models must list at least two, got [0]"),
        ({"initial_models": [1, 2]}, "including 0"),
        ({"initial_models": [0, 7]}, "initial model 7 of benchmark"),
    ],
)
def test_a_bad_study_is_refused_in_one_line(study, message):
    with pytest.raises(PrunebenchError) as refusal:
        study_params(DEFAULT, study)
    assert message in str(refusal.value)
    assert "\n" not in str(refusal.value)


def written(stage: str) -> set[str]:
    body = STUDY_STAGES[stage].get("do", STUDY_STAGES[stage])
    return {next(iter(out)) if isinstance(out, dict) else out for out in body["outs"]}


def test_the_study_stages_write_where_the_layout_puts_each_role_under_the_study_roots():
    assert written("resolve") == {
        str(layout.resolved_file(name, RESOLVED)) for name in ResolvedStudy.__dataclass_fields__
    }
    assert written("fetch_pretrained") == {
        str(MODELS / layout.PRETRAINED.name),
        str(RESULTS / layout.CONTROL_METRICS.name),
    }
    for suffix, role, name in (
        ("", Role.EVALUATED, "${strategy}"),
        ("_baseline", Role.BASELINE, "${item}"),
        ("_matched", Role.MATCHED, "${item}"),
    ):
        folder = method_folder(role, name)
        assert written(f"prune{suffix}") == {str(masks_folder(folder, MODELS))}
        assert written(f"finetune{suffix}") == {str(finetuned_folder(folder, MODELS))}
        assert written(f"evaluate{suffix}") == {str(RESULTS / layout.CELLS.name / folder)}
    # No latency stage: the timed files of the default run are not the study's outputs.
    assert "latency" not in STUDY_STAGES
    assert {Path(path).name for path in written("aggregate")} == {
        layout.CELLS_TABLE,
        layout.AGGREGATE_TABLE,
        layout.REPORT_FILE,
        layout.FIGURES,
        layout.PLOTS,
        layout.DETAILS_FILE,
        layout.SUMMARY_FILE,
        layout.SPEED_FILE,  # empty: nothing timed
    }


def test_every_study_stage_reads_its_config_and_models_from_the_study():
    for name, stage in STUDY_STAGES.items():
        body = stage.get("do", stage)
        assert body["wdir"] == ".."
        deps = [str(dep) for dep in body["deps"]]
        assert not any(dep.startswith(("resolved/", "models/", "results/cells")) for dep in deps), (
            name
        )
        if name != "resolve":
            assert "--config study/resolved/" in body["cmd"], name


def test_the_committed_study_repeats_the_default_run_on_initial_model_0_row_for_row():
    """The study's table (results/study/cells.csv, committed) holds the default run's rows on
    initial model 0, value for value, and as many rows again from each other initial model: the
    study differs from the default run only by the initial models it adds."""
    import pandas as pd

    default = pd.read_csv(ROOT / layout.RESULTS / layout.CELLS_TABLE)
    study = pd.read_csv(ROOT / RESULTS / layout.CELLS_TABLE)
    initial_models = yaml.safe_load((STUDY / "params.yaml").read_text())["initial_models"]
    assert sorted(study["initial_model"].unique()) == initial_models
    key = ["strategy", "target_compression", "seed"]
    first = study[study["initial_model"] == 0].drop(columns="initial_model")
    first = first.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        first[default.columns], default.sort_values(key).reset_index(drop=True)
    )
    for initial_model in initial_models[1:]:
        other = study[study["initial_model"] == initial_model]
        assert sorted(map(tuple, other[key].to_numpy())) == sorted(
            map(tuple, default[key].to_numpy())
        )
        # Another pretrained model: other top-1s than initial model 0's.
        assert not other.sort_values(key)["top1"].to_numpy().tolist() == first["top1"].tolist()
