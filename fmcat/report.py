"""License reports: one data structure, rendered as JSON, a self-contained HTML
page (jinja2, autoescaped) and a CycloneDX 1.6 ML-BOM.

The verdicts are those of ``check-license`` for the given use and policy. No
ORM object reaches a template: ``build_report`` turns everything into plain
dicts with stable keys (documented in the README).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from collections import Counter
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import __version__
from .checks import check_licenses
from .decide import FAILING, VERDICTS, Use
from .licenses import CATEGORIES, knowledge_base
from .models import Model
from .policy import Policy
from .settings import hub_endpoint

DISCLAIMER = ("This report is guidance produced by fmcat from the license texts and catalog records; "
              "it is not legal advice. Have a qualified person review the obligations before relying on them.")


def _iso(value: dt.datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def build_report(session: Session, use: Use, policy: Policy | None, catalog: str) -> dict[str, Any]:
    result = check_licenses(session, None, use, policy)
    decisions = {d.model: d for d in result.decisions}
    models = session.scalars(
        select(Model).order_by(Model.name).options(
            selectinload(Model.files), selectinload(Model.license_observations),
            selectinload(Model.verifications), selectinload(Model.smoke_tests),
        )
    ).all()
    rows = []
    for m in models:
        last_v = m.verifications[-1] if m.verifications else None
        rows.append(model_row(
            {c: getattr(m, c) for c in ROW_COLUMNS}, decisions[m.name],
            files=[{"path": f.path, "size": f.size, "sha256": f.sha256, "blob_id": f.blob_id, "lfs": f.is_lfs,
                    "details": f.details} for f in m.files],
            evidence=[{"source": o.source, "declared": o.declared, "license": o.license_id, "revision": o.revision,
                       "observed_at": _iso(o.observed_at), "note": o.note} for o in m.license_observations],
            verification=({"status": last_v.status, "at": _iso(last_v.finished_at or last_v.started_at),
                           "summary": last_v.summary, "revision": last_v.revision} if last_v else None),
            smoke_tests=[_smoke(s) for s in m.smoke_tests],
        ))
    rows.sort(key=lambda r: order_key(r["name"], r["display_name"], r["verdict"], r["violations"]))
    header = report_header(use, policy, catalog, ((r["name"], r["category"], r["verdict"], r["obligations"],
                                                   r["violations"]) for r in rows))
    return {**header, "models": rows}


# the model columns a report row is made of
ROW_COLUMNS = ("name", "display_name", "provider", "category", "license_id", "license_declared", "license_name",
               "license_link", "access", "source_kind", "repo_id", "revision", "local_path", "task", "architecture",
               "base_models", "base_model_relation", "datasets", "card", "facts", "unconfirmed")


def model_row(m: dict[str, Any], d: Any, *, files: list[dict[str, Any]], evidence: list[dict[str, Any]],
              verification: dict[str, Any] | None, smoke_tests: list[dict[str, Any]]) -> dict[str, Any]:
    """One model of the report, from its ``ROW_COLUMNS``, its decision, files, license
    evidence, last verification and smoke tests (the ORM path and ``fastread`` alike)."""
    lic = knowledge_base().get(m["license_id"]) if m["license_id"] else None
    bases = list(m["base_models"] or [])
    card = m["card"] or {}
    return {
        "name": m["name"],
        "display_name": m["display_name"],
        "provider": m["provider"],
        "category": m["category"],
        "license": m["license_id"] or m["license_declared"],
        "license_name": lic.name if lic else m["license_name"],
        "license_url": web_url((lic.url if lic else None) or m["license_link"]),
        "verdict": d.verdict,
        "license_verdict": d.license_verdict,
        "obligations": list(d.obligations),
        "reasons": [r.to_dict() for r in d.reasons],
        "flags": list(d.flags),
        "violations": list(d.violations),
        "waiver": d.waiver,
        "access": m["access"],
        "source": m["source_kind"],
        "repo_id": m["repo_id"],
        "revision": m["revision"],
        "local_path": m["local_path"],
        "hub_url": web_url(f"{hub_endpoint()}/{m['repo_id']}") if m["repo_id"] else None,
        "task": m["task"],
        "architecture": m["architecture"],
        "base_model": (bases or [None])[0],
        "base_models": bases,
        "base_model_relation": m["base_model_relation"],
        "lineage": list(d.lineage),
        "datasets": list(m["datasets"] or []),
        "card": {k: card[k] for k in sorted(card)} if card else {},
        "evidence": evidence,
        "fact_sources": dict(m["facts"] or {}),
        "unconfirmed": list(m["unconfirmed"] or []),
        "files": [{k: f[k] for k in ("path", "size", "sha256", "blob_id", "lfs")}
                  | {"quantization": _quantization(f["details"])} for f in files],
        "verification": verification,
        "smoke_test": smoke_tests[-1] if smoke_tests else None,
        "smoke_tests": smoke_tests,
    }


def order_key(name: str, display_name: str | None, verdict: str, violations: list[str]) -> tuple[Any, ...]:
    """The order of the table and of the sections: models needing attention first, then by name."""
    return (not (verdict in FAILING or violations), (display_name or name).lower(), name)


def report_header(use: Use, policy: Policy | None, catalog: str, ordered: Any) -> dict[str, Any]:
    """Everything in the report but its models, from each model's (name, category,
    verdict, obligations, violations) in the report's order."""
    by_category: Counter[str] = Counter()
    by_verdict: Counter[str] = Counter()
    obligations: Counter[str] = Counter()
    violating, attention = [], []
    for name, category, verdict, obliged, violations in ordered:
        by_category[category] += 1
        by_verdict[verdict] += 1
        obligations.update(obliged)
        if violations:
            violating.append(name)
        if verdict in FAILING or violations:
            attention.append(name)
    return {
        "fmcat_version": __version__,
        "generated_at": _iso(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)),
        "catalog": catalog,
        "use": use.to_dict(),
        "use_description": use.describe(),
        "policy": policy.path if policy else None,
        "disclaimer": DISCLAIMER,
        "summary": {
            "models": sum(by_category.values()),
            "by_category": {c: by_category.get(c, 0) for c in CATEGORIES},
            "by_verdict": {v: by_verdict.get(v, 0) for v in VERDICTS},
            "violations": len(violating),
            "violating_models": violating,
            "needs_attention": len(attention),
            "attention_models": attention,
            "obligations": [{"text": t, "models": n} for t, n in obligations.most_common()],
        },
    }


