"""Scenarios written from the license texts in catalog/texts/ (copies of
../shared/licenses/): a license and an intended use give a verdict, and the
reason behind it cites the clause of the text that says so, verbatim."""

from __future__ import annotations

import re

import pytest

from fmcat.decide import Decider, Use
from fmcat.identify import normalise
from fmcat.licenses import knowledge_base
from fmcat.settings import package_data_dir

KB = knowledge_base()
B = 10**6

# (license expression, intended use, verdict, the clause (section) that decides it)
SCENARIOS = [
    # Apache-2.0: §2 grants every use; §4 conditions only redistribution
    ("apache-2.0", {}, "allowed", "§2"),
    ("apache-2.0", {"distribute": True}, "conditional", "§4(a),(c),(d)"),
    ("apache-2.0", {"modify": True, "distribute": True}, "conditional", "§4(b)"),
    ("apache-2.0", {"serve": True}, "allowed", "§2"),
    ("apache-2.0", {"train_other_models": True}, "allowed", "§2"),
    ("apache-2.0", {"mau": 1000 * B}, "allowed", "§2"),
    ("apache-2.0", {"domains": ("medical",)}, "allowed", "§2"),
    # MIT
    ("mit", {}, "allowed", "grant"),
    ("mit", {"distribute": True}, "conditional", "condition"),
    ("mit", {"commercial": False, "modify": True}, "allowed", "grant"),
    # BSD-3-Clause
    ("bsd-3-clause", {"distribute": True}, "conditional", "conditions 1-3"),
    ("bsd-3-clause", {"serve": True}, "allowed", "grant"),
    # CC BY 4.0 / BY-SA 4.0
    ("cc-by-4.0", {}, "allowed", "§2(a)(1)"),
    ("cc-by-4.0", {"distribute": True}, "conditional", "§3(a)(1)"),
    ("cc-by-4.0", {"modify": True, "distribute": True}, "conditional", "§3(a)(1)(B)"),
    ("cc-by-sa-4.0", {"modify": True, "distribute": True}, "conditional", "§3(b)(1)"),
    ("cc-by-sa-4.0", {}, "allowed", "§2(a)(1)"),
    # CC BY-NC 4.0 / BY-NC-SA 4.0: NonCommercial
    ("cc-by-nc-4.0", {}, "prohibited", "§2(a)(1), §1(i)"),
    ("cc-by-nc-4.0", {"commercial": False}, "allowed", "§2(a)(1)"),
    ("cc-by-nc-4.0", {"commercial": False, "distribute": True}, "conditional", "§3(a)(1)"),
    ("cc-by-nc-sa-4.0", {"serve": True}, "prohibited", "§2(a)(1)"),
    ("cc-by-nc-sa-4.0", {"commercial": False, "modify": True, "distribute": True}, "conditional", "§3(b)(1)"),
    # CreativeML Open RAIL-M (Stable Diffusion 1.x)
    ("creativeml-openrail-m", {}, "conditional", "§5, §7"),
    ("creativeml-openrail-m", {"serve": True}, "conditional", "§4(a),(b),(d)"),
    ("creativeml-openrail-m", {"modify": True, "distribute": True}, "conditional", "§4(c)"),
    ("creativeml-openrail-m", {"domains": ("medical",)}, "prohibited", "use restriction 10"),
    ("creativeml-openrail-m", {"domains": ("law-enforcement",)}, "prohibited", "use restriction 11"),
    ("creativeml-openrail-m", {"domains": ("automated-decisions",)}, "prohibited", "use restriction 6"),
    # CreativeML Open RAIL++-M (SD 2.x, SDXL)
    ("openrail++", {"domains": ("medical",)}, "prohibited", "use restriction 10"),
    ("openrail++", {"distribute": True}, "conditional", "§4(a),(b),(d)"),
    ("openrail++", {}, "conditional", "§5"),
    # BigScience OpenRAIL-M
    ("bigscience-openrail-m", {"domains": ("impersonation",)}, "prohibited", "Attachment A (g)"),
    ("bigscience-openrail-m", {"domains": ("generated-content",)}, "conditional", "Attachment A (e)"),
    ("bigscience-openrail-m", {"domains": ("medical",)}, "prohibited", "Attachment A (l)"),
    # BigScience BLOOM RAIL 1.0
    ("bigscience-bloom-rail-1.0", {"domains": ("medical",)}, "prohibited", "use restriction 12"),
    ("bigscience-bloom-rail-1.0", {"domains": ("law-enforcement",)}, "prohibited", "use restriction 13"),
    ("bigscience-bloom-rail-1.0", {"domains": ("impersonation",)}, "prohibited", "use restriction 7"),
    ("bigscience-bloom-rail-1.0", {}, "conditional", "§5, §7"),
    # Llama 2
    ("llama2", {"mau": 800 * B}, "needs-permission", "§2"),
    ("llama2", {"mau": 700 * B}, "conditional", "§1.b.iv"),  # "greater than 700 million": 700M is not
    ("llama2", {"train_other_models": True}, "prohibited", "§1.b.v"),
    ("llama2", {"distribute": True}, "conditional", "§1.b.i, §1.b.iii"),
    ("llama2", {"serve": True}, "conditional", "§1.b.i"),
    ("llama2", {"domains": ("military",)}, "prohibited", "Acceptable Use Policy 2.1-2.4"),
    ("llama2", {"domains": ("weapons",)}, "prohibited", "Acceptable Use Policy 2.1-2.4"),
    ("llama2", {"domains": ("critical-infrastructure",)}, "prohibited", "Acceptable Use Policy 2.1-2.4"),
    ("llama2", {"domains": ("impersonation",)}, "prohibited", "Acceptable Use Policy 3.4"),
    ("llama2", {"domains": ("medical",)}, "conditional", "Acceptable Use Policy 1.4"),
    ("llama2", {"commercial": False, "mau": 1}, "conditional", "§1.b.iv"),
    # Meta Llama 3
    ("llama3", {"mau": 800 * B}, "needs-permission", "§2"),
    ("llama3", {"train_other_models": True}, "prohibited", "§1.b.v"),
    ("llama3", {"distribute": True}, "conditional", "§1.b.iii"),
    ("llama3", {"modify": True, "serve": True}, "conditional", "§1.b.i"),
    # Llama 3.1: outputs may train other models, but their names start with "Llama"
    ("llama3.1", {"train_other_models": True, "distribute": True}, "conditional", "§1.b.i"),
    ("llama3.1", {"train_other_models": True}, "conditional", "§1.b.iv"),
    ("llama3.1", {"mau": 800 * B}, "needs-permission", "§2"),
    ("llama3.1", {"domains": ("military",)}, "prohibited", "Acceptable Use Policy 2"),
    # Gemma Terms of Use and its Prohibited Use Policy
    ("gemma", {}, "conditional", "§3.2"),
    ("gemma", {"domains": ("automated-decisions",)}, "prohibited", "Prohibited Use Policy"),
    ("gemma", {"domains": ("impersonation",)}, "prohibited", "Prohibited Use Policy"),
    ("gemma", {"domains": ("surveillance",)}, "prohibited", "Prohibited Use Policy"),
    ("gemma", {"distribute": True}, "conditional", "§3.1"),
    ("gemma", {"train_other_models": True}, "conditional", "§1.1(e)"),
    # Falcon 180B TII License
    ("falcon-180b-tii-license-1.0", {"serve": True}, "needs-permission", "§9.1, §9.3"),
    ("falcon-180b-tii-license-1.0", {}, "conditional", "§5.1, §5.3"),
    ("falcon-180b-tii-license-1.0", {"modify": True}, "conditional", "§6.1"),
    ("falcon-180b-tii-license-1.0", {"distribute": True}, "conditional", "§4.1"),
    # hosted models (no text: fmcat's own note, never shown as a quote)
    ("provider-terms", {"distribute": True}, "prohibited", "no weights"),
    ("provider-terms", {"modify": True}, "needs-permission", "no weights"),
    ("provider-terms", {}, "conditional", "provider terms"),
    ("openrail", {}, "unknown", "a license family"),
    # expressions
    ("mit OR cc-by-nc-4.0", {}, "allowed", "grant"),
    ("mit AND cc-by-nc-4.0", {}, "prohibited", "§2(a)(1), §1(i)"),
    ("apache-2.0 AND llama2", {"mau": 800 * B}, "needs-permission", "§2"),
    # nothing known: never allowed
    (None, {}, "unknown", "no license"),
    ("other", {}, "unknown", "unknown license"),
]


