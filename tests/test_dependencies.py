"""One source of truth for invalidation: each stage's deps cover the code it imports.

`prunebench.pipeline.sources` computes a stage's import closure; the same closure is every cell's
code fingerprint. These tests fail when dvc.yaml does not declare a file of a stage's closure, so an
import added to a stage without its dep cannot reintroduce stale results.
"""

from pathlib import Path

import pytest
import yaml

from prunebench.pipeline.sources import code_digest, import_closure, stage_closure

ROOT = Path(__file__).resolve().parent.parent


def pipeline_stages(dvc_yaml: dict) -> dict[str, dict]:
    """``{name: {"cmd": ..., "deps": [...]}}``; a foreach stage counts once, by its template."""
    return {name: stage.get("do", stage) for name, stage in dvc_yaml["stages"].items()}


def stage_script(command: str) -> Path:
    words = command.split()
    return ROOT / words[words.index("python") + 1]


def uncovered(stage: dict) -> list[str]:
    """Files of the stage's import closure that none of its deps (files or folders) cover."""
    deps = [(ROOT / dep).resolve() for dep in stage.get("deps", []) if "${" not in dep]
    missing = []
    for path in stage_closure(stage_script(stage["cmd"])):
        if not any(path == dep or path.is_relative_to(dep) for dep in deps):
            missing.append(str(path.relative_to(ROOT)))
    return missing


DVC_YAML = yaml.safe_load((ROOT / "dvc.yaml").read_text())
STAGES = pipeline_stages(DVC_YAML)
# The leaderboard's and the study's stages run from the repository root too (``wdir: ..``).
LEADERBOARD = "leaderboard/dvc.yaml"
STUDY = "study/dvc.yaml"
for other in (LEADERBOARD, STUDY):
    STAGES |= {
        f"{other}:{name}": stage
        for name, stage in pipeline_stages(yaml.safe_load((ROOT / other).read_text())).items()
    }
REPORTING_STAGES = ("aggregate", f"{LEADERBOARD}:leaderboard", f"{STUDY}:aggregate")


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_stage_declares_the_code_it_imports(name):
    assert uncovered(STAGES[name]) == [], f"add these to the deps of {name} in dvc.yaml"


def test_the_check_fails_when_an_import_is_not_declared():
    finetune = dict(STAGES["finetune"])
    finetune["deps"] = [
        dep for dep in finetune["deps"] if dep != "src/prunebench/stages/finetune.py"
    ]
    assert uncovered(finetune) == ["src/prunebench/stages/finetune.py"]


def test_stages_do_not_depend_on_code_they_do_not_run():
    """Precision: reporting only invalidates the report and the leaderboard page; strategies
    never invalidate training."""
    for name, stage in STAGES.items():
        closure = {str(p.relative_to(ROOT)) for p in stage_closure(stage_script(stage["cmd"]))}
        if name not in REPORTING_STAGES:
            assert not any("reporting" in path for path in closure), name
        if name.removeprefix(f"{LEADERBOARD}:").removeprefix(f"{STUDY}:") in (
            "finetune",
            "finetune_baseline",
            "evaluate",
            "evaluate_baseline",
        ):
            assert not any(
                "strategies" in path or "pipeline/params.py" in path for path in closure
            ), name
    # Aggregate reads records: no model, mask, training or measuring code (nor torch) is in it.
    aggregate = {
        str(p.relative_to(ROOT)) for p in stage_closure(stage_script(STAGES["aggregate"]["cmd"]))
    }
    for room in (
        "models/",
        "sparsity/",
        "training/loop.py",
        "measurement/cost.py",
        "measurement/measure.py",
    ):
        assert not any(room in path for path in aggregate), room


def test_closure_follows_imports_in_functions_relative_imports_and_packages(tmp_path):
    package = tmp_path / "src" / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .leaf import value\n")
    (package / "sub" / "leaf.py").write_text("value = 1\n")
    (package / "lazy.py").write_text("def f():\n    from pkg import sub\n    return sub\n")
    (package / "unused.py").write_text("")
    entry = tmp_path / "stage.py"
    entry.write_text("import os\nimport torch\nfrom pkg.lazy import f\n")
    closure = import_closure([entry], [tmp_path / "src"])
    names = sorted(str(p.relative_to(tmp_path)) for p in closure)
    assert names == [
        "src/pkg/__init__.py",
        "src/pkg/lazy.py",
        "src/pkg/sub/__init__.py",
        "src/pkg/sub/leaf.py",
        "stage.py",
    ]


def test_code_digest_changes_with_the_code_a_stage_runs_and_only_that(tmp_path):
    script = ROOT / "stages" / "finetune.py"
    before = code_digest(script)
    assert code_digest(script) == before
    outside = tmp_path / "strategy.py"
    outside.write_text("x = 1\n")
    with_extra = code_digest(script, extra=[outside])
    assert with_extra != before
    outside.write_text("x = 2\n")
    assert code_digest(script, extra=[outside]) != with_extra
