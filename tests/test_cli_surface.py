"""The command line's surface: fast imports, and help for every command."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from fmcat.cli import cli

HEAVY = ("torch", "transformers", "diffusers", "sqlalchemy", "alembic", "huggingface_hub", "jinja2",
         "yaml", "license_expression", "platformdirs")


def test_importing_the_cli_leaves_heavy_modules_out():
    code = (
        "import sys, json, fmcat.cli; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_help_runs_without_touching_heavy_modules():
    code = (
        "import sys, json\n"
        "from click.testing import CliRunner\n"
        "from fmcat.cli import cli\n"
        "r = CliRunner().invoke(cli, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def test_every_command_has_a_summary_and_an_example(fmcat):
    seen = []
    for path, cmd in _commands(cli):
        seen.append(" ".join(path))
        assert cmd.get_short_help_str(limit=200).strip(), f"{path} has no summary"
        out = fmcat(*path, "--help").stdout
        assert "Example:" in out, f"fmcat {' '.join(path)} --help has no example"
        assert "  fmcat " in out.split("Example:", 1)[1], f"{path}: example does not show fmcat"
    assert {"init", "list", "show", "remove", "import", "export", "db upgrade", "db current",
            "check-license", "licenses"} <= set(seen)


def test_commands_that_print_results_accept_json():
    for path, cmd in _commands(cli):
        if isinstance(cmd, click.Group):
            continue
        assert any(o.name == "as_json" for o in cmd.params), f"fmcat {' '.join(path)} lacks --json"


def test_unexpected_errors_are_one_line_without_traceback(fmcat, monkeypatch):
    import fmcat.catalog as catalog_module

    def boom(*a, **k):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(catalog_module, "list_models", boom)
    result = fmcat("list", expect=2)
    assert result.stderr.strip() == (
        "Error: unexpected RuntimeError: disk on fire (set FMCAT_DEBUG=1 for the traceback)"
    )


def test_version(fmcat):
    from fmcat import __version__

    assert __version__ in fmcat("--version").stdout
