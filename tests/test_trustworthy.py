"""Verdicts that are never silently wrong: a closed domain vocabulary, lineage
that is complete or says it is not, policies that look at every license of an
expression, waivers that cannot be borrowed, and quotes that are verbatim."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from fmcat.decide import Decider, Use
from fmcat.identify import normalise
from fmcat.licenses import knowledge_base
from fmcat.settings import package_data_dir

from .conftest import assert_one_line_error

KB = knowledge_base()


def decide_json(fmcat, *args, expect=None):
    result = fmcat("check-license", *args, "--json", expect=expect)
    return result.exit_code, {d["model"]: d for d in json.loads(result.stdout)}


def add_entries(fmcat, *entries):
    fmcat("import", "-", input="".join(json.dumps(e) + "\n" for e in entries))


# --- domains ---------------------------------------------------------------------------


@pytest.mark.parametrize("domain", sorted(KB.domains))
def test_every_alias_decides_like_its_canonical_domain(domain):
    canonical = {lic: Decider(KB, Use(domains=(domain,))).decide(lic).verdict for lic in KB.licenses}
    for alias in KB.domains[domain].aliases:
        assert KB.domains_of([alias]) == (domain,)
        assert KB.domains_of([alias.replace("-", " ").upper()]) == (domain,)  # "Medical Advice" too
        got = {lic: Decider(KB, Use(domains=KB.domains_of([alias]))).decide(lic).verdict for lic in KB.licenses}
        assert got == canonical, alias


@pytest.mark.parametrize("word,model,verdict", [
    ("nuclear", "Llama 2", "prohibited"), ("warfare", "Llama 2", "prohibited"), ("weapon", "Llama 2", "prohibited"),
    ("healthcare", "BLOOM", "prohibited"), ("medical advice", "BLOOM", "prohibited"),
    ("policing", "Stable Diffusion v1.5", "prohibited"), ("military", "Llama 2", "prohibited"),
])
def test_words_the_use_policies_use_are_not_ignored(initialised, word, model, verdict):
    code, by = decide_json(initialised, model, "--domain", word)
    (d,) = by.values()
    assert (code, d["verdict"]) == (1, verdict), d["reasons"]


def test_an_unknown_domain_is_refused_with_the_closest_suggested(initialised, tmp_path):
    assert_one_line_error(initialised("check-license", "--all", "--domain", "medicall", expect=None),
                          "unknown domain 'medicall'", "did you mean 'medical'")
    policy = tmp_path / "policy.toml"
    policy.write_text('[use]\ndomains = ["medicall"]\n')
    assert_one_line_error(initialised("check-license", "--all", "--policy", str(policy), expect=None),
                          "unknown domain 'medicall'", "did you mean 'medical'")
    assert_one_line_error(initialised("list", "--verdict", "allowed", "--domain", "nuclearr", expect=None),
                          "did you mean 'military'")


def test_policy_domains_use_the_same_vocabulary(initialised, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('[use]\ndomains = ["warfare", "customer-support"]\n')
    code, by = decide_json(initialised, "Llama 2", "--policy", str(policy))
    assert code == 1 and by["meta-llama/Llama-2-7b-hf"]["verdict"] == "prohibited"


def test_licenses_domains_lists_the_vocabulary(fmcat):
    rows = {r["domain"]: r for r in fmcat.json("licenses", "--domains")}
    assert "warfare" in rows["military"]["aliases"] and "nuclear" in rows["military"]["aliases"]
    assert "healthcare" in rows["medical"]["aliases"] and "policing" in rows["law-enforcement"]["aliases"]
    assert "llama2" in rows["military"]["restricted_by"]
    assert "customer-support" in rows and rows["customer-support"]["restricted_by"] == []
    out = fmcat("licenses", "--domains").stdout
    assert "military" in out and "warfare" in out


# --- lineage ---------------------------------------------------------------------------------


@pytest.mark.parametrize("base", ["Meta-Llama/llama-2-7B-hf", "hf://meta-llama/Llama-2-7b-hf@main",
                                  "https://huggingface.co/meta-llama/Llama-2-7b-hf/tree/main"])
def test_a_base_named_in_another_spelling_is_followed(initialised, base):
    add_entries(initialised, {"name": "acme/apache-ft", "license": "apache-2.0", "base_model": base})
    code, by = decide_json(initialised, "acme/apache-ft", "--mau", "800000000")
    d = by["acme/apache-ft"]
    assert (code, d["verdict"]) == (1, "needs-permission")
    assert d["lineage"] == ["meta-llama/Llama-2-7b-hf"]
    assert any(f.startswith("relicensed") for f in d["flags"])


def test_a_base_not_in_the_catalog_makes_the_verdict_unknown(initialised, tmp_path):
    add_entries(initialised, {"name": "acme/mit-ft", "license": "mit", "base_model": "someone/unknown-base"})
    code, by = decide_json(initialised, "acme/mit-ft", "--mau", "800000000")
    d = by["acme/mit-ft"]
    assert (code, d["verdict"]) == (1, "unknown")
    assert "unresolved base model: someone/unknown-base (add it with `fmcat add someone/unknown-base`)" in d["flags"]
    assert d["reasons"][0]["verdict"] == "unknown" and "not in the catalog" in d["reasons"][0]["text"]
    out = initialised("check-license", "acme/mit-ft", expect=1).stdout
    assert "UNKNOWN" in out and "unresolved base model: someone/unknown-base" in out
    # a waiver covers it, once a person has looked
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[[waivers]]\nmodel = "acme/mit-ft"\nverdict = "conditional"\nreason = "base reviewed"\n'
                      f'approver = "legal@example.com"\nexpires = {future}\n')
    code, by = decide_json(initialised, "acme/mit-ft", "--policy", str(policy))
    assert (code, by["acme/mit-ft"]["verdict"]) == (0, "conditional")
    assert by["acme/mit-ft"]["license_verdict"] == "unknown"


def test_a_merge_carries_every_base_and_its_relation_is_recorded(initialised):
    add_entries(initialised, {"name": "acme/merge", "license": "apache-2.0", "base_model_relation": "merge",
                              "base_model": ["meta-llama/Llama-2-7b-hf", "bigscience/bloom"]})
    code, by = decide_json(initialised, "acme/merge", "--domain", "medical", "--train-other-models")
    d = by["acme/merge"]
    assert d["verdict"] == "prohibited"
    assert d["lineage"] == ["meta-llama/Llama-2-7b-hf", "bigscience/bloom"]
    clauses = " | ".join(r["clause"] for r in d["reasons"])
    assert "base model meta-llama/Llama-2-7b-hf: Llama 2 Community License Agreement §1.b.v" in clauses
    assert "base model bigscience/bloom: BigScience BLOOM RAIL 1.0 Attachment A" in clauses
    shown = initialised.json("show", "acme/merge")
    assert shown["base_models"] == ["meta-llama/Llama-2-7b-hf", "bigscience/bloom"]
    assert shown["base_model_relation"] == "merge"
    exported = [json.loads(line) for line in initialised("export", "--format", "jsonl").stdout.splitlines()]
    entry = next(e for e in exported if e["name"] == "acme/merge")
    assert entry["base_model"] == ["meta-llama/Llama-2-7b-hf", "bigscience/bloom"]
    assert entry["base_model_relation"] == "merge"


def test_a_chain_is_followed_to_its_root_and_a_cycle_ends(initialised):
    add_entries(initialised,
                {"name": "acme/a", "license": "mit", "base_model": "acme/b"},
                {"name": "acme/b", "license": "mit", "base_model": "meta-llama/Llama-2-7b-hf"},
                {"name": "acme/c", "license": "mit", "base_model": "acme/d"},
                {"name": "acme/d", "license": "mit", "base_model": "ACME/C"})
    _, by = decide_json(initialised, "acme/a", "acme/c", "--train-other-models")
    assert by["acme/a"]["verdict"] == "prohibited"
    assert by["acme/a"]["lineage"] == ["acme/b", "meta-llama/Llama-2-7b-hf"]
    assert by["acme/c"]["verdict"] == "allowed" and by["acme/c"]["lineage"] == ["acme/d"]


# --- policy ----------------------------------------------------------------------------------


def test_deny_licenses_looks_at_every_license_of_an_expression(initialised, tmp_path):
    add_entries(initialised, {"name": "acme/both", "license": "mit AND llama2"},
                {"name": "acme/either", "license": "mit OR llama2"})
    policy = tmp_path / "policy.toml"
    policy.write_text('[rules]\ndeny-licenses = ["llama2"]\nallow-categories = ["open-source"]\n')
    code, by = decide_json(initialised, "acme/both", "acme/either", "--policy", str(policy))
    assert code == 1
    for name in ("acme/both", "acme/either"):
        assert any("license llama2" in v and "denied" in v for v in by[name]["violations"]), by[name]
        assert any("category custom (llama2) is not allowed" in v for v in by[name]["violations"])
    # the better side of an OR is still chosen, and the choice is an obligation
    assert by["acme/either"]["license_verdict"] == "allowed"
    assert any(o.startswith("Elect to use the model under mit") for o in by["acme/either"]["obligations"])


def test_a_waiver_cannot_be_borrowed_through_a_display_name(initialised, tmp_path):
    add_entries(initialised, {"name": "acme/impostor", "display_name": "meta-llama/Llama-2-7b-hf",
                              "license": "cc-by-nc-4.0"})
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[[waivers]]\nmodel = "META-LLAMA/llama-2-7b-hf"\nverdict = "allowed"\nreason = "signed"\n'
                      f'approver = "legal@example.com"\nexpires = {future}\n')
    _, by = decide_json(initialised, "acme/impostor", "Llama 2", "--policy", str(policy))
    assert by["acme/impostor"]["verdict"] == "prohibited" and by["acme/impostor"]["waiver"] is None
    assert by["meta-llama/Llama-2-7b-hf"]["waiver"]["applied"] is True  # name matched in any case


def test_a_waiver_expiring_at_an_instant_is_compared_as_an_instant(initialised, tmp_path):
    add_entries(initialised, {"name": "acme/nc", "license": "cc-by-nc-4.0"})
    yesterday = dt.date.today() - dt.timedelta(days=1)
    written = f"{yesterday.isoformat()}T23:30:00-12:00"
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[[waivers]]\nmodel = "acme/nc"\nverdict = "allowed"\nreason = "r"\n'
                      f'approver = "a"\nexpires = {written}\n')
    from fmcat.checks import check_licenses
    from fmcat.db import open_catalog
    from fmcat.policy import load_policy
    from fmcat.settings import db_location

    instant = dt.datetime.fromisoformat(written)
    loaded = load_policy(policy)
    catalog = open_catalog(db_location(None))  # the library path, with a chosen "now"
    try:
        with catalog.session() as s, s.begin():
            before = check_licenses(s, ["acme/nc"], Use(), loaded, now=instant - dt.timedelta(minutes=1))
            after = check_licenses(s, ["acme/nc"], Use(), loaded, now=instant + dt.timedelta(minutes=1))
    finally:
        catalog.dispose()
    assert before.decisions[0].verdict == "allowed" and before.decisions[0].waiver["applied"] is True
    assert after.decisions[0].verdict == "prohibited" and after.decisions[0].waiver["applied"] is False
    # a date-time without an offset is refused: it names no instant
    policy.write_text('[[waivers]]\nmodel = "acme/nc"\nverdict = "allowed"\nreason = "r"\napprover = "a"\n'
                      'expires = 2027-01-01T10:00:00\n')
    assert_one_line_error(initialised("check-license", "acme/nc", "--policy", str(policy), expect=None),
                          "no utc offset")


def test_a_waiver_naming_no_catalog_model_is_reported(initialised, tmp_path):
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[[waivers]]\nmodel = "acme/typo-model"\nverdict = "allowed"\nreason = "r"\n'
                      f'approver = "a"\nexpires = {future}\n')
    result = initialised("check-license", "T5", "--policy", str(policy))
    assert "waiver for 'acme/typo-model' names no model in the catalog" in result.stderr


# --- quotes ---------------------------------------------------------------------------------


def _reference_words(lic) -> str:
    base = package_data_dir("catalog") / "texts"
    return " " + " ".join(w for name in lic.texts for w in normalise((base / name).read_text("utf-8"))) + " "


@pytest.mark.parametrize("license_id", sorted(KB.licenses))
def test_every_clause_quote_is_verbatim_in_its_reference_text(license_id):
    lic = KB.licenses[license_id]
    clauses = [c for c in (lic.grant, *(r.clause for r in lic.rules)) if c is not None]
    quoted = [c for c in clauses if c.quoted]
    if not lic.texts:
        assert not quoted, f"{license_id} quotes clauses but has no reference text"
        return
    ref = _reference_words(lic)
    for clause in quoted:
        for fragment in re.split(r"\.\.\.|…", clause.text):
            words = " ".join(normalise(fragment))
            assert not words or f" {words} " in ref, (license_id, clause.section, fragment)


def test_no_output_cites_a_document_outside_the_repository(fmcat):
    for lic in fmcat.json("licenses"):
        full = fmcat.json("licenses", lic["id"])
        text = json.dumps(full)
        assert "license-facts" not in text and "facts §" not in text, lic["id"]


def test_fmcats_own_words_are_never_shown_as_a_quote(initialised):
    _, by = decide_json(initialised, "GLIDE", "GPT-4")
    assert [r["quoted"] for r in by["openai/glide-text2im"]["reasons"]] == [False]
    assert not any(r["quoted"] for r in by["openai/gpt-4"]["reasons"])  # provider terms: fmcat's note
    out = initialised("check-license", "GLIDE", expect=1).stdout
    assert '"No license is recorded' not in out and "(No license is recorded" in out
    every = [(lic, use) for lic in KB.licenses for use in (Use(), Use(distribute=True, modify=True, serve=True))]
    for lic, use in every:
        for r in Decider(KB, use).decide(lic).reasons:
            assert r.quoted == (bool(KB.licenses[lic].texts) and r.clause.startswith(KB.licenses[lic].name)), (lic, r)
