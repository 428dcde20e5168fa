"""The license report: HTML (checked in a real headless Chromium), JSON and a
CycloneDX 1.6 ML-BOM validated against its schema."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
XSS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


def hostile_entry() -> dict:
    return {
        "name": f"evil/{XSS[0]}",
        "display_name": f"Evil {XSS[1]}",
        "provider": f"{XSS[0]} Inc {XSS[1]}",
        "license": "mit",
        "card": {"description": f"card {XSS[0]} {XSS[1]}", "model_name": XSS[1]},
        "datasets": [XSS[1]],
    }


def write_report(fmcat, tmp_path, *args, name="r.html") -> Path:
    out = tmp_path / name
    fmcat("report", "-o", str(out), *args)
    return out


def test_html_is_self_contained_and_escapes_everything(initialised, tmp_path):
    initialised("import", "-", input=json.dumps(hostile_entry()) + "\n")
    html = write_report(initialised, tmp_path).read_text()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # no resource is loaded from anywhere (links to license texts and model pages are fine)
    assert not re.search(r"""(src|srcset|poster|data)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", html, re.I)
    assert not re.search(r"<link\b[^>]*rel=[\"']?stylesheet", html, re.I)
    assert "@import" not in html
    assert "not legal advice" in html and "fmcat 0." in html and "Intended use evaluated" in html


def test_json_report_round_trips_with_documented_keys(initialised, tmp_path):
    data = json.loads(write_report(initialised, tmp_path, "--format", "json", name="r.json").read_text())
    assert {"fmcat_version", "generated_at", "catalog", "use", "use_description", "policy", "disclaimer",
            "summary", "models"} <= set(data)
    assert data["summary"]["models"] == len(data["models"]) == 27
    assert set(data["summary"]["by_verdict"]) == {"allowed", "conditional", "needs-permission", "prohibited", "unknown"}
    model = data["models"][0]
    assert {"name", "provider", "category", "license", "verdict", "obligations", "reasons", "violations",
            "repo_id", "revision", "verification", "smoke_test", "evidence", "files", "lineage",
            "datasets"} <= set(model)


def test_cyclonedx_passes_schema_validation(initialised, tmp_path, fmcat):
    entry = {"name": "acme/tiny", "license": "apache-2.0", "repo_id": "acme/tiny", "revision": "a" * 40,
             "task": "text-generation", "architecture": "LlamaForCausalLM", "datasets": ["acme/data"],
             "files": [{"path": "model.safetensors", "size": 4, "sha256": "b" * 64, "lfs": True},
                       {"path": "config.json", "size": 2, "blob_id": "c" * 40}]}
    fmcat("import", "-", input=json.dumps(entry) + "\n")
    text = write_report(fmcat, tmp_path, "--format", "cyclonedx", name="bom.json").read_text()
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error
    bom = json.loads(text)
    comps = {c["name"]: c for c in bom["components"]}
    assert len(comps) == 28 and all(c["type"] == "machine-learning-model" for c in comps.values())
    tiny = comps["acme/tiny"]
    assert tiny["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert tiny["components"][0]["hashes"] == [{"alg": "SHA-256", "content": "b" * 64}]
    assert tiny["modelCard"]["modelParameters"]["task"] == "text-generation"
    assert {"name": "fmcat:verdict", "value": "allowed"} in tiny["properties"]
    llama = comps["meta-llama/Llama-2-7b-hf"]
    assert llama["licenses"][0]["license"]["name"] == "Llama 2 Community License Agreement"
    assert llama["externalReferences"][0]["url"].endswith("/meta-llama/Llama-2-7b-hf")


def test_policy_violations_are_marked_and_counted(initialised, tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text('[rules]\nallow-categories = ["open-source", "commercial"]\n')
    data = json.loads(write_report(initialised, tmp_path, "--format", "json", "--policy", str(policy),
                                   name="r.json").read_text())
    custom = {m["name"] for m in data["models"] if m["category"] == "custom"}
    flagged = {m["name"] for m in data["models"] if m["violations"]}
    assert custom and flagged >= custom and data["summary"]["violations"] == len(flagged)
    html = write_report(initialised, tmp_path, "--policy", str(policy)).read_text()
    assert f'<td id="count-violations">{len(flagged)}</td>' in html
    assert html.count("Policy violation: category") >= len(custom)


# --- in a real browser ------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        yield b
        b.close()


def open_page(browser, path: Path):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    events = {"console": [], "requests": [], "dialogs": []}
    page.on("console", lambda m: events["console"].append((m.type, m.text)) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: events["console"].append(("pageerror", str(e))))
    page.on("request", lambda r: events["requests"].append(r.url))
    page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_selector("#models tbody tr")
    return page, events


def test_browser_renders_filters_and_loads_nothing(initialised, tmp_path, browser):
    path = write_report(initialised, tmp_path)
    page, events = open_page(browser, path)
    rows = page.locator("#models tbody tr")
    assert rows.count() == 27
    page.fill("#filter", "llama")
    names = rows.locator("td:first-child").all_inner_texts()
    assert len(names) == 3 and all("llama" in n.lower() for n in names)
    page.fill("#filter", "")
    page.select_option("#f-verdict", "unknown")
    unknown = [t.split("\n")[0] for t in rows.locator("td:first-child").all_inner_texts()]
    assert unknown == ["Dolly v2", "GLIDE"]  # no license; a base model not in the catalog
    page.select_option("#f-verdict", "")
    page.click("#models th[data-key=verdict]")
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert events["console"] == []
    assert [u for u in events["requests"] if not u.startswith("file:")] == []
    page.close()


def test_hostile_strings_render_as_text_in_the_browser(initialised, tmp_path, browser):
    initialised("import", "-", input=json.dumps(hostile_entry()) + "\n")
    path = write_report(initialised, tmp_path)
    page, events = open_page(browser, path)
    page.fill("#filter", "evil")
    cell = page.locator("#models tbody tr td:first-child").first
    assert XSS[0] in cell.inner_text() and XSS[1] in cell.inner_text()
    cell.click()
    body = page.locator("body").inner_text()
    assert f"card {XSS[0]} {XSS[1]}" in body
    assert page.locator("img").count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2  # the data and fmcat's own
    assert events["dialogs"] == [] and events["console"] == []
    page.close()


def test_large_catalog_page_draws_details_from_the_embedded_data(initialised, tmp_path, browser, monkeypatch):
    import fmcat.report

    monkeypatch.setattr(fmcat.report, "STATIC_LIMIT", 0)  # as for catalogs past the static limit
    initialised("import", "-", input=json.dumps(hostile_entry()) + "\n")
    html = write_report(initialised, tmp_path, "--mau", "800000000").read_text()
    assert 'id="model-0"' not in html
    page, events = open_page(browser, tmp_path / "r.html")
    page.fill("#filter", "Llama 2")
    page.locator("#models tbody tr").first.click()
    detail = page.locator("#detail")
    assert detail.is_visible()
    text = detail.inner_text()
    assert "needs-permission" in text and "700 million monthly active users" in text
    page.fill("#filter", "evil")
    page.locator("#models tbody tr").first.click()
    assert XSS[0] in detail.inner_text() and page.locator("img").count() == 0
    assert events["dialogs"] == [] and events["console"] == []
    page.close()
