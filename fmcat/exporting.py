"""Rendering catalog entries for `fmcat export`, and writing files atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import InvalidInput


def render_entries(entries: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(e, ensure_ascii=False, sort_keys=False) + "\n" for e in entries)
    if fmt == "json":
        return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        import yaml

        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        return yaml.dump({"models": entries}, Dumper=dumper, sort_keys=False, allow_unicode=True)
    raise InvalidInput(f"unknown export format {fmt!r}")


def iter_rendered(entries: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """``render_entries`` piece by piece: the same text, never all of it at once."""
    if fmt not in ("jsonl", "json", "yaml"):
        raise InvalidInput(f"unknown export format {fmt!r}")
    if fmt == "jsonl":
        for e in entries:
            yield json.dumps(e, ensure_ascii=False, sort_keys=False) + "\n"
        return
    if fmt == "json":
        first = True
        for e in entries:
            text = json.dumps(e, indent=2, ensure_ascii=False)
            yield ("[\n" if first else ",\n") + "  " + text.replace("\n", "\n  ")
            first = False
        yield "[]\n" if first else "\n]\n"
        return
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    first = True
    batch: list[dict[str, Any]] = []

    def dump() -> str:
        # a block sequence under `models:` is written at the key's own indentation, so the
        # list's items, dumped a few hundred at a time, are the same text as in one document
        return yaml.dump(batch, Dumper=dumper, sort_keys=False, allow_unicode=True)

    for e in entries:
        batch.append(e)
        if len(batch) == 500:
            yield ("models:\n" if first else "") + dump()
            first, batch = False, []
    if batch:
        yield ("models:\n" if first else "") + dump()
        first = False
    if first:
        yield "models: []\n"


def write_atomic(path: str | os.PathLike[str], text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces, as they come) to ``path`` through a temporary file
    and a rename: the file is whole or untouched."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                if isinstance(text, str):
                    fh.write(text)
                else:
                    for piece in text:
                        fh.write(piece)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InvalidInput(f"cannot write {target}: {exc.strerror}", path=str(target)) from None
