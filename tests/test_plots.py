"""DVC's plots: the data they draw and the page `dvc plots show` writes, which must work offline.

The page is ``.dvc/plots/page.html`` (``.dvc/config``, ``plots.html_template``), written by
``scripts/plots_page/build.py`` with vega, vega-lite and vega-embed inlined at the versions
locked in ``scripts/plots_page/package-lock.json``.
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dvc_render.vega import VegaRenderer

from prunebench.reporting import Methods, cells_table, plot_data

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / ".dvc" / "plots" / "page.html"
LOCK = ROOT / "scripts" / "plots_page" / "package-lock.json"
# Each library and the global its browser build defines.
LIBRARIES = {"vega": ".vega={}", "vega-lite": ".vegaLite={}", "vega-embed": ".vegaEmbed="}
# A script loaded from elsewhere: <script src="https://..."> (or protocol-relative "//..."), an
# ES module import or dynamic import() of a URL, a worker's importScripts of one.
REMOTE_SCRIPT = re.compile(
    r"""<script\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|\bimport\s*(?:\(|[\w${}*\s,]+\bfrom)\s*["'](?:https?:)?//"""
    r"""|\bimportScripts\s*\(\s*["'](?:https?:)?//""",
    re.IGNORECASE,
)
# What `dvc plots show` reads in a fresh clone: the config, templates and page, the plots'
# definitions in dvc.yaml (with the params it interpolates), the committed plot data and figures.
COMMITTED = [
    ".dvc/config",
    ".dvc/plots",
    "dvc.yaml",
    "params.yaml",
    "results/plots",
    "results/figures",
]


def inlined_scripts(page: str) -> list[str]:
    """The ``<script>`` elements of the committed page: one per library."""
    return re.findall(r"<script>/\* .*? \*/\n.*?</script>", page, flags=re.DOTALL)


def cell(strategy: str, target: float, seed: int, top1: float, compression: float) -> dict:
    """One result cell with only what the accuracy plots read (top5 and loss are required)."""
    return {
        "strategy": strategy,
        "target_compression": target,
        "seed": seed,
        "top1": top1,
        "top5": 0.99,
        "loss": 0.4,
        "compression": compression,
        "effective_compression": compression,
        "speedup": compression / 2,
    }


def test_the_band_is_the_95_percent_t_interval_of_the_mean_over_seeds():
    cells = [
        cell("lamp", 2, 0, 0.80, 2.0),
        cell("lamp", 2, 1, 0.82, 2.1),
        cell("lamp", 2, 2, 0.84, 2.2),
        cell("random", 2, 0, 0.70, 2.0),
        cell("matched_mag", 2, 0, 0.50, 2.0),
        cell("matched_mag", 2, 1, 0.50, 2.0),
    ]
    methods = Methods("lamp", ["random"], ["matched_mag"])
    data = plot_data(cells_table(cells), {"top1": 0.9}, methods).set_index("method")
    # Mean 82, sample std 2; t(0.975, 2 degrees of freedom) = 4.302653, so the half-width is
    # 4.302653 * 2 / sqrt(3) = 4.968276 points.
    lamp = data.loc["lamp"]
    assert lamp["role"] == "evaluated" and lamp["n_runs"] == 3
    assert lamp["compression"] == pytest.approx(2.1) and lamp["speedup"] == pytest.approx(1.05)
    assert [lamp["top1"], lamp["top1_std"]] == pytest.approx([82.0, 2.0])
    assert [lamp["top1_ci_low"], lamp["top1_ci_high"]] == pytest.approx(
        [77.031724, 86.968276], abs=1e-6
    )
    assert data.loc["random", "role"] == "baseline"
    assert data.loc["matched_mag", "role"] == "matched control"
    # One seed has no spread to estimate; seeds that agree exactly get no interval either, as in
    # the report's comparisons (the template draws the latter as a band of zero width).
    for method in ["random", "matched_mag"]:
        assert math.isnan(data.loc[method, "top1_ci_low"]), method
        assert math.isnan(data.loc[method, "top1_ci_high"]), method
    assert list(data["control_top1"]) == pytest.approx([90.0] * 3)


def test_the_remote_script_check_finds_the_cdn_scripts_of_dvcs_own_page():
    assert len(REMOTE_SCRIPT.findall(VegaRenderer.SCRIPTS)) == 3
    assert REMOTE_SCRIPT.search('import embed from "https://esm.sh/vega-embed";')
    assert REMOTE_SCRIPT.search("await import('//cdn.example/vega.js')")
    assert not REMOTE_SCRIPT.search('<a href="https://vega.github.io/editor">Open</a>')


def test_the_committed_page_inlines_the_locked_libraries_and_loads_nothing_remote():
    page = PAGE.read_text()
    packages = json.loads(LOCK.read_text())["packages"]
    scripts = dict(zip(LIBRARIES, inlined_scripts(page), strict=True))
    for name, defines in LIBRARIES.items():
        version = packages[f"node_modules/{name}"]["version"]
        assert scripts[name].startswith(f"<script>/* {name} {version} */\n"), name
        assert defines in scripts[name], name
    assert REMOTE_SCRIPT.findall(page) == []
    # DVC fills {plot_divs}; {scripts} would bring back its CDN tags.
    assert page.count("{plot_divs}") == 1 and "{scripts}" not in page


@pytest.mark.slow  # real dvc: about 20 s here
def test_dvc_plots_show_writes_a_page_that_loads_nothing_remote(tmp_path):
    dvc = [str(Path(sys.executable).parent / "dvc")]
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    subprocess.run([*dvc, "init", "--no-scm", "-q"], cwd=tmp_path, env=env, check=True)
    for name in COMMITTED:
        source, target = ROOT / name, tmp_path / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shown = subprocess.run(
        [*dvc, "plots", "show"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    page = (tmp_path / "dvc_plots" / "index.html").read_text()
    assert REMOTE_SCRIPT.findall(page) == []
    scripts = inlined_scripts(PAGE.read_text())
    assert len(scripts) == len(LIBRARIES)
    for script in scripts:
        assert script in page, script[:40]
    assert page.count("vegaEmbed(") == 3  # the two accuracy plots and the finetuning curves
