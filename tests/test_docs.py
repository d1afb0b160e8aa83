"""The docs follow the code: the module map names every module, and every cited document exists.

``docs/design.md``'s module map has one row per module of ``src/prunebench/`` (``pkg/`` stands for
a package's ``__init__.py``), grouped under one ``###`` heading per layer of the import-linter
contract in ``pyproject.toml``, from the bottom up. No source cites a document that is not in the
repository: not the product's "SPEC", and no README or ``docs/`` section that does not exist.
"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "prunebench"
DESIGN = ROOT / "docs" / "design.md"
MAP_TITLE = "Module map"
# Where a citation of a document may sit: the code, its scripts and the pipeline's own files.
CITING = [ROOT / "src", ROOT / "stages", ROOT / "perf", ROOT / "scripts", ROOT / "tests"]
CITING_FILES = ["dvc.yaml", "params.yaml", "pyproject.toml", "Makefile"]
TEXT_SUFFIXES = {".py", ".md", ".json", ".toml", ".yaml", ".yml", ".txt"}
# ``(README, "Measured speed")`` or ``(``docs/design.md``, "Vocabulary")``: a document's section.
SECTION_CITATION = re.compile(r'(README|docs/[\w-]+\.md)`{0,2},\s*"([^"]+)"')
DOCUMENT_CITATION = re.compile(r"\bdocs/[\w-]+\.md\b")


def headings(markdown: str) -> list[tuple[int, str]]:
    """``(level, title)`` of every Markdown heading outside fenced code blocks."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"(#+) (.+)", line)):
            found.append((len(match.group(1)), match.group(2).strip()))
    return found


def section(markdown: str, title: str) -> str:
    """The text of the ``## title`` section, up to the next heading of level two or above."""
    start = markdown.index(f"\n## {title}\n")
    end = re.search(r"\n#{1,2} ", markdown[start + 1 :])
    return markdown[start : start + 1 + end.start()] if end else markdown[start:]


def module_map() -> list[tuple[str, str]]:
    """``(layer heading, module)`` for every row of the map ("" before the first heading)."""
    rows, layer = [], ""
    for line in section(DESIGN.read_text(), MAP_TITLE).splitlines():
        if line.startswith("### "):
            layer = line.removeprefix("### ").strip()
        elif match := re.match(r"\| `([^`]+)` \|", line):
            rows.append((layer, match.group(1)))
    return rows


def package_modules() -> set[str]:
    """Every module of the package as the map names it: ``pkg/`` for a package's ``__init__``."""
    modules = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.name != "__init__.py":
            modules.add(relative.as_posix())
        elif relative.parent != Path("."):
            modules.add(f"{relative.parent.as_posix()}/")
        else:
            modules.add("__init__.py")
    return modules


def contract_layers() -> list[list[str]]:
    """The layers contract's packages, bottom layer first (``a | b`` is one layer of two)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return [
        [name.strip().removeprefix("prunebench.") for name in layer.split("|")]
        for layer in reversed(contract["layers"])
    ]


def citing_files() -> list[Path]:
    files = [ROOT / name for name in CITING_FILES]
    for folder in CITING:
        files += [p for p in folder.rglob("*") if p.suffix in TEXT_SUFFIXES and p.is_file()]
    return [path for path in files if "__pycache__" not in path.parts]


def test_every_package_module_is_in_the_design_module_map():
    named = {module for _, module in module_map()}
    missing = sorted(package_modules() - named)
    assert not missing, f"add a row to {DESIGN.name}'s module map for: {', '.join(missing)}"


def test_every_module_the_map_names_exists():
    named = {module for _, module in module_map()}
    gone = sorted(named - package_modules())
    assert not gone, f"{DESIGN.name}'s module map names modules that do not exist: {gone}"


def test_the_module_map_has_one_row_per_module():
    named = [module for _, module in module_map()]
    assert sorted(named) == sorted(set(named))


def test_the_module_map_is_grouped_by_the_import_contract_layers_from_the_bottom():
    rows = module_map()
    layers = list(dict.fromkeys(layer for layer, _ in rows if layer))
    position = 0
    for group in contract_layers():
        assert sorted(layers[position : position + len(group)]) == sorted(group), layers
        position += len(group)
    assert position == len(layers)
    for layer, module in rows:
        if layer:  # the package's own __init__.py comes before the first layer
            assert module.startswith(f"{layer}/"), f"{module} is filed under {layer}"


def test_no_source_cites_the_product_spec_which_is_not_in_the_repository():
    citing = [ROOT / "pyproject.toml", ROOT / "Makefile"]
    citing += [p for p in (ROOT / "src").rglob("*") if p.suffix in TEXT_SUFFIXES]
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in citing
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\bSPEC\b", line)
    ]
    assert not offenders, "cite the paper, ShrinkBench or docs/ instead: " + ", ".join(offenders)


def test_every_document_a_source_cites_exists():
    for path in citing_files():
        for cited in DOCUMENT_CITATION.findall(path.read_text()):
            assert (ROOT / cited).is_file(), f"{path.relative_to(ROOT)} cites {cited}"


def test_every_document_section_a_source_cites_is_a_heading_there():
    for path in citing_files():
        for document, title in SECTION_CITATION.findall(path.read_text()):
            target = ROOT / ("README.md" if document == "README" else document)
            titles = [heading for _, heading in headings(target.read_text())]
            assert any(heading.startswith(title) for heading in titles), (
                f'{path.relative_to(ROOT)} cites {document}, "{title}", which has no such section'
            )


def test_the_readme_shows_the_example_strategy_as_it_is():
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "strategies" / "mylab" / "fan_in.py").read_text()
    assert f"```python\n{example}```" in readme


def test_the_readme_two_commands_are_the_makefile_targets():
    makefile = (ROOT / "Makefile").read_text()
    readme = section((ROOT / "README.md").read_text(), "The two commands")
    for target in ("run", "test"):
        assert f"    make {target} " in readme
        assert re.search(rf"^{target}:", makefile, re.MULTILINE)