MM, TEXT = {"multimodal": True}, {"multimodal": False}

# Hub-scale licenses: (license, use, verdict, clause, model properties, an obligation that must appear)
HUB_SCENARIOS = [
    ("llama3.2", {"mau": 800 * B}, "needs-permission", "§2", {}, None),
    ("llama3.2", {"region": "de"}, "prohibited", "Acceptable Use Policy (multimodal models)", MM, None),
    ("llama3.2", {"region": "eu"}, "prohibited", "Acceptable Use Policy (multimodal models)", MM, None),
    ("llama3.2", {"region": "de"}, "conditional", "§1.b.iv", TEXT, None),
    ("llama3.2", {"region": "us"}, "conditional", "§1.b.iv", MM, None),
    ("llama3.2", {}, "conditional", "Acceptable Use Policy (multimodal models)", MM,
     "Confirm that the licensee is not established in EU"),
    ("llama3.2", {"train_other_models": True, "distribute": True}, "conditional", "§1.b.i", {},
     'begin the name'),
    ("llama3.3", {"mau": 701 * B}, "needs-permission", "§2", {}, None),
    ("llama3.3", {"domains": ("military",)}, "prohibited", "Acceptable Use Policy 2", {}, None),
    ("llama4", {"distribute": True}, "conditional", "§1.b.iii", {}, "Llama 4 is licensed under the Llama 4 Community License"),
    ("llama4", {"region": "fr"}, "prohibited", "Acceptable Use Policy (multimodal models)", MM, None),
    ("qwen", {"mau": 200 * B}, "needs-permission", "§4", {}, None),
    ("qwen", {"mau": 200 * B, "commercial": False}, "allowed", "§2", {}, None),
    ("qwen", {"train_other_models": True, "distribute": True}, "conditional", "§5.b", {}, "Built with Qwen"),
    ("qwen", {}, "conditional", "§4", {}, "Confirm that monthly active users are at most 100,000,000"),
    ("tongyi-qianwen", {"train_other_models": True}, "prohibited", "§5.b", {}, None),
    ("tongyi-qianwen", {"mau": 150 * B}, "needs-permission", "§4", {}, None),
    ("tongyi-qianwen", {"distribute": True, "mau": 1}, "conditional", "§3.a, §3.c", {}, '"Notice" text file'),
    ("tongyi-qianwen-research", {}, "needs-permission", "§2.a, §2.b", {}, None),
    ("tongyi-qianwen-research", {"commercial": False}, "allowed", "§2.a", {}, None),
    ("deepseek", {"domains": ("military",)}, "prohibited", "Attachment A", {}, None),
    ("deepseek", {"train_other_models": True}, "conditional", "§1 (Derivatives of the Model)", {}, None),
    ("deepseek", {"serve": True}, "conditional", "§4.a", {}, "enforceable provision"),
    ("stabilityai-community", {"revenue": 5 * B}, "needs-permission", "§III", {}, None),
    ("stabilityai-community", {}, "conditional", "§III", {},
     "Confirm that annual revenue is at most USD 1,000,000"),
    ("stabilityai-community", {"revenue": 500_000}, "conditional", "§III", {}, "Register with Stability AI"),
    ("stabilityai-community", {"revenue": 5 * B, "commercial": False}, "conditional", "§IV.b", {}, None),
    ("stabilityai-community", {"train_other_models": True, "revenue": 1}, "conditional", "§IV.b", {},
     "foundational generative AI model"),
    ("stabilityai-nc-research-community", {}, "prohibited", "§1.a (Non-Commercial Uses)", {}, None),
    ("stabilityai-nc-research-community", {"commercial": False, "serve": True}, "prohibited", "§1.b", {}, None),
    ("flux-1-dev-non-commercial", {}, "prohibited", "§2.b, §4.a", {}, None),
    ("flux-1-dev-non-commercial", {"outputs_only": True}, "conditional", "§2.d", {}, "only its Outputs"),
    ("flux-1-dev-non-commercial", {"commercial": False, "domains": ("surveillance",)}, "prohibited", "§4.a", {}, None),
    ("deepfloyd-if-license", {}, "prohibited", "§1.a, §2.a", {}, None),
    ("deepfloyd-if-license", {"commercial": False, "distribute": True}, "conditional", "§3", {}, "DeepFloyd is licensed"),
    ("gpl-3.0", {"modify": True, "distribute": True}, "conditional", "§5(c), §6", {}, "Corresponding Source"),
    ("gpl-3.0", {}, "allowed", "§2", {}, None),
    ("gpl-2.0", {"distribute": True}, "conditional", "§2(b), §3", {}, "complete corresponding source"),
    ("agpl-3.0", {"modify": True, "serve": True}, "conditional", "§13", {}, "over a network"),
    ("agpl-3.0", {"serve": True}, "allowed", "§2", {}, None),
    ("lgpl-3.0", {"distribute": True}, "conditional", "§4", {}, None),
    ("mpl-2.0", {"distribute": True}, "conditional", "§3.1, §3.2", {}, None),
    ("eupl-1.2", {"serve": True}, "conditional", "§5 (Copyleft clause)", {}, None),
    ("osl-3.0", {"serve": True}, "conditional", "§1(c), §5", {}, None),
    ("cc-by-nc-nd-4.0", {"commercial": False, "modify": True, "distribute": True}, "prohibited", "§2(a)(1)(B)", {}, None),
    ("cc-by-nc-nd-4.0", {}, "prohibited", "§2(a)(1)", {}, None),
    ("cc-by-nd-4.0", {"modify": True, "distribute": True}, "prohibited", "§2(a)(1)(B)", {}, None),
    ("cc-by-nd-4.0", {"distribute": True}, "conditional", "§3(a)(1)", {}, None),
    ("cc-by-sa-4.0", {}, "allowed", "§2(a)(1)", {}, None),
    ("cc-by-sa-3.0", {"modify": True, "distribute": True}, "conditional", "§4(b)", {}, "ShareAlike"),
    ("cc-by-nc-3.0", {}, "prohibited", "§4(b)", {}, None),
    ("cc-by-nc-sa-2.0", {}, "prohibited", "§4(c)", {}, None),
    ("cc-by-2.0", {"distribute": True}, "conditional", "§4(a),(b)", {}, None),
    ("cc0-1.0", {"distribute": True, "modify": True}, "allowed", "§2 Waiver", {}, None),
    ("unlicense", {"distribute": True}, "allowed", "dedication", {}, None),
    ("fair-noncommercial-research-license", {}, "prohibited", "§1.b.i", {}, None),
    ("apple-amlr", {}, "prohibited", "grant (Research Purposes)", {}, None),
    ("apple-ascl", {"distribute": True}, "conditional", "conditions", {}, None),
    ("nvidia-open-model-license", {}, "conditional", "§2.1, §2.3", {}, "guardrails"),
    ("nvidia-open-model-license", {"distribute": True}, "conditional", "§3", {}, "Licensed by NVIDIA Corporation"),
    ("falcon-2-11b-tii-license-1.0", {"serve": True}, "conditional", "§5", {}, None),
    ("falcon-2-11b-tii-license-1.0", {"modify": True}, "conditional", "§6", {}, "built using Falcon LLM technology"),
    ("bigcode-openrail-m", {"domains": ("medical",)}, "prohibited", "Attachment A (m)", {}, None),
    ("bigcode-openrail-m", {"domains": ("law-enforcement",)}, "prohibited", "Attachment A (n)", {}, None),
    ("c-uda", {}, "conditional", "§2.1", {}, "Computational Use"),
    ("odbl-1.0", {"serve": True}, "conditional", "§4.4", {}, None),
    ("ofl-1.1", {"distribute": True}, "conditional", "conditions 1, 2, 4, 5", {}, None),
    ("openmdw-1.0", {"train_other_models": True}, "allowed", "grant", {}, None),
    ("apache-2.0 AND gpt-oss-usage-policy", {}, "conditional", "usage policy", {}, "all applicable law"),
    ("gpl", {}, "unknown", "a license family", {}, None),
    ("cc", {"commercial": False}, "unknown", "a license family", {}, None),
    ("grok2-community", {}, "unknown", "terms not in the knowledge base", {}, None),
    ("mistral-research-license", {"commercial": False}, "unknown", "terms not in the knowledge base", {}, None),
]