def _smoke(s: Any) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"status": s.status, "device": s.device, "device_name": s.device_name, "dtype": s.dtype,
            "at": _iso(s.finished_at or s.started_at), "reason": s.reason,
            "load_seconds": s.load_seconds, "inference_seconds": s.inference_seconds,
            "throughput": s.throughput, "throughput_unit": s.throughput_unit,
            "peak_memory_bytes": s.peak_memory_bytes, "versions": dict(s.versions or {})}


def web_url(value: str | None) -> str | None:
    """``value`` when it is an http(s) URL with a host, else None: anything else
    (``javascript:``, ``data:``, a relative path) is shown as text, never linked."""
    from urllib.parse import urlparse

    if not value:
        return None
    text = str(value).strip()
    try:
        parsed = urlparse(text)
    except ValueError:
        return None
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc or any(c in text for c in "\x00\n\r\t "):
        return None
    return text


# --- renderers -----------------------------------------------------------------


def _spliced(document: dict[str, Any], key: str, items: Any, depth: int) -> Iterator[str]:
    """``json.dumps(document, indent=2)`` with ``document[key]`` (the last key, a list
    at nesting ``depth``) written item by item: the same text, one item in memory."""
    head = json.dumps({**document, key: []}, indent=2, ensure_ascii=False)
    tail_at = head.rindex(f'"{key}": []')
    pad = " " * (2 * depth)
    first = True
    for item in items:
        text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n" + pad)
        yield (head[:tail_at] + f'"{key}": [\n' if first else ",\n") + pad + text
        first = False
    if first:
        yield head + "\n"
    else:
        closing = head[tail_at + len(f'"{key}": []'):]  # the brackets and braces after the list
        yield "\n" + " " * (2 * (depth - 1)) + "]" + closing + "\n"


