"""check-license: the verdicts are what the license texts say."""

from __future__ import annotations

import json

import pytest

from .conftest import assert_one_line_error


def check(fmcat, *args, expect=None):
    result = fmcat("check-license", *args, "--json", expect=expect)
    return result.exit_code, json.loads(result.stdout)


def one(fmcat, *args):
    code, decisions = check(fmcat, *args)
    assert len(decisions) == 1
    return code, decisions[0]


def clauses(decision) -> str:
    return " | ".join(f"{r['clause']}: {r['text']}" for r in decision["reasons"])


def test_llama2_above_700m_mau_needs_permission(initialised):
    code, d = one(initialised, "Llama 2", "--commercial", "--mau", "800000000")
    assert (code, d["verdict"]) == (1, "needs-permission")
    assert "700 million monthly active users" in clauses(d)
    assert any(r["verdict"] == "needs-permission" and "§2" in r["clause"] for r in d["reasons"])
    assert set(d) >= {"model", "license", "category", "verdict", "obligations", "reasons"}
    assert d["license"] == "llama2" and d["category"] == "custom"


def test_llama2_at_1m_mau_is_conditional_with_agreement_notice_and_aup(initialised):
    code, d = one(initialised, "Llama 2", "--commercial", "--mau", "1000000", "--distribute")
    assert (code, d["verdict"]) == (0, "conditional")
    text = "\n".join(d["obligations"])
    assert "copy of the Llama 2 Community License Agreement" in text
    assert '"Llama 2 is licensed under the LLAMA 2 Community License, Copyright (c) Meta Platforms, Inc. All Rights Reserved."' in text
    assert "Acceptable Use Policy" in text
    # without distribution the distribution obligations are not claimed
    _, plain = one(initialised, "Llama 2", "--mau", "1000000")
    assert plain["verdict"] == "conditional"
    assert not any("Notice" in o for o in plain["obligations"])


def test_llama2_outputs_may_not_improve_other_llms(initialised):
    code, d = one(initialised, "Llama 2", "--train-other-models")
    assert (code, d["verdict"]) == (1, "prohibited")
    assert "improve any other large language model" in clauses(d)


def test_llama31_training_other_models_and_distributing_needs_the_llama_prefix(initialised):
    code, d = one(initialised, "Llama 3.1", "--train-other-models", "--distribute")
    assert (code, d["verdict"]) == (0, "conditional")
    assert any('"Llama" at the beginning' in r["text"] for r in d["reasons"])
    assert any('with "Llama"' in o for o in d["obligations"])
    assert any("Built with Llama" in o for o in d["obligations"])


def test_stable_diffusion_serving_and_distributing_passes_restrictions_downstream(initialised):
    code, d = one(initialised, "Stable Diffusion v1.5", "--commercial", "--serve", "--distribute")
    assert (code, d["verdict"]) == (0, "conditional")
    text = "\n".join(d["obligations"])
    assert "use restrictions of paragraph 5 downstream" in text
    assert "copy of the CreativeML Open RAIL-M license" in text


def test_stable_diffusion_for_medical_use_is_prohibited(initialised):
    code, d = one(initialised, "Stable Diffusion v1.5", "--serve", "--distribute", "--domain", "medical")
    assert (code, d["verdict"]) == (1, "prohibited")
    medical = [r for r in d["reasons"] if r["verdict"] == "prohibited"]
    assert medical and "To provide medical advice and medical results interpretation" in medical[0]["text"]
    assert "Attachment A" in medical[0]["clause"]


def test_falcon_180b_hosting_needs_permission(initialised):
    code, d = one(initialised, "Falcon-180B", "--serve")
    assert (code, d["verdict"]) == (1, "needs-permission")
    assert "Hosting Use" in clauses(d)


USES = [[], ["--distribute"], ["--modify", "--distribute"], ["--serve"], ["--train-other-models"],
        ["--mau", "800000000"], ["--domain", "medical"]]


@pytest.mark.parametrize("model", ["T5", "Falcon-7B"])
@pytest.mark.parametrize("use", USES, ids=lambda u: " ".join(u) or "plain")
def test_apache_models_are_allowed_or_conditional_in_every_use(initialised, model, use):
    code, d = one(initialised, model, *use)
    assert code == 0 and d["verdict"] in ("allowed", "conditional")
    if "--distribute" in use:
        assert d["verdict"] == "conditional"
        assert any("Apache License 2.0" in o for o in d["obligations"])
    else:
        assert d["verdict"] == "allowed"


