"""`fmcat report`: the license report as HTML, JSON or a CycloneDX ML-BOM."""

from __future__ import annotations

from typing import Any

import click

from ..cli import State, clean, emit_json, json_option, pass_state
from .options import build_use, use_options


@click.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Where to write the report.")
@click.option("--format", "fmt", type=click.Choice(["html", "json", "cyclonedx"]), default="html",
              show_default=True, help="HTML for reviewers, JSON for tools, CycloneDX 1.6 ML-BOM for auditors.")
@use_options
@json_option
@pass_state
def report(state: State, output: str, fmt: str, as_json: bool, **params: Any) -> None:
    """Write the license report for the whole catalog under an intended use and policy.

    The HTML report is one self-contained file (no network), readable without
    scripts, printable, with a sortable and filterable table.

    \b
    Example:
      fmcat report -o report.html --commercial --serve
      fmcat report -o bom.json --format cyclonedx --policy policy.toml
    """
    from ..exporting import write_atomic
    from ..report import build_report, render_cyclonedx, render_html, render_json

    use, policy = build_use(params)
    with state.session() as s:
        data = build_report(s, use, policy, state.location())
    text = {"html": render_html, "json": render_json, "cyclonedx": render_cyclonedx}[fmt](data)
    write_atomic(output, text)
    summary = data["summary"]
    if as_json:
        emit_json({"path": output, "format": fmt, "models": summary["models"],
                   "bytes": len(text.encode()), "by_verdict": summary["by_verdict"],
                   "violations": summary["violations"]})
        return
    click.echo(f"Wrote {clean(output)} ({fmt}, {summary['models']} models, "
               f"{summary['needs_attention']} need attention).")
