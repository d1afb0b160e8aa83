"""Write ``.dvc/plots/page.html``: the page of `dvc plots show` and `dvc plots diff`, offline.

DVC's own page loads vega, vega-lite and vega-embed from a CDN, so with no network it is blank.
This page inlines the three libraries instead, at the exact versions locked in
``package-lock.json`` beside this script, and ``.dvc/config`` (``plots.html_template``) makes
DVC use it with no flag. It has no ``{scripts}`` placeholder, so DVC never adds its remote
script tags; DVC fills ``{plot_divs}`` (and ``{refresh_tag}``) as in its own page.

To change a version: install it exactly (this rewrites ``package.json`` and the lock), write
the page, and commit all three::

    npm install --prefix scripts/plots_page --save-exact vega-lite@5.23.0
    python scripts/plots_page/build.py

It installs the locked packages with ``npm ci`` (Node.js and the npm registry needed) into
``scripts/plots_page/node_modules`` (ignored by git) and writes the page from them.
"""

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent.parent / ".dvc" / "plots" / "page.html"
# The browser build of each library, in the order the page must load them: vega-lite needs vega,
# vega-embed needs both.
LIBRARIES = {
    "vega": "build/vega.min.js",
    "vega-lite": "build/vega-lite.min.js",
    "vega-embed": "build/vega-embed.min.js",
}
# DVC replaces these in the template wherever they occur, inlined code included.
PLACEHOLDERS = ("{scripts}", "{plot_divs}", "{refresh_tag}")
# The last line of each build names its source map, a file the page does not have.
SOURCE_MAP = "//# sourceMappingURL="

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{{refresh_tag}}
<title>prunebench: DVC plots</title>
<!-- Written by scripts/plots_page/build.py. Inlined so that the page renders with no network:
{versions}, the npm packages locked in scripts/plots_page/package-lock.json
(BSD-3-Clause, University of Washington Interactive Data Lab). -->
{scripts}
<style>
  body {{ font-family: sans-serif; margin: 16px 24px; }}
  body > div {{ margin-bottom: 32px; }}
  img {{ max-width: 100%; }}
</style>
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


def locked_versions(lock: dict) -> dict[str, str]:
    """``{library: version}`` of the three libraries, from a ``package-lock.json``."""
    packages = lock["packages"]
    return {name: packages[f"node_modules/{name}"]["version"] for name in LIBRARIES}


def script_tag(name: str, version: str, code: str) -> str:
    """``code`` inline in a ``<script>`` element, refused if the page would not hold it as is."""
    if "</script" in code.lower():
        raise SystemExit(f"{name} {version} contains '</script', which would end its element")
    found = [placeholder for placeholder in PLACEHOLDERS if placeholder in code]
    if found:
        raise SystemExit(f"{name} {version} contains DVC's placeholder {found[0]}")
    lines = code.strip().splitlines()
    if lines[-1].startswith(SOURCE_MAP):
        lines.pop()
    return f"<script>/* {name} {version} */\n" + "\n".join(lines) + "\n</script>"


def page(modules: Path, versions: dict[str, str]) -> str:
    """The page template with each library's build under ``modules`` inlined."""
    tags = []
    for name, build in LIBRARIES.items():
        installed = json.loads((modules / name / "package.json").read_text())["version"]
        if installed != versions[name]:
            raise SystemExit(f"{name} {installed} is installed, the lock says {versions[name]}")
        tags.append(script_tag(name, installed, (modules / name / build).read_text()))
    listed = ", ".join(f"{name} {version}" for name, version in versions.items())
    return TEMPLATE.format(versions=listed, scripts="\n".join(tags))


def main() -> None:
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    versions = locked_versions(json.loads((HERE / "package-lock.json").read_text()))
    PAGE.write_text(page(HERE / "node_modules", versions))
    print(f"wrote {PAGE.relative_to(HERE.parent.parent)}: {versions}", file=sys.stderr)


if __name__ == "__main__":
    main()
