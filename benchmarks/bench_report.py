"""The HTML report at scale: 10,000 models, generation time, file size, and the
time to first render in headless Chromium (Debian's, if installed)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench_licenses import N, imported_catalog
from common import Row, fmcat_exe, timed


def _first_render(path: Path) -> float | None:
    chromium = shutil.which("chromium")
    if not chromium:
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        page = browser.new_page()
        t0 = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_selector("#models tbody tr")
        elapsed = time.perf_counter() - t0
        t1 = time.perf_counter()
        page.fill("#filter", "model-00042")
        page.wait_for_function("document.querySelectorAll('#models tbody tr').length < 100")
        filter_time = time.perf_counter() - t1
        browser.close()
    return elapsed, filter_time


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        env, _ = imported_catalog(tmp)
        out = Path(tmp) / "report.html"
        t_gen, _ = timed([fmcat_exe(), "report", "-o", str(out), "--commercial", "--distribute"], env)
        size_mb = out.stat().st_size / 1e6
        render = _first_render(out)
    rows = [
        Row("report", f"fmcat report, HTML, {N:,} models: generation", t_gen, "s", target="< 10 s", met=t_gen < 10),
        Row("report", f"HTML report size, {N:,} models", size_mb, "MB", target="< 15 MB", met=size_mb < 15),
    ]
    if render is not None:
        rows.append(Row("report", "first render in headless Chromium", render[0], "s", target="< 3 s",
                        met=render[0] < 3))
        rows.append(Row("report", "filter 10,000 rows in the page", render[1], "s"))
    return rows
