"""The actor tagger as a spaCy component: the registered factory marks the same spans as the tagger built by hand."""

from __future__ import annotations

from pathlib import Path

import spacy

from pipeline.core.config import EntitiesConfig, ParseConfig, load_config
from pipeline.entities.gazetteer import load_gazetteer
from pipeline.entities.tagger import SPAN_KEY, ActorTagger
from tests.conftest import CONFIGS

TEXT = (
    "The Belarusian president met President of Russia Vladimir Putin in Minsk; the EU welcomed Security Council"
    " resolution 2202 and the Trilateral Contact Group (TCG) met again."
)


def test_the_registered_factory_marks_the_same_spans_as_the_tagger_built_by_hand(nlp):
    config = load_config(EntitiesConfig, CONFIGS)
    by_hand = ActorTagger(nlp, load_gazetteer(Path(config.gazetteer)), config)(nlp(TEXT))
    piped = spacy.load(load_config(ParseConfig, CONFIGS).model)
    piped.add_pipe("actor_tagger", config={"configs_dir": str(CONFIGS)})
    assert "actor_tagger" in piped.pipe_names
    doc = piped(TEXT)
    spans = [(s.start, s.end, s.label_, s.kb_id_, s.id_) for s in doc.spans[SPAN_KEY]]
    assert spans == [(s.start, s.end, s.label_, s.kb_id_, s.id_) for s in by_hand.spans[SPAN_KEY]]
    found = {(kb, kind) for *_, kb, kind in spans}
    assert {("putin", "role"), ("eu", "acronym"), ("x-resolution-2202", "pattern"), ("tcg", "acronym")} <= found
