"""Model references outside Python source: notebooks, configuration files
(YAML, JSON, TOML), Dockerfiles and shell scripts, ``.env`` files."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from .python import ModuleIndex, scan_python
from .refs import (
    HUB,
    LOCAL,
    OLLAMA,
    UNRESOLVED,
    Location,
    Reference,
    classify_config_value,
    classify_hub_value,
)

CONFIG_KEYS = frozenset({"model", "model_id", "model_name", "model_name_or_path", "pretrained_model_name_or_path",
                         "base_model", "tokenizer_name", "tokenizer_name_or_path", "base_model_name_or_path"})
_CONFIG_HINT = re.compile(r"model|tokenizer_name", re.IGNORECASE)
_ENV_KEY = re.compile(r"(?:^|_)(?:MODEL|MODEL_ID|MODEL_NAME|MODEL_NAME_OR_PATH|BASE_MODEL|TOKENIZER_NAME|REPO_ID)$")
_SHELL_HINT = re.compile(r"\b(?:hf|huggingface-cli|ollama)\b")
_VAR = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|(\w+))")
MAX_NODES = 200_000  # nodes of one config document walked


def _config_ref(value: str, loc: Location) -> Reference | None:
    found = classify_config_value(value)
    if found is None:
        return None
    kind, model, revision, provider = found
    return Reference(kind, model, loc, revision, provider)


# -- YAML and JSON ---------------------------------------------------------------

def scan_yaml(text: str, path: str) -> tuple[list[Reference], str | None]:
    """Model-ish keys anywhere in a YAML (or JSON) document, at the value's line."""
    if not _CONFIG_HINT.search(text):
        return [], None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        docs = list(yaml.compose_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        return [], f"not valid YAML ({str(exc).splitlines()[0][:120]}): skipped"
    except RecursionError:
        return [], "nested too deeply: skipped"
    refs: list[Reference] = []
    for doc in docs:
        for key, node in _yaml_pairs(doc):
            if key.lower() not in CONFIG_KEYS:
                continue
            for scalar in _yaml_scalars(node):
                loc = Location(path, scalar.start_mark.line + 1, scalar.start_mark.column + 1, via=f"config key {key}")
                ref = _config_ref(str(scalar.value), loc)
                if ref is not None:
                    refs.append(ref)
    return refs, None


def _yaml_pairs(root: Any) -> Iterator[tuple[str, Any]]:
    import yaml

    stack = [root] if root is not None else []
    seen: set[int] = set()
    while stack and len(seen) < MAX_NODES:
        node = stack.pop()
        if id(node) in seen:  # anchors and aliases share nodes; a recursive alias loops
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    yield str(k.value), v
                stack.append(v)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _yaml_scalars(node: Any) -> Iterator[Any]:
    import yaml

    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":str"):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.ScalarNode) and item.tag.endswith(":str"):
                yield item


def scan_json(text: str, path: str) -> tuple[list[Reference], str | None]:
    if not _CONFIG_HINT.search(text):
        return [], None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return [], f"not valid JSON ({str(exc)[:120]}): skipped"
    if not any(k.lower() in CONFIG_KEYS for k, _ in _dict_pairs(data)):
        return [], None
    refs, note = scan_yaml(text, path)  # JSON is YAML: the composer knows each value's line and column
    if note is None:
        return refs, None
    return _located(data, text, path), None  # JSON that YAML refuses (tabs): lines found by search


def _dict_pairs(data: Any) -> Iterator[tuple[str, Any]]:
    stack = [data]
    count = 0
    while stack and count < MAX_NODES:
        node = stack.pop()
        count += 1
        if isinstance(node, dict):
            for k, v in node.items():
                yield str(k), v
                stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)


def _located(data: Any, text: str, path: str) -> list[Reference]:
    lines = text.splitlines()
    refs: list[Reference] = []
    for key, value in _dict_pairs(data):
        if key.lower() not in CONFIG_KEYS:
            continue
        for v in (value if isinstance(value, list) else [value]):
            if not isinstance(v, str):
                continue
            line, col = _find(lines, key, v)
            ref = _config_ref(v, Location(path, line, col, via=f"config key {key}"))
            if ref is not None:
                refs.append(ref)
    return refs


