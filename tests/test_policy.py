from __future__ import annotations

import datetime as dt
import json

import pytest

from .conftest import assert_one_line_error

POLICY = """
[use]
commercial = true
mau = 2_000_000
distribute = false
modify = true
serve = true
train-other-models = false
domains = ["customer-support"]

[rules]
allow-categories = ["open-source"]
deny-licenses = ["cc-by-nc-4.0"]
"""


@pytest.fixture
def small_catalog(fmcat):
    entries = [
        {"name": "acme/apache-model", "license": "apache-2.0"},
        {"name": "acme/nc-model", "license": "cc-by-nc-4.0"},
        {"name": "acme/llama-ft", "license": "llama2"},
    ]
    fmcat("import", "-", input="".join(json.dumps(e) + "\n" for e in entries))
    return fmcat


def write(tmp_path, text, name="policy.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def run(fmcat, *args):
    result = fmcat("check-license", "--all", *args, "--json", expect=None)
    return result.exit_code, {d["model"]: d for d in json.loads(result.stdout)}


def test_policy_violations_fail_and_name_each_offending_model(small_catalog, tmp_path):
    code, by = run(small_catalog, "--policy", write(tmp_path, POLICY))
    assert code == 1
    assert by["acme/apache-model"]["violations"] == []
    assert any("denied by policy" in v for v in by["acme/nc-model"]["violations"])
    assert any("category custom is not allowed" in v for v in by["acme/nc-model"]["violations"])
    assert any("category custom is not allowed" in v for v in by["acme/llama-ft"]["violations"])
    out = small_catalog("check-license", "--all", "--policy", write(tmp_path, POLICY), expect=1).stdout
    assert "Needs attention: acme/llama-ft, acme/nc-model." in out
    assert "2,000,000 monthly active users" in out  # the policy's [use] was applied


def test_a_valid_waiver_turns_a_violation_into_a_pass_and_an_expired_one_does_not(small_catalog, tmp_path):
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    waivers = f"""
[[waivers]]
model = "acme/llama-ft"
verdict = "conditional"
reason = "signed agreement with the licensor"
approver = "legal@example.com"
expires = {future}

[[waivers]]
model = "acme/nc-model"
verdict = "allowed"
reason = "research only"
approver = "legal@example.com"
expires = {past}
"""
    code, by = run(small_catalog, "--policy", write(tmp_path, POLICY + waivers))
    llama = by["acme/llama-ft"]
    assert llama["verdict"] == "conditional" and llama["violations"] == []
    assert llama["waiver"]["applied"] is True and llama["waiver"]["approver"] == "legal@example.com"
    nc = by["acme/nc-model"]
    assert nc["waiver"]["applied"] is False and "expired" in nc["waiver"]["note"]
    assert nc["violations"] and code == 1

    # waive the other one too (validly): now the whole check passes
    fixed = waivers.replace(past, future)
    code, by = run(small_catalog, "--policy", write(tmp_path, POLICY + fixed))
    assert code == 0, by
    assert all(not d["violations"] for d in by.values())


def test_command_line_flags_override_the_policy_use(small_catalog, tmp_path):
    policy = write(tmp_path, "[use]\ncommercial = false\n")
    _, by = run(small_catalog, "--policy", policy)
    assert by["acme/nc-model"]["verdict"] == "allowed"
    _, by = run(small_catalog, "--policy", policy, "--commercial")
    assert by["acme/nc-model"]["verdict"] == "prohibited"


def test_require_verified_and_smoke_test_are_violations_until_recorded(small_catalog, tmp_path):
    policy = write(tmp_path, "[rules]\nrequire-verified = true\nrequire-smoke-test = true\n")
    code, by = run(small_catalog, "--policy", policy)
    assert code == 1
    assert any("never verified" in v for v in by["acme/apache-model"]["violations"])
    assert any("never smoke-tested" in v for v in by["acme/apache-model"]["violations"])


MALFORMED = {
    "bad toml": ("[use\ncommercial = true\n", "malformed TOML"),
    "unknown key": ("[use]\ncomercial = true\n", "unknown key 'comercial'"),
    "unknown section": ("[usage]\ncommercial = true\n", "unknown section [usage]"),
    "negative mau": ("[use]\nmau = -5\n", "mau must not be negative"),
    "mau as text": ("[use]\nmau = \"lots\"\n", "mau must be a whole number"),
    "waiver without expires": (
        '[[waivers]]\nmodel = "x"\nverdict = "allowed"\nreason = "r"\napprover = "a"\n', "missing 'expires'"),
    "waiver bad verdict": (
        '[[waivers]]\nmodel = "x"\nverdict = "fine"\nreason = "r"\napprover = "a"\nexpires = 2027-01-01\n',
        "verdict must be"),
    "unknown category": ('[rules]\nallow-categories = ["free"]\n', "unknown category 'free'"),
    "misspelled license": ('[rules]\ndeny-licenses = ["cc-by-nc-4"]\n', "unknown license"),
    "bool as string": ('[rules]\nrequire-verified = "yes"\n', "must be true or false"),
    "bad domain": ('[use]\ndomains = ["Medical Advice!"]\n', "domain"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_policy_is_one_line_exit_2(small_catalog, tmp_path, case):
    text, needle = MALFORMED[case]
    result = small_catalog("check-license", "--all", "--policy", write(tmp_path, text), expect=None)
    assert_one_line_error(result, needle)


def test_missing_policy_file(small_catalog, tmp_path):
    result = small_catalog("check-license", "--all", "--policy", str(tmp_path / "nope.toml"), expect=None)
    assert_one_line_error(result, "nope.toml")


def test_negative_mau_on_the_command_line(small_catalog):
    result = small_catalog("check-license", "--all", "--mau", "-1", expect=2)
    assert "Traceback" not in result.stderr
