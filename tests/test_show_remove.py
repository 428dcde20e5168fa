from __future__ import annotations

from .conftest import assert_one_line_error, export_text


def test_show_llama2_by_display_name(initialised):
    out = initialised("show", "Llama 2").stdout
    for needle in ("provider:", "Meta", "license:", "llama2", "category:", "custom",
                   "access:", "gated", "weights:", "meta-llama/Llama-2-7b-hf", "sources:"):
        assert needle in out, needle


def test_show_by_repo_id_and_case_insensitive_name(initialised):
    a = initialised.json("show", "meta-llama/Llama-2-7b-hf")
    b = initialised.json("show", "llama 2")
    assert a == b
    assert a["provider"] == "Meta" and a["category"] == "custom" and a["access"] == "gated"
    assert a["source"] == "hub" and a["repo_id"] == "meta-llama/Llama-2-7b-hf"
    assert a["license_evidence"][0]["source"] == "curated"
    assert "license" in a["sources"]


def test_show_api_model_has_no_weights(initialised):
    out = initialised("show", "GPT-4").stdout
    assert "none (hosted, API only)" in out


def test_show_unknown_model_is_one_line_exit_2(initialised):
    before = export_text(initialised)
    result = initialised("show", "no-such-model", expect=None)
    assert_one_line_error(result, "no-such-model", "fmcat list")
    assert export_text(initialised) == before


def test_remove_deletes_entry_and_reports_it(initialised):
    initialised("remove", "Falcon-7B")
    result = initialised("show", "tiiuae/falcon-7b", expect=None)
    assert result.exit_code == 2
    names = {r["name"] for r in initialised.json("list")}
    assert "tiiuae/falcon-7b" not in names and "tiiuae/falcon-40b" in names


def test_remove_unknown_changes_nothing(initialised):
    before = export_text(initialised)
    result = initialised("remove", "Falcon-7B", "nope", expect=None)
    assert_one_line_error(result, "nope")
    assert export_text(initialised) == before  # the first removal was rolled back too
