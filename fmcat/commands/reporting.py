"""`fmcat report`: the license report as HTML, JSON or a CycloneDX ML-BOM."""

from __future__ import annotations

from typing import Any

import click

from ..cli import State, clean, emit_json, json_option, pass_state
from .options import build_use, use_options

FORMATS = {".html": "html", ".htm": "html", ".cdx.json": "cyclonedx", ".json": "json"}


def format_for(output: str, fmt: str | None) -> str:
    """--format, else the file's extension (.html, .json, .cdx.json); stdout (-) is HTML
    unless --format says otherwise; any other extension is refused, never guessed."""
    if fmt:
        return fmt
    if output == "-":
        return "html"
    name = output.lower()
    for suffix, found in FORMATS.items():
        if name.endswith(suffix):
            return found
    from pathlib import PurePath

    from ..errors import InvalidInput

    suffix = PurePath(output).suffix
    if not suffix:
        return "html"
    raise InvalidInput(f"cannot tell the report format from {suffix!r}",
                       hint="name the file .html, .json or .cdx.json, or give --format html|json|cyclonedx")


@click.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE",
              help="Where to write the report (- for standard output).")
@click.option("--format", "fmt", type=click.Choice(["html", "json", "cyclonedx"]), default=None,
              help="HTML for reviewers, JSON for tools, CycloneDX 1.6 ML-BOM for auditors "
                   "(default: from the file's extension, .html, .json or .cdx.json).")
@use_options
@json_option
@pass_state
def report(state: State, output: str, fmt: str | None, as_json: bool, **params: Any) -> None:
    """Write the license report for the whole catalog under an intended use and policy.

    The HTML report is one self-contained file (no network), readable without
    scripts, printable, with a sortable and filterable table.

    \b
    Example:
      fmcat report -o report.html --commercial --serve
      fmcat report -o bom.cdx.json --policy policy.toml
      fmcat report -o - --format json | jq .summary
    """
    from ..exporting import write_atomic
    from ..fastread import report_parts
    from ..report import iter_cyclonedx, iter_html, iter_json

    fmt = format_for(output, fmt)
    if as_json and output == "-":
        raise click.UsageError("--json describes the written report: it cannot share stdout with -o -")
    use, policy = build_use(params)
    parts = report_parts(state.location(), use, policy, state.location())  # SQLite: streamed, any size
    if parts is None:
        from ..report import build_report

        with state.session() as s:
            data = build_report(s, use, policy, state.location())
        parts = ({k: v for k, v in data.items() if k != "models"}, data["models"])
    header, rows = parts
    written = 0

    def pieces() -> Any:
        nonlocal written
        render = {"html": iter_html, "json": iter_json, "cyclonedx": iter_cyclonedx}[fmt]
        for piece in render(header, rows):
            written += len(piece.encode())
            yield piece

    if output == "-":
        for piece in pieces():
            click.echo(piece, nl=False)
    else:
        write_atomic(output, pieces())
    summary = header["summary"]
    if as_json:
        emit_json({"path": output, "format": fmt, "models": summary["models"],
                   "bytes": written, "by_verdict": summary["by_verdict"],
                   "violations": summary["violations"], "needs_attention": summary["attention_models"]})
        return
    n = summary["needs_attention"]
    click.echo(f"Wrote {clean('standard output' if output == '-' else output)} ({fmt}, {summary['models']} models, "
               f"{n} need{'s' if n == 1 else ''} attention).", err=output == "-")
