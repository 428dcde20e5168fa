"""Which files a scan reads, walked the way developer tools walk a tree.

``.gitignore`` files (in the tree and above it, up to the repository root) and
``--exclude`` patterns are honoured with pathspec's gitignore semantics; virtual
environments, ``node_modules``, build and cache folders are skipped; symbolic
links to folders are never followed, and links to files only when the target
stays inside the tree; special files are never opened; files over the size
bound and binary files are skipped with a note.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".bzr", "node_modules", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".ipynb_checkpoints", ".eggs", "site-packages", "dist-packages", "build", "dist", ".cache",
    ".venv", "venv", ".direnv", ".hypothesis", ".pixi", ".conda",
})
MAX_BYTES = 2 * 1024 * 1024  # source and configuration files
MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024  # notebooks carry their outputs
_SHELL_SUFFIXES = (".sh", ".bash", ".zsh", ".dockerfile")
_CONFIG = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}
_SKIP_FILES = frozenset({"package-lock.json", "yarn.lock", "poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock"})


@dataclass(frozen=True)
class SourceFile:
    path: str  # absolute
    display: str  # relative to the working directory when under it
    kind: str  # python | notebook | yaml | json | toml | shell | env
    module: tuple[str, ...]  # dotted module parts (Python), relative to the scan root


@dataclass(frozen=True)
class Note:
    path: str
    note: str


def kind_of(name: str) -> str | None:
    low = name.lower()
    if low.endswith(".py"):
        return "python"
    if low.endswith(".ipynb"):
        return "notebook"
    if name in _SKIP_FILES:
        return None
    suffix = os.path.splitext(low)[1]
    if suffix in _CONFIG:
        return _CONFIG[suffix]
    if (low in ("dockerfile", "containerfile") or low.startswith(("dockerfile.", "containerfile."))
            or low.endswith(_SHELL_SUFFIXES)):
        return "shell"
    if low in (".env", ".envrc") or low.startswith(".env.") or low.endswith(".env"):
        return "env"
    return None


def _display(path: str, cwd: str) -> str:
    if path == cwd:
        return "."
    if path.startswith(cwd + os.sep):
        return path[len(cwd) + 1:].replace(os.sep, "/")
    return path.replace(os.sep, "/")


class _Ignore:
    """gitignore rules from every ``.gitignore`` met, each relative to its folder."""

    def __init__(self, excludes: tuple[str, ...], root: str) -> None:
        import pathspec

        self._pathspec = pathspec
        self.rules: list[tuple[str, Any]] = []
        if excludes:
            self.rules.append((root + os.sep, pathspec.GitIgnoreSpec.from_lines(excludes)))
        own = len(self.rules)
        for folder in _repository_ancestors(root):
            self.load(folder)
        if self.ignored(root, True):  # a folder named on purpose is scanned even where git ignores it
            del self.rules[own:]

    def load(self, folder: str) -> None:
        gi = os.path.join(folder, ".gitignore")
        try:
            st = os.stat(gi, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or st.st_size > 1024 * 1024:
                return
            with open(gi, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
        except OSError:
            return
        if lines:
            self.rules.append((folder.rstrip(os.sep) + os.sep, self._pathspec.GitIgnoreSpec.from_lines(lines)))

    def ignored(self, path: str, is_dir: bool) -> bool:
        for base, spec in self.rules:
            if path.startswith(base):
                rel = path[len(base):].replace(os.sep, "/")
                if spec.match_file(rel + "/" if is_dir else rel):
                    return True
        return False


def _repository_ancestors(root: str) -> list[str]:
    """The folders above ``root`` up to its repository's root (the one holding .git), top first."""
    chain = []
    folder = os.path.dirname(root)
    for _ in range(64):
        chain.append(folder)
        if os.path.exists(os.path.join(folder, ".git")):
            return list(reversed(chain))
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return []  # not inside a repository: no outer .gitignore applies


def walk(roots: list[str], excludes: tuple[str, ...] = ()) -> Iterator[SourceFile | Note]:
    """Every file a scan reads under ``roots`` (files or folders), and a note for each one skipped."""
    cwd = os.getcwd()
    for given in roots:
        root = os.path.abspath(given)
        try:
            st = os.stat(root)
        except OSError as exc:
            yield Note(given, f"cannot read: {exc.strerror}")
            continue
        if stat.S_ISREG(st.st_mode):
            kind = kind_of(os.path.basename(root)) or "python"  # a file named on purpose is read as Python
            yield SourceFile(os.path.realpath(root), _display(root, cwd), kind, (Path(root).stem,))
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield Note(given, "not a regular file or folder: skipped")
            continue
        yield from _walk_tree(root, cwd, _Ignore(excludes, root))


def _walk_tree(root: str, cwd: str, ignore: _Ignore) -> Iterator[SourceFile | Note]:
    real_root = os.path.realpath(root)
    stack = [root]
    while stack:
        folder = stack.pop()
        ignore.load(folder)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Note(_display(folder, cwd), f"cannot list: {exc.strerror}")
            continue
        subdirs = []
        for entry in entries:
            path = entry.path
            try:
                if entry.is_symlink():
                    note = _symlink(entry, real_root)
                    if note and not note.endswith("folder: not followed") and kind_of(entry.name) is None:
                        continue  # a link to nothing a scan reads: not worth a note
                    if note:
                        yield Note(_display(path, cwd), note)
                        continue
                    is_dir = False
                    path = os.path.realpath(path)  # read the target itself, never through the link
                else:
                    is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name in SKIP_DIRS or entry.name.endswith(".egg-info"):
                    continue
                if ignore.ignored(path, True):
                    continue
                if os.path.exists(os.path.join(path, "pyvenv.cfg")):
                    continue  # a virtual environment under any name
                subdirs.append(path)
                continue
            kind = kind_of(entry.name)
            if kind is None or ignore.ignored(entry.path, False):
                continue
            rel = entry.path[len(root) + 1:]
            module = tuple(rel[:-3].split(os.sep)) if kind == "python" else ()
            yield SourceFile(path, _display(entry.path, cwd), kind, module)
        stack.extend(reversed(subdirs))


def _symlink(entry: os.DirEntry[str], real_root: str) -> str | None:
    """None when a linked file may be read; else why not."""
    try:
        target = os.path.realpath(entry.path)
        st = os.stat(target)
    except OSError:
        return "a broken or looping symbolic link: not followed"
    if stat.S_ISDIR(st.st_mode):
        return "a symbolic link to a folder: not followed"
    if not (target == real_root or target.startswith(real_root + os.sep)):
        return "a symbolic link out of the scanned tree: not followed"
    if not stat.S_ISREG(st.st_mode):
        return "a link to a special file: skipped"
    return None


def read_text(path: str, kind: str) -> tuple[str | None, str | None]:
    """A file's text, or None and why it is skipped: never blocks on a FIFO, never follows
    a link swapped in after the walk, never reads more than the bound."""
    limit = MAX_NOTEBOOK_BYTES if kind == "notebook" else MAX_BYTES
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        return None, f"cannot read: {exc.strerror}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file: skipped"
        if st.st_size > limit:
            return None, f"larger than {limit // (1024 * 1024)} MiB: skipped"
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        return None, f"cannot read: {exc.strerror}"
    finally:
        os.close(fd)
    if len(data) > limit:
        return None, f"larger than {limit // (1024 * 1024)} MiB: skipped"
    if b"\0" in data[:8192]:
        return None, "binary content: skipped"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), "not valid UTF-8: undecodable bytes replaced"