def _find(lines: list[str], key: str, value: str) -> tuple[int, int]:
    for i, line in enumerate(lines, 1):
        if key in line and value in line:
            return i, line.index(value) + 1
    for i, line in enumerate(lines, 1):
        if value in line:
            return i, line.index(value) + 1
    return 1, 1


def scan_toml(text: str, path: str) -> tuple[list[Reference], str | None]:
    if not _CONFIG_HINT.search(text):
        return [], None
    import tomllib

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        return [], f"not valid TOML ({str(exc)[:120]}): skipped"
    return _located(data, text, path), None


# -- .env ------------------------------------------------------------------------

def scan_env(text: str, path: str) -> tuple[list[Reference], str | None]:
    refs: list[Reference] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, _, value = line.partition("=")
        key = key.strip()
        if not _ENV_KEY.search(key.upper()):
            continue
        value = value.strip()
        if value[:1] in ("'", '"') and value.endswith(value[:1]) and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].strip()
        col = raw.find(value) + 1 if value else 1
        ref = _config_ref(value, Location(path, lineno, max(col, 1), via=f"environment setting {key}"))
        if ref is not None:
            refs.append(ref)
    return refs, None


# -- shell scripts and Dockerfiles --------------------------------------------------

def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    start, parts = 0, []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not parts:
            start = lineno
        if line.rstrip().endswith("\\"):
            parts.append(line.rstrip()[:-1])
            continue
        parts.append(line)
        yield start, " ".join(parts)
        parts = []
    if parts:
        yield start, " ".join(parts)


def scan_shell(text: str, path: str, *, cell: int | None = None, line_offset: int = 0) -> tuple[list[Reference], str | None]:
    """``hf download``, ``huggingface-cli download`` and ``ollama pull|run`` commands,
    with ``$VAR`` resolved from the file's own assignments, ``ENV`` and ``ARG`` lines."""
    if not _SHELL_HINT.search(text):
        return [], None
    variables: dict[str, str] = {}
    refs: list[Reference] = []
    for lineno, line in _logical_lines(text):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        _note_assignments(stripped, variables)
        if not _SHELL_HINT.search(stripped):
            continue
        try:
            tokens = shlex.split(stripped, comments=True, posix=True)
        except ValueError:
            tokens = stripped.split()
        for i, tok in enumerate(tokens):
            target: str | None = None
            via = ""
            if tok in ("hf", "huggingface-cli") and tokens[i + 1:i + 2] == ["download"]:
                rest = tokens[i + 2:]
                if _option(rest, "--repo-type") not in (None, "model"):
                    continue
                target = next((t for t in rest if not t.startswith("-")), None)
                via = f"{tok} download"
                revision = _option(rest, "--revision")
            elif tok == "ollama" and tokens[i + 1:i + 2] in (["pull"], ["run"]):
                target = tokens[i + 2] if i + 2 < len(tokens) else None
                via = f"ollama {tokens[i + 1]}"
                revision = None
            if target is None:
                continue
            col = line.find(target) + 1 if target in line else 1
            loc = Location(path, line_offset + lineno, max(col, 1), cell, via)
            value, unresolved = _expand(target, variables)
            if value is None:
                refs.append(Reference(UNRESOLVED, target, loc, why=unresolved))
                continue
            if via.startswith("ollama"):
                refs.append(_ollama_ref(value, loc))
                continue
            found = classify_hub_value(value)
            if found is not None and found[0] == UNRESOLVED:
                refs.append(Reference(UNRESOLVED, target, loc, why="the value is neither a Hub repo id nor a path"))
            elif found is not None:
                kind, model, rev = found
                refs.append(Reference(kind, model, loc, rev or (revision and _expand(revision, variables)[0])))
    return refs, None


def _ollama_ref(value: str, loc: Location) -> Reference:
    """``ollama pull hf.co/org/name:Q4_K_M`` is a Hub repo; ``llama3.2:1b`` is Ollama's library."""
    for prefix in ("hf.co/", "huggingface.co/"):
        if value.startswith(prefix):
            repo = value[len(prefix):].split(":", 1)[0]
            found = classify_hub_value(repo)
            if found and found[0] == HUB:
                return Reference(HUB, found[1], loc)
    return Reference(OLLAMA, value, loc)


def _option(tokens: list[str], name: str) -> str | None:
    for i, t in enumerate(tokens):
        if t == name and i + 1 < len(tokens):
            return tokens[i + 1]
        if t.startswith(name + "="):
            return t.split("=", 1)[1]
    return None


