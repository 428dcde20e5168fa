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
    # the cited words are the license's own, wherever the license has a text
    names = {lic.name: lic for lic in KB.licenses.values()}
    for reason in citing:
        lic = next((lic for name, lic in names.items() if reason.clause.startswith(name)), None)
        if lic is None or not lic.texts:
            continue
        ref = _reference_words(lic.id)
        for fragment in re.split(r"\.\.\.|…", reason.text):
            words = " ".join(normalise(fragment))
            assert not words or f" {words} " in ref, (lic.id, reason.clause, fragment)