def iter_json(header: dict[str, Any], rows: Any) -> Iterator[str]:
    return _spliced(header, "models", rows, 2)


def render_json(report: dict[str, Any]) -> str:
    return "".join(iter_json({k: v for k, v in report.items() if k != "models"}, report["models"]))


def _environment():  # type: ignore[no-untyped-def]
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("fmcat", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False, "separators": (",", ":")}
    return env


# Models whose full sections are also written as plain HTML (readable with
# scripts off and printable); larger catalogs are rendered from the embedded JSON.
STATIC_LIMIT = 500


def render_html(report: dict[str, Any]) -> str:
    env = _environment()
    chart = _chart(report["summary"])
    strings: dict[str, int] = {}
    compact = [_row(m, strings) for m in report["models"]]
    script = env.get_template("_report.js").render()  # fmcat's own code: no catalog data in it
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return env.get_template("report.html").render(
        script=script, script_hash=f"sha256-{digest}",
        report=report, chart=chart, data={"strings": list(strings), "rows": compact}, static=len(report["models"]) <= STATIC_LIMIT,
        static_limit=STATIC_LIMIT, verdicts=VERDICTS, categories=CATEGORIES,
    )


_DATA = "fmcat-embedded-data-goes-here"


def iter_html(header: dict[str, Any], rows: Any) -> Iterator[str]:
    """The HTML report piece by piece. A catalog small enough for static sections is
    rendered whole; a larger one is drawn by the page's script from the embedded data,
    written a row at a time (rows first, then the strings they refer to)."""
    if header["summary"]["models"] <= STATIC_LIMIT:
        yield render_html({**header, "models": list(rows)})
        return
    env = _environment()
    script = env.get_template("_report.js").render()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    page = env.get_template("report.html").render(
        script=script, script_hash=f"sha256-{digest}", report={**header, "models": []},
        chart=_chart(header["summary"]), data=_DATA, static=False, static_limit=STATIC_LIMIT,
        verdicts=VERDICTS, categories=CATEGORIES,
    )
    before, after = page.split(_htmlsafe(_DATA), 1)
    yield before + '{"rows":['
    strings: dict[str, int] = {}
    for i, m in enumerate(rows):
        yield ("," if i else "") + _htmlsafe(_row(m, strings))
    yield '],"strings":' + _htmlsafe(list(strings)) + "}" + after


def _htmlsafe(value: Any) -> str:
    """As jinja's ``|tojson`` writes data into a page (with the report's dumps settings)."""
    text = json.dumps(value, sort_keys=False, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")


def _row(m: dict[str, Any], strings: dict[str, int]) -> dict[str, Any]:
    """What the page's script needs per model. Obligation and clause texts repeat
    across thousands of models, so they are stored once in ``strings`` and
    referred to by index."""

    def ref(text: str) -> int:
        return strings.setdefault(text, len(strings))

    row = {k: m[k] for k in (
        "name", "display_name", "provider", "category", "license", "verdict", "flags", "violations",
        "source", "repo_id", "revision", "local_path", "base_models", "datasets", "evidence", "files",
        "verification", "smoke_test", "smoke_tests", "card",
    )}
    row["obligations"] = [ref(o) for o in m["obligations"]]
    row["reasons"] = [[ref(r["clause"]), ref(r["text"]), r["verdict"], r["quoted"]] for r in m["reasons"]]
    return row


def _chart(summary: dict[str, Any]) -> dict[str, Any]:
    """Bar geometry for the inline SVG summary chart."""
    bars = []
    groups = [("category", summary["by_category"]), ("verdict", summary["by_verdict"])]
    peak = max([1, *summary["by_category"].values(), *summary["by_verdict"].values()])
    y = 0
    for group, counts in groups:
        for label, count in counts.items():
            bars.append({"group": group, "label": label, "count": count, "y": y,
                         "width": round(300 * count / peak, 1)})
            y += 22
        y += 10
    return {"bars": bars, "height": y}


def render_cyclonedx(report: dict[str, Any]) -> str:
    return "".join(iter_cyclonedx({k: v for k, v in report.items() if k != "models"}, report["models"]))


def iter_cyclonedx(header: dict[str, Any], rows: Any) -> Iterator[str]:
    report = header
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": report["generated_at"],
            "tools": {"components": [{"type": "application", "name": "fmcat", "version": report["fmcat_version"]}]},
            "properties": [{"name": "fmcat:use", "value": report["use_description"]},
                           {"name": "fmcat:disclaimer", "value": report["disclaimer"]}]
            + ([{"name": "fmcat:policy", "value": report["policy"]}] if report["policy"] else []),
        },
    }
    return _spliced(bom, "components", (_component(m) for m in rows), 2)