def _note_assignments(line: str, variables: dict[str, str]) -> None:
    words = line.split(None, 1)
    body = line
    if words and words[0].upper() in ("ENV", "ARG") and len(words) > 1:
        body = words[1]
        if words[0].upper() == "ENV" and "=" not in body.split()[0] and len(body.split()) >= 2:
            key, value = body.split(None, 1)  # ENV KEY value
            variables[key] = value.strip().strip("\"'")
            return
    elif words and words[0] == "export" and len(words) > 1:
        body = words[1]
    try:
        parts = shlex.split(body, posix=True)
    except ValueError:
        return
    for part in parts:
        m = re.match(r"^([A-Za-z_]\w*)=(.*)$", part)
        if not m:
            break
        value, _ = _expand(m[2], variables)
        if value is not None:
            variables[m[1]] = value


def _expand(token: str, variables: dict[str, str]) -> tuple[str | None, str]:
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m[1] or m[3]
        if name in variables:
            return variables[name]
        if m[2] is not None:
            return m[2]
        missing.append(name)
        return ""

    value = _VAR.sub(sub, token)
    if missing or "$(" in token or "`" in token:
        return None, (f"shell variable {', '.join(missing)} is set outside this file" if missing
                      else "command substitution")
    return value, ""


# -- notebooks ---------------------------------------------------------------------

def scan_notebook(text: str, path: str, index: ModuleIndex | None) -> tuple[list[Reference], str | None]:
    """Code cells as one Python program (cells share names), shell escapes (``!hf download``)
    and ``%%bash`` cells; each location names the cell (1-based) and the line in it."""
    try:
        nb = json.loads(text)
        cells = nb["cells"] if isinstance(nb, dict) else None
        if not isinstance(cells, list):
            raise ValueError("no cells")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return [], f"not a Jupyter notebook ({str(exc)[:80] or type(exc).__name__}): skipped"
    program: list[str] = []
    where: list[tuple[int, int]] = []  # program line → (cell, line in cell)
    refs: list[Reference] = []
    for n, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            continue
        lines = source.splitlines()
        if lines and lines[0].startswith("%%"):
            if lines[0].split()[0] in ("%%bash", "%%sh", "%%script"):
                refs += scan_shell("\n".join([""] + lines[1:]), path, cell=n)[0]
            continue
        for i, line in enumerate(lines, 1):
            body = line.lstrip()
            if body.startswith("!"):
                refs += scan_shell(body[1:], path, cell=n, line_offset=i - 1)[0]
                line = ""
            elif body.startswith("%"):
                line = ""
            program.append(line)
            where.append((n, i))
    found, note = scan_python("\n".join(program), path, "__notebook__", index)
    for ref in found:
        line = ref.location.line
        cell, cell_line = where[line - 1] if 0 < line <= len(where) else (None, line)
        refs.append(replace(ref, location=replace(ref.location, cell=cell, line=cell_line)))
    if refs:
        lines = _file_lines(text, cells)
        refs = [replace(r, location=replace(r.location, file_line=lines.get((r.location.cell, r.location.line))))
                for r in refs]
    return refs, note


def _file_lines(text: str, cells: list[Any]) -> dict[tuple[int, int], int]:
    """(cell, line in cell) → line of the notebook file, for sources written one JSON
    string per line (as Jupyter writes them); best effort, cursor-ordered."""
    import bisect

    newlines = [m.start() for m in re.finditer("\n", text)]
    out: dict[tuple[int, int], int] = {}
    cursor = 0
    for n, cell in enumerate(cells, 1):
        source = cell.get("source") if isinstance(cell, dict) else None
        if not isinstance(source, list):
            continue
        for i, line in enumerate("".join(s for s in source if isinstance(s, str)).splitlines(keepends=True), 1):
            pos = text.find(json.dumps(line, ensure_ascii=False), cursor)
            if pos < 0:
                pos = text.find(json.dumps(line), cursor)
            if pos < 0:
                continue
            cursor = pos + 1
            out[(n, i)] = bisect.bisect_left(newlines, pos) + 1
    return out


__all__ = ["LOCAL", "scan_env", "scan_json", "scan_notebook", "scan_shell", "scan_toml", "scan_yaml"]
