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
    out: list[str] = []

    def dump(entry: dict[str, Any]) -> str:
        # a block sequence under `models:` is written at the key's own indentation, so each
        # item dumped on its own is the same text as in one document (entries share no
        # objects, so there are no anchors to carry across)
        return yaml.dump([entry], Dumper=dumper, sort_keys=False, allow_unicode=True)

    fast = FastYaml()
    for e in entries:
        out.append(fast.item(e) or dump(e))
        if len(out) == 500:
            yield ("models:\n" if first else "") + "".join(out)
            first, out = False, []
    if out:
        yield ("models:\n" if first else "") + "".join(out)
        first = False
    if first:
        yield "models: []\n"


class FastYaml:
    """PyYAML's block-style text for the common case, written directly: PyYAML spends
    ~40 µs an entry in its Python representer. ``item`` returns exactly what
    ``yaml.dump([entry], Dumper=CSafeDumper, sort_keys=False, allow_unicode=True)``
    writes, or None for an entry holding anything it does not handle the same way
    (floats, empty strings, non-ASCII, strings PyYAML would quote or fold, nested
    lists, long keys): PyYAML then writes that entry. A test compares the two on
    generated and hostile entries."""

    WIDTH = 80  # PyYAML's default best width: a plain scalar breaks at a space past it

    def __init__(self) -> None:
        import re

        from yaml.resolver import Resolver

        # what may be a plain scalar: no indicator first, no ': ', ' #', quotes, or
        # leading, trailing or doubled spaces; the resolver then must read it back as a string
        self._word = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./+-]*\Z").match
        self._words = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./+-]*(?: [A-Za-z0-9_./+-]+)+\Z").match
        self._implicit = {first: [regexp for _, regexp in (*pairs, *Resolver.yaml_implicit_resolvers.get(None, ()))]
                          for first, pairs in Resolver.yaml_implicit_resolvers.items() if first is not None}
        self._wildcard = [regexp for _, regexp in Resolver.yaml_implicit_resolvers.get(None, ())]
        self._plain: dict[str, bool] = {}

    def _is_plain(self, text: str) -> bool:
        known = self._plain.get(text)
        if known is None:
            known = bool(self._word(text) or self._words(text)) and not any(
                regexp.match(text) for regexp in self._implicit.get(text[0], self._wildcard))
            if len(self._plain) < 100_000:
                self._plain[text] = known
        return known

    def _scalar(self, value: Any, column: int) -> str | None:
        """``value`` as PyYAML writes it starting at ``column``, or None."""
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        kind = type(value)
        if kind is int:
            return int.__repr__(value)
        if kind is str and value and self._is_plain(value):
            if " " in value and column + len(value) > self.WIDTH:
                return None  # PyYAML would fold it over lines
            return value
        return None

    def _key(self, key: Any) -> str | None:
        if type(key) is str and key and len(key) <= 128 and " " not in key and self._is_plain(key):
            return key
        return None

    def _mapping(self, data: dict[str, Any], indent: int, lines: list[str], first_prefix: str) -> bool:
        """Append the block mapping's lines; the first one starts with ``first_prefix``
        (a list item's dash), the rest at ``indent``."""
        pad = " " * indent
        prefix = first_prefix
        for key, value in data.items():
            k = self._key(key)
            if k is None:
                return False
            head = f"{prefix}{k}:"
            prefix = pad
            kind = type(value)
            if kind is dict or kind is list:
                if not self._fresh(value):
                    return False
                if not value:
                    lines.append(head + (" {}" if kind is dict else " []"))
                    continue
                lines.append(head)
                # a nested mapping is indented; a list under a key starts at the key's own column
                nested = (self._mapping(value, indent + 2, lines, " " * (indent + 2)) if kind is dict
                          else self._sequence(value, indent, lines))
                if not nested:
                    return False
            else:
                text = self._scalar(value, len(head) + 1)
                if text is None:
                    return False
                lines.append(f"{head} {text}")
        return True

    def _sequence(self, items: list[Any], indent: int, lines: list[str]) -> bool:
        dash = " " * indent + "- "
        for item in items:
            if type(item) is dict:
                if not self._fresh(item):
                    return False
                if not item:
                    lines.append(dash + "{}")
                elif not self._mapping(item, indent + 2, lines, dash):
                    return False
            elif type(item) is list:
                return False  # a list in a list: PyYAML's compact "- - x" form is left to it
            else:
                text = self._scalar(item, len(dash))
                if text is None:
                    return False
                lines.append(dash + text)
        return True

    def _fresh(self, container: Any) -> bool:
        """False for a dict or list met before in this entry: PyYAML writes an anchor and
        an alias for it (and ``container`` stays alive meanwhile, so its id is its own)."""
        if id(container) in self._seen:
            return False
        self._seen.add(id(container))
        return True

    def item(self, entry: Any) -> str | None:
        if type(entry) is not dict or not entry:
            return None
        self._seen: set[int] = {id(entry)}
        lines: list[str] = []
        if not self._mapping(entry, 2, lines, "- "):
            return None
        lines.append("")
        return "\n".join(lines)


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
