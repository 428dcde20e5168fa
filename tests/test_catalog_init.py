from __future__ import annotations

import json

from sqlalchemy import update

from fmcat.db import open_catalog
from fmcat.models import Model

from .conftest import export_text

# Every model the catalog foundation issue names, with the category its license gives.
EXPECTED = {
    "GPT-3": "commercial", "GPT-4": "commercial", "DALL-E": "commercial", "Command": "commercial",
    "Claude 2": "commercial", "PaLM 2": "commercial", "Imagen": "commercial", "Chirp": "commercial",
    "BERT": "open-source", "RoBERTa": "open-source", "T5": "open-source", "Falcon-7B": "open-source",
    "Falcon-40B": "open-source", "Dolly v2": "open-source", "Bark": "open-source",
    "GLIDE": "unknown",  # no confirmed license for its weights: never guessed
    "GPT-2": "open-source", "Mistral 7B": "open-source",
    "Llama 2": "custom", "Stable Diffusion v1.5": "custom", "Llama 3": "custom", "Llama 3.1": "custom",
    "Stable Diffusion 2.1": "custom", "Stable Diffusion XL 1.0": "custom", "BLOOM": "custom",
    "Falcon-180B": "custom", "Gemma": "custom",
}


def test_init_then_list_shows_every_named_model_with_its_category(fmcat):
    fmcat("init")
    rows = fmcat.json("list")
    by_display = {r["display_name"]: r for r in rows}
    for display, category in EXPECTED.items():
        assert display in by_display, f"{display} missing from the curated catalog"
        assert by_display[display]["category"] == category, display
    assert by_display["Llama 2"]["license"] == "llama2"
    assert by_display["Dolly v2"]["license"] == "mit"
    assert by_display["GPT-4"]["access"] == "api" and by_display["GPT-4"]["repo_id"] is None
    assert by_display["Gemma"]["access"] == "gated"


def test_every_curated_fact_has_a_source(fmcat):
    fmcat("init")
    for row in fmcat.json("list"):
        detail = fmcat.json("show", row["name"])
        assert detail["sources"], f"{row['name']} has no sources"
        if detail["license"] is None:
            assert any("license" in u for u in detail["unconfirmed"]), row["name"]


def test_init_twice_changes_nothing(fmcat):
    first = json.loads(fmcat("init", "--json").stdout)
    assert first["added"] == len(EXPECTED)
    before = export_text(fmcat)
    second = json.loads(fmcat("init", "--json").stdout)
    assert second["added"] == 0 and second["updated"] == 0
    assert second["unchanged"] == first["added"]
    assert export_text(fmcat) == before


def test_init_never_touches_user_entries(fmcat, tmp_path):
    fmcat("init")
    mine = tmp_path / "mine.jsonl"
    mine.write_text(
        json.dumps({"name": "openai-community/gpt2", "display_name": "Our GPT-2", "license": "apache-2.0",
                    "provider": "us"}) + "\n"
        + json.dumps({"name": "acme/private", "license": "mit"}) + "\n"
    )
    fmcat("import", str(mine))
    result = json.loads(fmcat("init", "--json").stdout)
    assert result["kept"] == 1 and result["updated"] == 0
    gpt2 = fmcat.json("show", "openai-community/gpt2")
    assert gpt2["display_name"] == "Our GPT-2" and gpt2["license"] == "apache-2.0"
    assert gpt2["origin"] == "import"
    assert fmcat.json("show", "acme/private")["license"] == "mit"


def test_init_restores_a_curated_entry_that_drifted(fmcat, db_path):
    fmcat("init")
    catalog = open_catalog(str(db_path))
    with catalog.session(write=True) as s, s.begin():
        s.execute(update(Model).where(Model.name == "google-t5/t5-small").values(task="wrong"))
    catalog.dispose()
    result = json.loads(fmcat("init", "--json").stdout)
    assert result["updated"] == 1
    assert fmcat.json("show", "T5")["task"] == "translation"


def test_list_filters(initialised):
    custom = initialised.json("list", "--category", "custom")
    assert custom and all(r["category"] == "custom" for r in custom)
    assert {r["display_name"] for r in custom} >= {"Llama 2", "Gemma", "BLOOM"}
    apache = initialised.json("list", "--license", "apache-2.0")
    assert {r["display_name"] for r in apache} == {"BERT", "T5", "Falcon-7B", "Falcon-40B", "Mistral 7B"}


def test_list_table_is_human_readable(initialised):
    out = initialised("list").stdout
    assert out.splitlines()[0].split()[:3] == ["NAME", "PROVIDER", "CATEGORY"]
    assert "meta-llama/Llama-2-7b-hf" in out
