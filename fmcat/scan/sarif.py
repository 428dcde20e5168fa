"""SARIF 2.1.0 for code scanning: one rule per verdict or violation kind, one
result per location; errors for prohibited, needs-permission and policy
violations, warnings for unknown and unresolved, notes for conditional.
Models that are allowed raise no result."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .core import Finding, ScanResult
from .refs import UNRESOLVED, Location

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

RULES: list[dict[str, Any]] = [
    {"id": "verdict/prohibited", "name": "ModelUseProhibited", "level": "error",
     "short": "The model's license forbids the intended use",
     "full": "The license of a model this code loads forbids the intended use (a restricted domain, "
             "commercial use under a non-commercial license, outputs used to train other models, ...)."},
    {"id": "verdict/needs-permission", "name": "ModelUseNeedsPermission", "level": "error",
     "short": "The licensor must grant the intended use first",
     "full": "The license allows the intended use only with the licensor's permission (e.g. Llama 2 above "
             "700 million monthly active users)."},
    {"id": "verdict/unknown", "name": "ModelLicenseUnknown", "level": "warning",
     "short": "fmcat cannot ground a verdict for this model",
     "full": "The model is not in the catalog, has no license or one fmcat does not know, a modified license "
             "text, or a base model that cannot be resolved; fmcat says unknown rather than guess."},
    {"id": "verdict/conditional", "name": "ModelUseConditional", "level": "note",
     "short": "Allowed if the license's obligations are met",
     "full": "The intended use is allowed if the listed obligations are met (ship the license, pass use "
             "restrictions downstream, attribution, ...)."},
    {"id": "policy/category", "name": "PolicyCategoryNotAllowed", "level": "error",
     "short": "The policy does not allow this license category",
     "full": "The organisation policy's allow-categories does not include the model's license category."},
    {"id": "policy/deny-license", "name": "PolicyLicenseDenied", "level": "error",
     "short": "The policy denies this license",
     "full": "The organisation policy's deny-licenses names a license of this model."},
    {"id": "policy/require-verified", "name": "PolicyRequiresVerified", "level": "error",
     "short": "The policy requires verified weights",
     "full": "The organisation policy requires a passing `fmcat verify` for every model used."},
    {"id": "policy/require-smoke-test", "name": "PolicyRequiresSmokeTest", "level": "error",
     "short": "The policy requires a passing smoke test",
     "full": "The organisation policy requires a passing `fmcat smoke-test` for every model used."},
    {"id": "reference/unresolved", "name": "ModelReferenceUnresolved", "level": "warning",
     "short": "A model is loaded from a value fmcat cannot resolve",
     "full": "The model argument is computed at run time (a parameter, an attribute, an environment "
             "variable without a default); fmcat cannot tell which model is used."},
]
_RULE_INDEX = {r["id"]: i for i, r in enumerate(RULES)}
_VERDICT_RULES = {"prohibited", "needs-permission", "unknown", "conditional"}


def violation_rule(text: str) -> str:
    if text.startswith("category"):
        return "policy/category"
    if text.startswith("license"):
        return "policy/deny-license"
    if "verified" in text:
        return "policy/require-verified"
    return "policy/require-smoke-test"


def _artifact(loc: Location, cwd: str) -> dict[str, Any]:
    if loc.path.startswith("/"):
        return {"uri": Path(loc.path).as_uri()}
    return {"uri": loc.path, "uriBaseId": "%SRCROOT%"}


def _location(loc: Location, cwd: str) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": loc.file_line or loc.line}
    if loc.cell is None:
        region["startColumn"] = loc.column
    out: dict[str, Any] = {"physicalLocation": {"artifactLocation": _artifact(loc, cwd), "region": region}}
    if loc.cell is not None:
        out["message"] = {"text": f"cell {loc.cell}, line {loc.line}"}
    return out


def _message(f: Finding, verdict: str) -> str:
    if f.kind == UNRESOLVED:
        return f"Model argument `{f.model}` cannot be resolved: {f.why}."
    d = f.decision
    head = f"{f.model}: {verdict}" + (f" under {d.license}" if d.license else "")
    if d.reasons:
        r = d.reasons[0]
        head += f". {r.clause}: " + (f"\"{r.text}\"" if r.quoted else r.text)
    if verdict == "conditional" and d.obligations:
        head += ". Obligations: " + "; ".join(d.obligations)
    for flag in d.flags[:3]:
        head += f". {flag}"
    return head if head.endswith(".") else head + "."


def to_sarif(result: ScanResult, findings: list[Finding], version: str) -> dict[str, Any]:
    cwd = os.getcwd()
    results: list[dict[str, Any]] = []
    for f in findings:
        entries: list[tuple[str, str]] = []
        if f.kind == UNRESOLVED:
            entries.append(("reference/unresolved", _message(f, "unresolved")))
        else:
            if f.decision.verdict in _VERDICT_RULES:
                entries.append((f"verdict/{f.decision.verdict}", _message(f, f.decision.verdict)))
            for v in f.decision.violations:
                entries.append((violation_rule(v), f"{f.model}: policy violation: {v}."))
        for rule_id, text in entries:
            rule = RULES[_RULE_INDEX[rule_id]]
            for loc in f.locations:
                results.append({
                    "ruleId": rule_id, "ruleIndex": _RULE_INDEX[rule_id], "level": rule["level"],
                    "message": {"text": text}, "locations": [_location(loc, cwd)],
                    "properties": {"model": f.model if f.kind != UNRESOLVED else None, "kind": f.kind,
                                   "verdict": f.verdict, "via": loc.via, "example": loc.example,
                                   "fallback": loc.fallback},
                })
    notifications = [{"level": "note", "message": {"text": n.note},
                      "locations": [{"physicalLocation": {"artifactLocation": _artifact(Location(n.path, 1, 1), cwd)}}]}
                     for n in result.notes]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "fmcat", "version": version, "informationUri": "https://example.invalid/fmcat",
                "rules": [{"id": r["id"], "name": r["name"], "shortDescription": {"text": r["short"]},
                           "fullDescription": {"text": r["full"]}, "defaultConfiguration": {"level": r["level"]},
                           "help": {"text": r["full"]}} for r in RULES],
            }},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(cwd).as_uri() + "/"}},
            "results": results,
        }],
    }
