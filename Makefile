# The README's two commands. Each installs the locked environment first (uv.lock), so both work
# on a fresh machine.
.PHONY: run test env lint leaderboard study

UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")

env:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode

# The default pipeline on the embedded Fashion-MNIST sample (dvc repro).
run: env
	$(UV) run --frozen dvc repro

# The test suite, one file per worker process (pytest-xdist): the pipeline tests spend much of
# their time starting processes, which a second core overlaps. The official Fashion-MNIST files (Debian's dataset-fashion-mnist) are only
# needed to check the embedded sample's provenance; they are installed when possible.
test: env
	@[ -d /usr/share/datasets/fashion-mnist ] || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1))) || true
	$(UV) run --frozen lint-imports
	$(UV) run --frozen pytest -q -n auto --dist loadfile

lint: env
	$(UV) run --frozen ruff check . && $(UV) run --frozen ruff format --check . && $(UV) run --frozen lint-imports

# The leaderboard: every registered method on the default benchmark, ranked
# (results/leaderboard.md; the pipeline is leaderboard/dvc.yaml, its grid leaderboard/params.yaml).
leaderboard: env
	$(UV) run --frozen dvc repro leaderboard/dvc.yaml

# The study: the default run from three initial models (results/study/report.md; the pipeline is
# study/dvc.yaml, its initial models study/params.yaml).
study: env
	$(UV) run --frozen dvc repro study/dvc.yaml
