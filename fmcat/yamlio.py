"""Reading YAML safely: the C safe loader where present, and no alias bombs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import InvalidInput

MAX_ALIASES = 100
MAX_NODES = 2_000_000  # nodes of the document once every alias is expanded


def _safe_loader():  # type: ignore[no-untyped-def]
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _count_aliases(text: str) -> int:
    """Aliases in the stream; each can expand a whole subtree ("billion laughs")."""
    import yaml

    if "*" not in text:
        return 0
    return sum(isinstance(ev, yaml.AliasEvent) for ev in yaml.parse(text, Loader=_safe_loader()))


def _expanded_nodes(data: Any, budget: int) -> int:
    """How many nodes the document has with aliases expanded, counting no further
    than ``budget`` (a shared subtree costs nothing to hold but everything to walk)."""
    count = 0
    stack = [data]
    while stack and count <= budget:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def load_yaml_text(text: str, where: str, *, all_documents: bool = False, aliases: bool = True) -> Any:
    """Parse YAML with the safe loader. ``aliases=False`` (model cards) refuses any
    alias; otherwise at most ``MAX_ALIASES``, and the expanded document is bounded."""
    import yaml

    try:
        found = _count_aliases(text)
        if found and not aliases:
            raise InvalidInput(f"{where}: refused: YAML aliases are not accepted here (possible alias bomb)",
                               path=where)
        if found > MAX_ALIASES:
            raise InvalidInput(
                f"{where}: refused: more than {MAX_ALIASES} YAML aliases (possible alias bomb)",
                path=where,
            )
        if all_documents:
            data: Any = list(yaml.load_all(text, Loader=_safe_loader()))
        else:
            data = yaml.load(text, Loader=_safe_loader())
        if found and _expanded_nodes(data, MAX_NODES) > MAX_NODES:
            raise InvalidInput(f"{where}: refused: its aliases expand to more than {MAX_NODES:,} nodes "
                               "(possible alias bomb)", path=where)
        return data
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidInput(f"{where}: malformed YAML{at}: {first}", path=where) from None
    except RecursionError:
        raise InvalidInput(f"{where}: YAML nested too deeply", path=where) from None


def load_yaml_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text", path=str(path)) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", path=str(path)) from None
    return load_yaml_text(text, str(path))
