"""Reading YAML safely: the C safe loader where present, and no alias bombs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import InvalidInput

MAX_ALIASES = 100


def _safe_loader():  # type: ignore[no-untyped-def]
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _count_aliases(text: str) -> int:
    """Aliases in the stream; each can expand a whole subtree ("billion laughs")."""
    import yaml

    if "*" not in text:
        return 0
    return sum(isinstance(ev, yaml.AliasEvent) for ev in yaml.parse(text, Loader=_safe_loader()))


def load_yaml_text(text: str, where: str, *, all_documents: bool = False) -> Any:
    import yaml

    try:
        if _count_aliases(text) > MAX_ALIASES:
            raise InvalidInput(
                f"{where}: refused: more than {MAX_ALIASES} YAML aliases (possible alias bomb)",
                path=where,
            )
        if all_documents:
            return list(yaml.load_all(text, Loader=_safe_loader()))
        return yaml.load(text, Loader=_safe_loader())
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidInput(f"{where}: malformed YAML{at}: {first}", path=where) from None


def load_yaml_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text", path=str(path)) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", path=str(path)) from None
    return load_yaml_text(text, str(path))