def test_there_are_at_least_forty_hub_scale_scenarios():
    assert len(HUB_SCENARIOS) >= 40


@pytest.mark.parametrize("license_expr,use,verdict,section,props,must", HUB_SCENARIOS,
                         ids=[f"{s[0]}-{'-'.join(f'{k}={v}' for k, v in s[1].items()) or 'plain'}-{s[4]}"
                              for s in HUB_SCENARIOS])
def test_hub_scale_scenario(license_expr, use, verdict, section, props, must):
    decision = Decider(KB, Use(**use)).decide(license_expr, props)
    assert decision.verdict == verdict, decision.reasons
    assert any(r.verdict == verdict and section in r.clause for r in decision.reasons), decision.reasons
    if must:
        assert any(must.lower() in o.lower() for o in decision.obligations), decision.obligations
    _assert_verbatim(decision)


def _assert_verbatim(decision) -> None:
    names = {lic.name: lic for lic in KB.licenses.values()}
    for reason in decision.reasons:
        lic = next((lic for name, lic in names.items() if reason.clause.startswith(name + " ")), None)
        if lic is None or not lic.texts:
            continue
        ref = _reference_words(lic.id)
        for fragment in re.split(r"\.\.\.|…", reason.text):
            words = " ".join(normalise(fragment))
            assert not words or f" {words} " in ref, (lic.id, reason.clause, fragment)


def _reference_words(license_id: str) -> str:
    base = package_data_dir("catalog") / "texts"
    return " " + " ".join(w for n in KB.licenses[license_id].texts
                          for w in normalise((base / n).read_text("utf-8"))) + " "


def test_there_are_at_least_sixty_scenarios():
    assert len(SCENARIOS) >= 60


@pytest.mark.parametrize("license_expr,use,verdict,section", SCENARIOS,
                         ids=[f"{s[0]}-{'-'.join(f'{k}={v}' for k, v in s[1].items()) or 'plain'}" for s in SCENARIOS])
def test_scenario(license_expr, use, verdict, section):
    decision = Decider(KB, Use(**use)).decide(license_expr)
    assert decision.verdict == verdict, decision.reasons
    citing = [r for r in decision.reasons if r.verdict == verdict and section in r.clause]
    assert citing, [(r.clause, r.verdict) for r in decision.reasons]
    _assert_verbatim(decision)
