"""Every license id the Hugging Face Hub accepts in a model card resolves: a model
folder whose card declares it is added and decided for a commercial use without
error, nothing is allowed where the text forbids commercial use, and family ids
(which name no single license) are unknown with the reason."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import SHARED, Runner

BACKENDS = ("sqlite",)
FACTS = SHARED / "reference" / "license-facts.md"
# the Hub's list (hub-docs repositories-licenses.md, 83 ids), as license-facts.md §1.1 records it
HUB_IDS = (
    "apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0 "
    "bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc "
    "cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 "
    "cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 "
    "cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 "
    "eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c "
    "ms-pl apple-ascl apple-amlr mpl-2.0 odc-by odbl openmdw-1.0 openmdw-1.1 openrail++ osl-3.0 postgresql ofl-1.1 "
    "ncsa unlicense zlib pddl lgpl-lr deepfloyd-if-license fair-noncommercial-research-license llama2 llama3 "
    "llama3.1 llama3.2 llama3.3 llama4 grok2-community gemma unknown other"
).split()
FAMILIES = {"openrail", "bsd", "cc", "gfdl", "gpl", "lgpl", "odc-by", "odbl"}
NAME_ONLY = {"h-research", "intel-research", "grok2-community"}
NOT_LICENSES = {"unknown", "other"}
# the texts forbid commercial use: non-commercial, research-only, non-production
NO_COMMERCIAL = {"cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0",
                 "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "deepfloyd-if-license",
                 "fair-noncommercial-research-license", "apple-amlr"}


def test_the_list_is_the_hubs():
    assert len(HUB_IDS) == 83 and len(set(HUB_IDS)) == 83
    if FACTS.exists():
        text = FACTS.read_text(encoding="utf-8")
        table = text[text.index("The table as of HEAD"):text.index("Several rows carry")]
        assert re.findall(r"\| `([^`]+)` \|", table) == HUB_IDS


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return tmp_path_factory.mktemp("hub-ids") / "catalog.db"


@pytest.mark.parametrize("license_id", HUB_IDS)
def test_each_hub_license_id_is_added_and_decided(license_id, catalog, tmp_path):
    fmcat = Runner()
    folder = tmp_path / f"m-{license_id}"
    folder.mkdir()
    (folder / "README.md").write_text(f"---\nlicense: {license_id}\npipeline_tag: text-generation\n---\n# model\n")
    (folder / "model.safetensors").write_bytes(b"\0" * 8)
    added = json.loads(fmcat("--db", str(catalog), "add", str(folder), "--json").stdout)[0]
    result = fmcat("--db", str(catalog), "check-license", added["name"], "--commercial", "--json", expect=None)
    assert result.exit_code in (0, 1), result.stderr
    d = json.loads(result.stdout)[0]
    text = " ".join(r["text"] for r in d["reasons"])
    if license_id in NOT_LICENSES:
        assert d["verdict"] == "unknown" and d["license"] in (None, license_id)
    elif license_id in FAMILIES:
        assert (d["license"], d["verdict"]) == (license_id, "unknown")
        assert "family" in text
    elif license_id in NAME_ONLY:
        assert (d["license"], d["verdict"], d["category"]) == (license_id, "unknown", "custom")
        assert "terms are not in fmcat's knowledge base" in text
    else:
        assert d["license"] == license_id and d["category"] in ("open-source", "custom")
        if license_id in NO_COMMERCIAL:
            assert d["verdict"] in ("prohibited", "needs-permission"), d
        else:
            assert d["verdict"] in ("allowed", "conditional"), d


def _decide(fmcat, name, *args):
    result = fmcat("check-license", name, *args, "--json", expect=None)
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)[0]


def test_region_revenue_and_outputs_only_reach_the_rules(tmp_path):
    fmcat = Runner()
    entries = [
        {"name": "meta-llama/Llama-3.2-11B-Vision", "license": "llama3.2", "task": "image-text-to-text"},
        {"name": "meta-llama/Llama-3.2-1B", "license": "llama3.2", "task": "text-generation"},
        {"name": "stabilityai/sd3", "license": "stabilityai-community"},
        {"name": "black-forest-labs/FLUX.1-dev", "license": "flux-1-dev-non-commercial"},
    ]
    fmcat("import", "-", input="".join(json.dumps(e) + "\n" for e in entries))
    vision = _decide(fmcat, "meta-llama/Llama-3.2-11B-Vision", "--region", "DE")
    assert vision["verdict"] == "prohibited"
    assert any("European Union" in r["text"] for r in vision["reasons"] if r["verdict"] == "prohibited")
    assert _decide(fmcat, "meta-llama/Llama-3.2-1B", "--region", "de")["verdict"] == "conditional"
    assert _decide(fmcat, "meta-llama/Llama-3.2-11B-Vision", "--region", "us")["verdict"] == "conditional"
    unsure = _decide(fmcat, "meta-llama/Llama-3.2-11B-Vision")
    assert unsure["verdict"] == "conditional"
    assert any(o.startswith("Confirm that the licensee is not established in EU") for o in unsure["obligations"])
    assert _decide(fmcat, "stabilityai/sd3", "--revenue", "5000000")["verdict"] == "needs-permission"
    assert _decide(fmcat, "stabilityai/sd3", "--revenue", "900000")["verdict"] == "conditional"
    assert _decide(fmcat, "black-forest-labs/FLUX.1-dev")["verdict"] == "prohibited"
    assert _decide(fmcat, "black-forest-labs/FLUX.1-dev", "--outputs-only")["verdict"] == "conditional"
    policy = tmp_path / "policy.toml"
    policy.write_text('[use]\nregion = "fr"\nrevenue = 2_000_000\noutputs-only = false\n')
    assert _decide(fmcat, "meta-llama/Llama-3.2-11B-Vision", "--policy", str(policy))["verdict"] == "prohibited"
    assert _decide(fmcat, "stabilityai/sd3", "--policy", str(policy))["verdict"] == "needs-permission"
    out = fmcat("check-license", "stabilityai/sd3", "--revenue", "2000000", "--region", "us", expect=1).stdout
    assert "annual revenue USD 2,000,000; licensee in US" in out


@pytest.mark.parametrize("args,needle", [
    (["--region", "europe!"], "is not a region"),
    (["--revenue", "-5"], "revenue"),
])
def test_bad_region_or_revenue_is_one_line(args, needle):
    from .conftest import assert_one_line_error

    fmcat = Runner()
    assert_one_line_error(fmcat("check-license", "--all", *args, expect=None), needle)


def test_license_other_resolves_through_name_and_link(tmp_path):
    fmcat = Runner()
    cards = {
        "a": {"license": "other", "license_name": "stabilityai-ai-community"},
        "b": {"license": "other", "license_name": "flux-1-dev-non-commercial-license"},
        "c": {"license": "other", "license_link": "https://huggingface.co/meta-llama/Llama-3.2-1B/blob/main/LICENSE.txt"},
        "d": {"license": "other", "license_name": "mnpl"},
        "e": {"license": "other", "license_name": "my-own-terms"},
    }
    want = {"a": "stabilityai-community", "b": "flux-1-dev-non-commercial", "c": "llama3.2",
            "d": "mistral-non-production-license", "e": None}
    for name, card in cards.items():
        folder = tmp_path / name
        folder.mkdir()
        meta = "".join(f"{k}: {v}\n" for k, v in card.items())
        (folder / "README.md").write_text(f"---\n{meta}---\n")
        (folder / "model.safetensors").write_bytes(b"\0" * 8)
        fmcat("add", str(folder))
        d = _decide(fmcat, name)
        if want[name]:
            assert d["license"] == want[name], (name, d["license"])
        else:  # a name the knowledge base does not know resolves to no license at all
            assert d["license"] in (None, "other") and d["category"] == "unknown", d
        if name in ("d", "e"):
            assert d["verdict"] == "unknown"


def test_a_gpt_oss_usage_policy_adds_to_apache(tmp_path):
    fmcat = Runner()
    folder = tmp_path / "gpt-oss"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n")
    (folder / "LICENSE").write_text(_text("apache-2.0.txt"))
    (folder / "USE_POLICY.md").write_text(_text("gpt-oss-usage-policy.txt"))
    (folder / "model.safetensors").write_bytes(b"\0" * 8)
    fmcat("add", str(folder))
    d = _decide(fmcat, "gpt-oss")
    assert d["license"] == "apache-2.0 AND gpt-oss-usage-policy" and d["flags"] == []
    assert d["verdict"] == "conditional" and any("applicable law" in o for o in d["obligations"])


def _text(name: str) -> str:
    from fmcat.settings import package_data_dir

    return (package_data_dir("catalog") / "texts" / name).read_text(encoding="utf-8")
