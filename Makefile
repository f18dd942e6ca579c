# embedlab: `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EMBEDLAB := $(VENV)/bin/embedlab
ARGS ?=
EXPERIMENT ?= sst2_sources
RESULTS ?= $(or $(EMBEDLAB_RESULTS_DIR),results)
JOBS ?= 2
THREADS ?= 1

.DEFAULT_GOAL := help
.PHONY: help install lock run-experiment pretrain sweep report results-table smoke test test-fast lint format docs bench bench-load bench-pretrain

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

install: $(PY) ## Create .venv and install embedlab with its dev extras, at the versions in requirements.lock
	$(PY) -m pip install -c requirements.lock -e '.[dev]'

lock: ## Rewrite requirements.lock from the current .venv (after changing dependencies; commit it with the change)
	{ sed -n '1,3p' requirements.lock; $(PY) -m pip freeze --exclude-editable | grep -v '^embedlab'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

run-experiment: ## Default: SST-2 CNN scratch vs GloVe frozen vs fine-tuned; or one run with ARGS="task=... embedding=..."
ifeq ($(strip $(ARGS)),)
	$(EMBEDLAB) run experiment=$(EXPERIMENT)
else
	$(EMBEDLAB) run $(ARGS)
endif

pretrain: ## Train word2vec, GloVe and fastText on the default corpus (imdb_unsup), cached; ARGS adds overrides
	$(EMBEDLAB) pretrain -m pretrain=word2vec,fasttext,glove $(ARGS)

bench: ## All benchmarks side by side (results/bench/bench.json, bench.md, scaling.png; ~40 min on 2 cores); ARGS="--only load"
	$(PY) benchmarks/bench.py $(ARGS)

bench-load: ## Vector loading: gensim whole file vs embedlab restricted vs cached (GloVe 6B 100d from the data dir)
	$(PY) benchmarks/load_vectors.py --vectors "$$($(PY) -c 'from embedlab.core.config import compose; from embedlab.vectors.embeddings import glove6b_source; print(glove6b_source(compose().paths.data_dir, 100).path)')"

bench-pretrain: ## Pretraining words/s: embedlab vs gensim / fasttext called directly on the same corpus
	$(PY) benchmarks/pretrain_overhead.py --epochs 1

sweep: ## A study's grid in parallel here (EXPERIMENT=seed_question|learning_curve|kim2014|<preset>), JOBS at once, THREADS each
	$(EMBEDLAB) sweep experiment=$(EXPERIMENT) hydra.launcher.n_jobs=$(JOBS) trainer.threads=$(THREADS) $(ARGS)

report: ## Results table + report.md/html of results/<EXPERIMENT> (or of any folder of runs: RUNS=<folder>)
	$(EMBEDLAB) report $(or $(RUNS),$(RESULTS)/$(EXPERIMENT)) --cache-dir "$${EMBEDLAB_CACHE_DIR:-.cache}"

results-table: ## One table of the runs below RUNS=<folder> (runs.parquet/csv, cells.csv over seeds, paired.csv)
	$(EMBEDLAB) results $(RUNS)

smoke: ## The whole pipeline in under a minute on data shipped with gensim
	$(EMBEDLAB) run experiment=smoke

test: ## All tests, including the slow ones that train on real data (needs EMBEDLAB_DATA_DIR)
	$(PY) -m pytest -m "slow or not slow"

test-fast: ## Fast tests only
	$(PY) -m pytest -m "not slow"

lint: ## ruff lint and format check
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

docs: ## The documentation site into site/ (MkDocs --strict: a broken link, anchor or image fails); index = README
	sed -e 's|(docs/|(|g' README.md > docs/index.md
	$(VENV)/bin/mkdocs build --strict

format: ## ruff format and autofix
	$(VENV)/bin/ruff format src tests benchmarks tools
	$(VENV)/bin/ruff check --fix src tests benchmarks tools
