"""The NLU resources built from catalog/: lookup tables, jieba dictionary, spaCy entity ruler."""

from __future__ import annotations

import pytest
import yaml

from scripts import build_resources
from scripts.paths import ROOT


@pytest.fixture(scope="module")
def names():
    return build_resources.catalogue_names(ROOT)


def test_committed_lookup_tables_match_the_catalogue(names):
    committed = (ROOT / "nlu_data" / "lookups" / "catalog.yml").read_text(encoding="utf-8")
    assert committed == build_resources.lookups_yaml(names), (
        "nlu_data/lookups/catalog.yml is stale: run python -m scripts.build_resources"
    )


def test_lookups_cover_every_plan_and_destination(names):
    plans = yaml.safe_load((ROOT / "catalog" / "plans.yml").read_text(encoding="utf-8"))["plans"]
    surfaces = {surface for surface, _ in names["plan_name"]}
    assert {plan["name"] for plan in plans} <= surfaces
    assert {value for _, value in names["plan_name"]} == {plan["code"] for plan in plans}
    assert len({value for _, value in names["destination"]}) >= 100


def test_user_dictionary_keeps_names_whole(names):
    text = build_resources.jieba_userdict(names, build_resources.telecom_terms(ROOT))
    words = {line.split()[0] for line in text.splitlines()}
    assert {"5G畅享129元套餐", "新马泰", "转人工", "流量包"} <= words
    assert all(len(line.split()) == 3 for line in text.splitlines())


@pytest.mark.slow
def test_spacy_pipeline_labels_catalogue_names(tmp_path, names):
    import spacy

    build_resources.build(ROOT, tmp_path)
    nlp = spacy.load(tmp_path / "spacy_zh_telecom")
    doc = nlp("我下周去新马泰玩，顺便把套餐换成5g畅享129元套餐")
    found = {(ent.text, ent.label_, ent.ent_id_) for ent in doc.ents}
    assert ("新马泰", "destination", "新马泰") in found
    assert ("5g畅享129元套餐", "plan_name", "5G_PLUS_129") in found
