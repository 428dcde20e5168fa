"""`fmcat add`, `pull`, `verify` and `sync`: models from the Hub and local folders."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..cli import State, clean, emit_json, json_option, pass_state


def _progress(as_json: bool) -> bool:
    from .. import settings

    quiet = click.get_current_context().find_object(State)
    return (sys.stderr.isatty() and not as_json and not settings.progress_disabled()
            and not (quiet and quiet.quiet))


def summarise_skipped(skipped: list[tuple[str, str]], *, named: bool) -> bool:
    """One line on stderr per kind of reason models were skipped (a command that did
    nothing never looks like one that checked everything). True when models named on
    the command line were skipped: the command then exits 1."""
    groups: dict[str, int] = {}
    for _, why in skipped:
        key = (why or "skipped").split(":", 1)[0]
        groups[key] = groups.get(key, 0) + 1
    for key, n in groups.items():
        hint = " — `fmcat add REPO` pins a Hub model" if key.startswith("not pinned") else ""
        click.echo(f"{n} model{'s' if n != 1 else ''} skipped: {key}{hint}", err=True)
    return bool(skipped) and named


def _plans(state: State, refs: list[str] | None, *, records: bool) -> list[Any]:
    """What pull and verify work on. A SQLite catalog is read without the ORM; a command
    that ``records`` an outcome imports it meanwhile in the background, so hashing
    starts at once. Otherwise the plans are read through a session."""
    from .. import fastread

    found = fastread.plans(state.location(), refs)
    if found is not None:
        if records:
            import threading

            threading.Thread(target=_warm_catalog, daemon=True).start()
        return found
    from ..weights import plan

    with state.session() as s:
        return plan(s, refs)


def _warm_catalog() -> None:
    import importlib

    for name in ("sqlalchemy.orm", "fmcat.db", "fmcat.models"):
        importlib.import_module(name)


def _one_by_one(plans: list[Any], device: str | None, *, dtype: str, trust_remote_code: bool, timeout: float,
                fetch: Any, echo_names: bool) -> Any:
    """The plain run: each model in turn on one device, in its own child."""
    from ..smoke import Runner, smoke_one
    from ..weights import verify as verify_one

    runner = Runner(timeout, plans)  # its fork server imports torch while the first model is pulled
    if device is None and any(not p.skip_reason for p in plans):
        device = runner.default_device()
    for p in plans:
        if echo_names:
            click.echo(f"{clean(p.name)} ...", err=True)
        outcome, check = smoke_one(p, device=device, dtype=dtype, trust_remote_code=trust_remote_code,
                                   runner=runner, fetch=fetch, verify=verify_one)
        yield p, outcome, check


def add_with_bases(state: State, infos: list[Any], *, follow: bool = True) -> tuple[list[Any], list[str]]:
    """Write what ``read_source`` read, with the base models Hub cards name (unless not
    ``follow``), in one transaction: all of it or none. Returns everything written and
    the lineage warnings."""
    from ..catalog import add_source

    lineage_warnings: list[str] = []
    if follow and any(i.entry.repo_id and i.entry.base_models for i in infos):
        from ..catalog import catalog_keys
        from ..sources import follow_bases

        with state.session() as s:
            known = catalog_keys(s)
        bases, lineage_warnings = follow_bases(infos, known)
        infos = [*infos, *bases]
    with state.session(write=True) as s:
        for info in infos:
            add_source(s, info)
    return infos, lineage_warnings


def _names(names: tuple[str, ...], all_: bool) -> list[str] | None:
    if bool(names) == all_:
        raise click.UsageError("name the models, or give --all")
    return None if all_ else list(names)


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--name", help="Catalog name (default: the repo id, or the folder's name).")
@click.option("--license", "license_", metavar="ID", help="Record this license (overrides what the source says).")
@click.option("--revision", help="Branch, tag or commit to pin (same as SOURCE@REV).")
@click.option("--api-only", is_flag=True, help="A hosted model with no weights: SOURCE is its name.")
@click.option("--provider", help="Provider of an --api-only model.")
@click.option("--display-name", help="Display name (default: the name).")
@click.option("--no-follow-base", is_flag=True,
              help="Do not add the base models a Hub card names (their terms then stay unresolved).")
@json_option
@pass_state
def add(state: State, sources: tuple[str, ...], name: str | None, license_: str | None, revision: str | None,
        api_only: bool, provider: str | None, display_name: str | None, no_follow_base: bool,
        as_json: bool) -> None:
    """Register models from the Hub (pinned to a commit), a local folder, or a provider's API.

    SOURCE is org/name[@rev], hf://org/name[@rev], a Hub URL, or a directory.
    HF_ENDPOINT, HF_TOKEN and HF_HOME are honoured.

    \b
    Example:
      fmcat add meta-llama/Llama-2-7b-hf@main
      fmcat add ./mirror/tiny-llama --name acme/tiny-llama
      fmcat add --api-only --provider OpenAI openai/gpt-4o --license provider-terms
    """
    from ..errors import FmcatError
    from ..sources import read_source

    if name and len(sources) > 1:
        raise click.UsageError("--name applies to one SOURCE only")

    infos, failures = [], []
    for src in sources:
        try:
            infos.append(read_source(src, name=name, license_override=license_, revision=revision, api=api_only,
                                     provider=provider, display_name=display_name))
        except FmcatError as exc:
            if len(sources) == 1:
                raise
            failures.append((src, str(exc)))  # one bad source among many: the others are still added
    infos, lineage_warnings = add_with_bases(state, infos, follow=not no_follow_base)
    out = []
    for w in lineage_warnings:
        click.echo(f"warning: {clean(w)}", err=True)
    for info in infos:
        entry = info.entry
        for w in info.warnings:
            click.echo(f"warning: {clean(w)}", err=True)
        out.append({
            "name": entry.name, "source": entry.source_kind, "repo_id": entry.repo_id,
            "revision": entry.revision, "local_path": entry.local_path,
            "license": entry.license_id or entry.license_declared, "category": entry.category,
            "files": len(entry.files or ()), "license_conflict": info.resolution.conflict,
            "license_doubt": info.resolution.doubt,
            "base_models": list(entry.base_models), "added_as_base_of": _base_of(entry),
        })
    out += [{"name": None, "source_given": src, "status": "failed", "error": why} for src, why in failures]
    if as_json:
        emit_json(out)
        if failures:
            raise SystemExit(1)
        return
    for src, why in failures:
        click.echo(f"{clean(src)}: FAILED - {clean(why)}", err=True)
    for o in out:
        if o.get("status") == "failed":
            continue
        pin = f"@{o['revision'][:12]}" if o["revision"] else ""
        base_of = f" (base model of {clean(o['added_as_base_of'])})" if o["added_as_base_of"] else ""
        click.echo(f"Added {clean(o['name'])}{pin}: {o['license'] or 'no license'} ({o['category']}), "
                   f"{o['files']} files{base_of}")
        if o["license_conflict"]:
            click.echo(f"  license conflict: {clean(o['license_conflict'])}", err=True)
        if o["license_doubt"]:
            click.echo(f"  {clean(o['license_doubt'])}", err=True)
    if failures:
        raise SystemExit(1)


def _base_of(entry: Any) -> str | None:
    note = entry.sources.get("lineage", "")
    prefix = "added as a base model of "
    return note[len(prefix):] if note.startswith(prefix) else None


@click.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every model with weights.")
@click.option("--quant", metavar="TYPE|FILE",
              help="Of a GGUF repo's quantisations, take this one (Q4_K_M, Q8_0, ... or a file name). "
                   "Default: one already pulled, else Q4_K_M, Q4_K_S, Q5_K_M, Q4_0, ... (the first present).")
@json_option
@pass_state
def pull(state: State, names: tuple[str, ...], all_: bool, quant: str | None, as_json: bool) -> None:
    """Download the pinned weights into the Hub cache (resumable; safetensors preferred).

    \b
    Example:
      fmcat pull acme/tiny-llama
      fmcat pull bartowski/Llama-3.2-1B-Instruct-GGUF --quant Q4_K_M
    """
    from dataclasses import replace

    from ..weights import pull as pull_one

    refs = _names(names, all_)
    plans = _plans(state, refs, records=False)
    if quant:
        plans = [replace(p, quant=quant) for p in plans]
    if refs is not None:
        from ..errors import InvalidInput

        for p in plans:
            if p.skip_reason and p.source == "hub":
                raise InvalidInput(f"{p.name} is {p.skip_reason}")
    results = [pull_one(p, progress=_progress(as_json)) for p in plans]
    failed = any(r.status == "failed" for r in results)
    failed |= summarise_skipped([(r.model, r.reason or "") for r in results if r.status == "skipped"],
                                named=refs is not None)
    if as_json:
        emit_json([r.to_dict() for r in results])
        if failed:
            raise SystemExit(1)
        return
    for r in results:
        if r.status == "skipped":
            continue
        elif r.status == "failed":
            click.echo(f"{clean(r.model)}: FAILED - {clean(r.reason)}")
        else:
            extra = f"; {len(r.skipped_files)} file(s) not taken (other formats or quantisations)" \
                if r.skipped_files else ""
            click.echo(f"{clean(r.model)}: {r.files} files in {r.path}{extra}")
    if failed:
        raise SystemExit(1)


@click.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every model with recorded files.")
@json_option
@pass_state
def verify(state: State, names: tuple[str, ...], all_: bool, as_json: bool) -> None:
    """Check every file against its recorded size and hash, safetensors headers, and pickle safety.

    Exit 1 when any file is missing, altered or unsafe. Nothing is ever unpickled.

    \b
    Example:
      fmcat verify acme/tiny-llama
      fmcat verify --all --json
    """
    from ..weights import record_verification
    from ..weights import verify as verify_one

    refs = _names(names, all_)
    plans = _plans(state, refs, records=True)
    results, skipped = [], []
    for p in plans:
        r = verify_one(p)
        if r is None:
            skipped.append((p.name, p.skip_reason))
            continue
        with state.session(write=True) as s:
            record_verification(s, r)
        results.append(r)
    if as_json:
        emit_json([r.to_dict() for r in results]
                  + [{"model": n, "status": "skipped", "summary": why} for n, why in skipped])
    else:
        for r in results:
            click.echo(f"{clean(r.model)}: {r.status.upper()} - {clean(r.summary)}")
            for f in r.files:
                if f.status not in ("ok", "skipped"):
                    click.echo(f"  {f.status}: {clean(f.path)}: {clean(f.reason)}")
        for n, why in skipped:
            if refs is not None:
                click.echo(f"{clean(n)}: skipped ({why})", err=True)
    named_skipped = summarise_skipped(skipped, named=refs is not None)
    if any(r.status == "failed" for r in results) or named_skipped:
        raise SystemExit(1)


@click.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every Hub model.")
@click.option("--update", is_flag=True, help="Move the pin to the latest revision and record its metadata.")
@json_option
@pass_state
def sync(state: State, names: tuple[str, ...], all_: bool, update: bool, as_json: bool) -> None:
    """Compare the pinned revision with the Hub's latest: license, gating and file changes.

    \b
    Example:
      fmcat sync acme/tiny-llama
      fmcat sync --all --update
    """
    from ..weights import plan, record_sync, sync_read

    refs = _names(names, all_)
    with state.session() as s:
        every = plan(s, refs)
    plans = [p for p in every if p.source == "hub" and p.revision]
    skipped = [(p.name, p.skip_reason or "not a Hub model: nothing to sync")
               for p in every if not (p.source == "hub" and p.revision)]
    read = [sync_read(p) for p in plans]
    if refs is not None and len(every) == 1 and read and read[0][0].status == "failed":
        from ..errors import FmcatError

        raise FmcatError(read[0][0].reason or "sync failed")  # one model: it could not run, exit 2
    results = []
    with state.session(write=True) as s:
        for result, info in read:
            results.append(record_sync(s, result, info, update=update))
    failed = any(r.status == "failed" for r in results)
    failed |= summarise_skipped(skipped, named=refs is not None)
    if as_json:
        emit_json([r.to_dict() for r in results]
                  + [{"model": n, "status": "skipped", "reason": why} for n, why in skipped])
        if failed:
            raise SystemExit(1)
        return
    for r in results:
        if r.status == "failed":
            click.echo(f"{clean(r.model)}: FAILED - {clean(r.reason)}")
            continue
        head = f"{clean(r.model)}: pinned {r.pinned[:12] if r.pinned else '-'}, latest {r.latest[:12] if r.latest else '-'}"
        click.echo(head + ("" if r.changes else " (no changes)") + (" - pin moved" if r.updated else ""))
        for c in r.changes:
            click.echo(f"  {clean(c)}")
    if failed:
        raise SystemExit(1)


@click.command("smoke-test")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every model in the catalog (API-only ones are skipped).")
@click.option("--gpu", is_flag=True, help="Run on CUDA; exit 2 if there is none.")
@click.option("--device", metavar="cpu|cuda|cuda:N", help="Where to run (default: cuda if present, else cpu).")
@click.option("--dtype", type=click.Choice(["auto", "float32", "float16", "bfloat16"]), default="auto",
              show_default=True, help="Weights dtype (auto: bf16/fp16 on CUDA, fp32 on CPU).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Seconds each model may take before its process is killed.")
@click.option("--trust-remote-code", is_flag=True, help="Allow models whose repository code must run (recorded).")
@click.option("--devices", metavar="LIST",
              help="Run models in parallel, one child per device: cuda:0,cuda:1,... or all (cpu,cpu also works).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="One Ray task per model on a Ray cluster (extra fmcat[ray]): auto, HOST:PORT, ray://HOST:10001, "
                   "or nothing for a local Ray instance. Only this process writes the catalog.")
@json_option
@pass_state
def smoke_test(state: State, names: tuple[str, ...], all_: bool, gpu: bool, device: str | None, dtype: str,
               timeout: float, trust_remote_code: bool, devices: str | None, ray_address: str | None,
               as_json: bool) -> None:
    """Pull, verify and run each model once (one small inference), and record the evidence.

    Each model runs in its own process: a crash, a hang past --timeout or running
    out of memory is recorded as failed and the next model runs. Exit 1 if any failed.

    \b
    Example:
      fmcat smoke-test --all --gpu
      fmcat smoke-test acme/tiny-llama --device cpu --json
      fmcat smoke-test --all --devices cuda:0,cuda:1
      fmcat smoke-test --all --gpu --ray auto
    """
    from pathlib import Path

    from ..smoke import record_smoke, resolve_device
    from ..weights import pull as pull_one
    from ..weights import record_verification
    from ..weights import verify as verify_one

    refs = _names(names, all_)
    if devices and ray_address:
        raise click.UsageError("--devices and --ray are two ways to spread the work: give one")
    results: Any
    if ray_address:
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            from ..errors import FmcatError

            raise FmcatError("--ray needs Ray", hint="pip install 'fmcat[ray]' (and the same on every worker)")
        where = "cuda" if gpu or (device or "").startswith("cuda") else "cpu"  # the workers have the devices
        if device and device not in ("cpu", "cuda"):
            raise click.UsageError("with --ray, --device is cpu or cuda: Ray gives each task its own GPU")
    else:
        where = resolve_device(gpu, device)  # before anything is read or written
    spread = __import__("fmcat.fleet", fromlist=["parse_devices"]).parse_devices(devices) if devices else None
    plans = _plans(state, refs, records=True)  # without the ORM on SQLite: the fork server starts sooner
    progress = _progress(as_json)

    def fetch(p: Any) -> Path:
        if p.source == "local":
            return Path(p.local_path)
        pulled = pull_one(p, progress=progress and not spread)
        if pulled.status == "failed":
            from ..errors import FmcatError

            raise FmcatError(pulled.reason or "pull failed")
        return Path(pulled.path)

    if ray_address:
        from ..fleet import run_on_ray

        results = run_on_ray(plans, ray_address, device=where, dtype=dtype, trust_remote_code=trust_remote_code,
                             timeout=timeout)
    elif spread:
        from ..fleet import run_on_devices

        results = run_on_devices(plans, spread, dtype=dtype, trust_remote_code=trust_remote_code, timeout=timeout,
                                 fetch=fetch, verify=verify_one)
    else:
        results = _one_by_one(plans, where, dtype=dtype, trust_remote_code=trust_remote_code, timeout=timeout,
                              fetch=fetch, echo_names=not as_json and not state.quiet)
    tty = sys.stderr.isatty() and not as_json and not state.quiet and bool(spread or ray_address)
    outcomes = []
    for p, outcome, check in results:
        with state.session(write=True) as s:  # the driver alone writes, as each model finishes
            if check is not None:
                record_verification(s, check)
            record_smoke(s, outcome)
        outcomes.append(outcome)
        if tty:
            failed_so_far = sum(o.status == "failed" for o in outcomes)
            click.echo(f"\r{len(outcomes)}/{len(plans)} done, {failed_so_far} failed", err=True,
                       nl=len(outcomes) == len(plans))
    if spread or ray_address:
        order = {p.name: i for i, p in enumerate(plans)}
        outcomes.sort(key=lambda o: order.get(o.model, 0))
    if as_json:
        emit_json([o.to_dict() for o in outcomes])
    else:
        from ..cli import echo_table

        nodes = any(o.node for o in outcomes)
        echo_table([[clean(o.model), o.status, o.kind or "-", o.device or "-",
                     f"{o.load_seconds:.2f}" if o.load_seconds is not None else "-",
                     f"{o.inference_seconds:.2f}" if o.inference_seconds is not None else "-",
                     f"{o.throughput:.1f} {o.throughput_unit}" if o.throughput is not None else "-",
                     f"{o.peak_memory_bytes / 2**20:.0f} MiB" if o.peak_memory_bytes else "-",
                     *([clean(o.node or "-")] if nodes else [])]
                    for o in outcomes],
                   ["model", "status", "kind", "device", "load s", "infer s", "throughput", "peak mem",
                    *(["node"] if nodes else [])])
        for o in outcomes:
            if o.reason:
                click.echo(f"{clean(o.model)}: {o.status}: {clean(o.reason)}")
    named_skipped = summarise_skipped([(o.model, o.reason or "") for o in outcomes if o.status == "skipped"],
                                      named=refs is not None)
    if any(o.status == "failed" for o in outcomes) or named_skipped:
        raise SystemExit(1)