def test_cc_by_nc_commercial_is_prohibited_and_non_commercial_is_not(initialised):
    initialised("import", "-", input=json.dumps({"name": "suno/bark-2023-04", "license": "cc-by-nc-4.0"}) + "\n")
    code, d = one(initialised, "suno/bark-2023-04", "--commercial")
    assert (code, d["verdict"]) == (1, "prohibited")
    assert "NonCommercial" in clauses(d)
    code, d = one(initialised, "suno/bark-2023-04", "--non-commercial")
    assert (code, d["verdict"]) == (0, "allowed")


def test_model_without_license_is_unknown_and_exits_1(initialised):
    code, d = one(initialised, "GLIDE")
    assert (code, d["verdict"]) == (1, "unknown")
    result = initialised("check-license", "GLIDE", expect=1)
    assert "UNKNOWN" in result.stdout


def test_gpt4_cannot_be_distributed_and_is_conditional_on_provider_terms(initialised):
    code, d = one(initialised, "GPT-4", "--distribute")
    assert (code, d["verdict"]) == (1, "prohibited")
    assert "No weights are published" in clauses(d)
    code, d = one(initialised, "GPT-4", "--commercial")
    assert (code, d["verdict"]) == (0, "conditional")
    assert any("provider's terms" in o for o in d["obligations"])


def test_lineage_fine_tune_relicensed_as_mit_follows_its_base(initialised):
    entry = {"name": "acme/llama2-chat-ft", "license": "mit", "base_model": "meta-llama/Llama-2-7b-hf"}
    initialised("import", "-", input=json.dumps(entry) + "\n")
    code, d = one(initialised, "acme/llama2-chat-ft", "--train-other-models")
    assert (code, d["verdict"]) == (1, "prohibited")
    assert d["lineage"] == ["meta-llama/Llama-2-7b-hf"]
    assert any(f.startswith("relicensed") for f in d["flags"])
    assert any("base model meta-llama/Llama-2-7b-hf" in r["clause"] for r in d["reasons"])


def test_lineage_of_a_base_with_the_same_terms_is_not_flagged(initialised):
    entry = {"name": "acme/t5-ft", "license": "apache-2.0", "base_model": "google-t5/t5-small"}
    initialised("import", "-", input=json.dumps(entry) + "\n")
    _, d = one(initialised, "acme/t5-ft")
    assert d["verdict"] == "allowed" and d["flags"] == [] and d["lineage"] == ["google-t5/t5-small"]


def test_license_expression_or_takes_the_better_choice(initialised):
    initialised("import", "-", input=json.dumps({"name": "acme/dual", "license": "MIT OR CC-BY-NC-4.0"}) + "\n")
    _, d = one(initialised, "acme/dual", "--commercial")
    assert d["verdict"] == "allowed" and d["license"] == "mit OR cc-by-nc-4.0"


def test_check_license_needs_names_or_all(initialised):
    result = initialised("check-license", expect=2)
    assert "--all" in result.stderr


def test_human_output_names_verdict_obligations_and_clauses(initialised):
    out = initialised("check-license", "Llama 2", "--mau", "1000000", "--distribute").stdout
    assert "Intended use: commercial; 1,000,000 monthly active users; distribute" in out
    assert "CONDITIONAL" in out and "obligations:" in out and "because:" in out and "§1.b.iii" in out


def test_list_by_verdict_answers_which_models_we_may_use(initialised):
    prohibited = {r["display_name"] for r in initialised.json("list", "--verdict", "prohibited",
                                                                "--train-other-models")}
    assert {"Llama 2", "Llama 3"} <= prohibited and "Llama 3.1" not in prohibited
    usable = {r["display_name"] for r in initialised.json(
        "list", "--verdict", "allowed", "--verdict", "conditional", "--serve", "--distribute")}
    assert "T5" in usable and "Falcon-180B" not in usable and "GPT-4" not in usable and "GLIDE" not in usable


def test_licenses_command_lists_and_explains(initialised):
    ids = {lic["id"] for lic in initialised.json("licenses")}
    assert {"apache-2.0", "mit", "bsd-3-clause", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0",
            "cc-by-nc-sa-4.0", "openrail", "creativeml-openrail-m", "openrail++", "bigscience-openrail-m",
            "bigscience-bloom-rail-1.0", "llama2", "llama3", "llama3.1", "gemma",
            "falcon-180b-tii-license-1.0", "provider-terms"} <= ids
    sd = initialised.json("licenses", "creativeml-openrail-m")
    assert {"medical", "law-enforcement", "automated-decisions"} <= set(sd["restricted_domains"])
    assert all(t["clause"] and t["text"] for t in sd["terms"])
    out = initialised("licenses", "Llama 2").stdout  # an alias resolves
    assert "Llama 2 Community License Agreement (llama2)" in out and "restricted domains:" in out
    assert "military" in out
    assert_one_line_error(initialised("licenses", "apache-2.1", expect=None), "apache-2.0")