def _component(m: dict[str, Any]) -> dict[str, Any]:
    kb = knowledge_base()
    comp: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": f"model:{m['name']}",
        "name": m["name"],
    }
    if m["revision"]:
        comp["version"] = m["revision"]
    if m["provider"]:
        comp["supplier"] = {"name": m["provider"]}
    if m["display_name"] and m["display_name"] != m["name"]:
        comp["description"] = m["display_name"]
    lic = kb.get(m["license"]) if m["license"] else None
    if lic is not None:
        comp["licenses"] = ([{"license": {"id": lic.spdx}}] if lic.spdx else
                            [{"license": {"name": lic.name, **({"url": lic.url} if lic.url else {})}}])
    elif m["license"]:
        comp["licenses"] = [{"license": {"name": m["license"]}}]
    hashed = [f for f in m["files"] if f["sha256"]]
    if hashed:
        comp["components"] = [
            {"type": "file", "bom-ref": f"model:{m['name']}:file:{f['path']}", "name": f["path"],
             "hashes": [{"alg": "SHA-256", "content": f["sha256"]}],
             **({"properties": [{"name": "fmcat:quantization", "value": f["quantization"]}]}
                if f["quantization"] else {})}
            for f in hashed
        ]
    if m["hub_url"]:
        comp["externalReferences"] = [{"type": "website", "url": m["hub_url"]}]
    params: dict[str, Any] = {}
    if m["task"]:
        params["task"] = m["task"]
    if m["architecture"]:
        params["architectureFamily"] = m["architecture"]
        params["modelArchitecture"] = m["architecture"]
    if m["datasets"]:
        params["datasets"] = [{"type": "dataset", "name": d} for d in m["datasets"]]
    if params:
        comp["modelCard"] = {"modelParameters": params}
    props = [{"name": "fmcat:category", "value": m["category"]},
             {"name": "fmcat:verdict", "value": m["verdict"]}]
    props += [{"name": "fmcat:obligation", "value": o} for o in m["obligations"]]
    props += [{"name": "fmcat:violation", "value": v} for v in m["violations"]]
    if m["verification"]:
        props.append({"name": "fmcat:verification", "value": m["verification"]["status"]})
    if m["smoke_test"]:
        props.append({"name": "fmcat:smoke-test", "value": m["smoke_test"]["status"]})
    for f in m["files"]:
        if not f["sha256"] and f["blob_id"]:
            props.append({"name": "fmcat:git-blob-id", "value": f"{f['path']} {f['blob_id']}"})
    comp["properties"] = props
    return comp


def _quantization(details: dict[str, Any] | None) -> str | None:
    """A GGUF file's quantisation (Q4_K_M, Q8_0, F16, ...), None for other files."""
    d = details or {}
    return str(d["quantization"]) if d.get("format") == "gguf" and d.get("quantization") else None
