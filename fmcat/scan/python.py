"""Model references in Python source, found by syntax tree.

Calls that load or name a model (``*.from_pretrained``, ``pipeline``,
``hf_hub_download``/``snapshot_download``/``HfApi`` methods,
``SentenceTransformer``, vLLM's ``LLM``, ``llama_cpp.Llama.from_pretrained``,
timm/open_clip ``hf-hub:`` names, litellm and the hosted-model SDKs' ``model=``)
are found in the tree; their argument is resolved through string constants,
concatenation, f-strings, local and module-level assignments, keyword defaults,
class attributes, constants imported from other modules of the scanned tree,
and ``os.environ.get("X", "default")`` (the default, marked overridable by X).
What cannot be resolved becomes an ``unresolved`` reference with its expression.

``>>>`` examples inside strings (docstrings, ``EXAMPLE_DOC_STRING``) are parsed
too and marked as examples. A file Python cannot parse is scanned by a clearly
marked pattern fallback.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from .refs import (
    API,
    HUB,
    LOCAL,
    UNRESOLVED,
    Location,
    Reference,
    api_name,
    classify_config_value,
    classify_hub_value,
    litellm_value,
    provider_of_model,
    provider_of_module,
)

MAX_DEPTH = 25  # name → name → … chains followed
MAX_VALUES = 16  # candidate values of one expression (if/else, reassignment) kept
MAX_EXPR = 200  # characters of an unresolved expression shown

# a textual pre-scan: the lines that may hold a reference; a file without any is not parsed,
# and in one that has some only the statements around those lines are walked
_CALLS = re.compile(
    r"\b(?:from_pretrained|from_single_file|load_lora_weights|pipeline|hf_hub_download|snapshot_download|"
    r"model_info|list_repo_files|list_repo_tree|file_exists|hf_hub_url|repo_info|try_to_load_from_cache|"
    r"SentenceTransformer|CrossEncoder|SparseEncoder|LLM|create_model\w*|completion|acompletion|embedding|"
    r"aembedding|text_completion|atext_completion|image_generation|transcription|speech|a?responses)\s*\(|>>>"
)
_PROVIDER_IMPORT = re.compile(
    r"^\s*(?:import|from)\s+(?:openai|anthropic|cohere|google|vertexai|mistralai|litellm|langchain_\w+)\b",
    re.MULTILINE,
)
_PROVIDER_CALLS = re.compile(r"\bmodel(?:_name)?\s*=|GenerativeModel")


def candidate_lines(text: str) -> list[int]:
    """Sorted line numbers (1-based) where a model reference may start."""
    positions = [m.start() for m in _CALLS.finditer(text)]
    if _PROVIDER_IMPORT.search(text):
        positions += [m.start() for m in _PROVIDER_CALLS.finditer(text)]
    if not positions:
        return []
    newlines = [m.start() for m in re.finditer("\n", text)]
    return sorted({bisect.bisect_left(newlines, p) + 1 for p in positions})


_LOADERS = ("from_pretrained", "from_single_file", "load_lora_weights")
_LOADER_KWARGS = ("pretrained_model_name_or_path", "pretrained_model_link_or_path", "model_id", "repo_id",
                  "model_name_or_path")
_HUB_FUNCS = ("hf_hub_download", "snapshot_download", "model_info", "list_repo_files", "list_repo_tree",
              "file_exists", "hf_hub_url", "repo_info", "try_to_load_from_cache")
_SENTENCE = ("SentenceTransformer", "CrossEncoder", "SparseEncoder")
_TIMM = ("create_model", "create_model_and_transforms", "create_model_from_pretrained")
_LITELLM = ("completion", "acompletion", "embedding", "aembedding", "text_completion", "atext_completion",
            "image_generation", "transcription", "speech", "responses", "aresponses")
_LANGCHAIN_PROVIDERS = {"langchain_openai": "openai", "langchain_anthropic": "anthropic",
                        "langchain_cohere": "cohere", "langchain_google_genai": "google",
                        "langchain_google_vertexai": "google", "langchain_mistralai": "mistral"}


@dataclass(frozen=True)
class Value:
    text: str
    env: str | None = None  # an environment variable that may replace it
    note: str | None = None  # e.g. "default of parameter model_id"


@dataclass(frozen=True)
class Unknown:
    why: str


@dataclass(frozen=True)
class _Import:
    module: str  # absolute dotted name, or "" with level for relative imports
    name: str
    level: int


class _Scope:
    """Names bound in one function or module: each to every expression assigned
    to it (or an Unknown binding: loop variable, parameter without default, ...).
    A function's names are collected only when a reference inside it needs them."""

    def __init__(self, module: ModuleScope, fn: ast.AST | None = None) -> None:
        self.module = module
        self._fn = fn
        self._bindings: dict[str, list[object]] | None = None if fn is not None else {}

    @property
    def bindings(self) -> dict[str, list[object]]:
        if self._bindings is None:
            self._bindings = {}
            _fill_function_scope(self, self._fn)  # type: ignore[arg-type]
        return self._bindings

    def bind(self, name: str, value: object) -> None:
        self.bindings.setdefault(name, []).append(value)


class ModuleScope(_Scope):
    def __init__(self, name: str, index: ModuleIndex | None) -> None:
        self.name = name
        self.index = index
        self.providers: dict[str, str] = {}  # local name or dotted target → provider key
        self.imported_modules: set[str] = set()
        self.imported_names: dict[str, str] = {}  # local name → "module.name"
        super().__init__(self)


class ModuleIndex:
    """The Python modules of a scan, by dotted name, parsed for their constants on
    demand (``from .config import MODEL_ID``)."""

    def __init__(self, read: Callable[[str], str | None]) -> None:
        self.paths: dict[str, str] = {}  # dotted name → path
        self._read = read
        self._scopes: dict[str, ModuleScope | None] = {}

    def add(self, rel_parts: list[str], path: str) -> None:
        """Register a file under every suffix of its dotted name (src layouts, packages)."""
        parts = list(rel_parts)
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        for i in range(len(parts)):
            self.paths.setdefault(".".join(parts[i:]), path)

    def module_name(self, path: str) -> str | None:
        for name, p in self.paths.items():
            if p == path:
                return name
        return None

    def scope(self, dotted: str) -> ModuleScope | None:
        if dotted in self._scopes:
            return self._scopes[dotted]
        self._scopes[dotted] = None  # an import cycle resolves to nothing
        path = self.paths.get(dotted)
        text = self._read(path) if path else None
        if text is None:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            return None
        scope = build_module_scope(tree, dotted, self)
        self._scopes[dotted] = scope
        return scope


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if isinstance(node, ast.Call):  # HfApi().model_info(...), OpenAI().chat...
        inner = _dotted(node.func)
        if inner:
            parts.append(inner + "()")
            return ".".join(reversed(parts))
    return None


def _assigned_names(target: ast.AST) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from _assigned_names(elt)
    elif isinstance(target, ast.Starred):
        yield from _assigned_names(target.value)


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _walk_body(nodes: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every statement of a body (and the items of its with statements), through
    compound statements but not into nested functions or classes, whose names are
    their own. Expressions are not entered: names they bind (walrus) are rare."""
    stack: list[ast.AST] = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, (ast.With, ast.AsyncWith)):
            yield from node.items
        for name in _BODIES:
            children = getattr(node, name, None)
            if children:
                stack.extend(reversed(children))


def _collect(scope: _Scope, body: list[ast.stmt]) -> None:
    module = scope.module
    for node in _walk_body(body):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    scope.bind(target.id, node.value)
                else:
                    for name in _assigned_names(target):
                        scope.bind(name, Unknown(f"{name} is unpacked from an expression"))
                _note_provider_client(module, target, node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            if isinstance(node.target, ast.Name):
                scope.bind(node.target.id, node.value)
            _note_provider_client(module, node.target, node.value)
        elif isinstance(node, ast.AugAssign):
            for name in _assigned_names(node.target):
                scope.bind(name, Unknown(f"{name} is changed by {type(node.op).__name__.lower()}-assignment"))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            for name in _assigned_names(node.target):
                scope.bind(name, Unknown(f"{name} is a loop variable"))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            for name in _assigned_names(node.optional_vars):
                scope.bind(name, Unknown(f"{name} is bound by a with statement"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.bind(node.name, Unknown(f"{node.name} is a {'class' if isinstance(node, ast.ClassDef) else 'function'}"))
        elif isinstance(node, ast.Import) and scope is module:
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                module.imported_modules.add(alias.name)
                scope.bind(local, Unknown(f"{local} is a module"))
                provider = provider_of_module(alias.name)
                if provider:
                    module.providers[alias.asname or alias.name] = provider
                    module.providers.setdefault(local, provider)
        elif isinstance(node, ast.ImportFrom) and scope is module:
            base = node.module or ""
            module.imported_modules.add(base)
            provider = provider_of_module(base) or _LANGCHAIN_PROVIDERS.get(base.split(".")[0])
            for alias in node.names:
                local = alias.asname or alias.name
                scope.bind(local, _Import(base, alias.name, node.level))
                module.imported_names[local] = f"{base}.{alias.name}"
                sub = provider_of_module(f"{base}.{alias.name}")  # from google import genai
                if provider or sub:
                    module.providers[local] = provider or sub  # type: ignore[assignment]


def _note_provider_client(module: ModuleScope, target: ast.AST, value: ast.AST) -> None:
    """``client = OpenAI()`` / ``self.client = anthropic.Anthropic()``: calls on it are that provider's."""
    if isinstance(value, ast.Call):
        callee = _dotted(value.func)
        provider = _provider_of_dotted(module, callee) if callee else None
        name = _dotted(target)
        if provider and name:
            module.providers[name] = provider


def _provider_of_dotted(module: ModuleScope, dotted: str) -> str | None:
    parts = dotted.replace("()", "").split(".")
    for i in range(len(parts), 0, -1):
        provider = module.providers.get(".".join(parts[:i]))
        if provider:
            return provider
    return None


def build_module_scope(tree: ast.Module, name: str, index: ModuleIndex | None) -> ModuleScope:
    scope = ModuleScope(name, index)
    _collect(scope, tree.body)
    if scope.providers:  # self.client = OpenAI() inside a method: calls on it are OpenAI's anywhere
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                for target in node.targets:
                    _note_provider_client(scope, target, node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Call):
                _note_provider_client(scope, node.target, node.value)
    for node in tree.body:  # class attributes: Config.MODEL_ID
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.Assign):
                    for target in stmt.targets:
                        if isinstance(target, ast.Name):
                            scope.bind(f"{node.name}.{target.id}", stmt.value)
                elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
                    scope.bind(f"{node.name}.{stmt.target.id}", stmt.value)
    return scope


def _fill_function_scope(scope: _Scope, fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
    args = fn.args
    positional = [*args.posonlyargs, *args.args]
    defaults: dict[str, ast.expr] = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]],
                                             args.defaults))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        if d is not None:
            defaults[a.arg] = d
    for a in [*positional, *args.kwonlyargs]:
        if a.arg in defaults:
            scope.bind(a.arg, ("default", a.arg, defaults[a.arg]))
        else:
            scope.bind(a.arg, Unknown(f"{a.arg} is a parameter without a default"))
    for a in (args.vararg, args.kwarg):
        if a is not None:
            scope.bind(a.arg, Unknown(f"{a.arg} is a parameter"))
    if not isinstance(fn, ast.Lambda):
        _collect(scope, fn.body)


class _Resolver:
    def __init__(self, scopes: list[_Scope]) -> None:
        self.scopes = scopes  # innermost first; the last is the module

    @property
    def module(self) -> ModuleScope:
        return self.scopes[-1].module

    def resolve(self, expr: ast.AST, depth: int = 0) -> tuple[list[Value], list[Unknown]]:
        if depth > MAX_DEPTH:
            return [], [Unknown("too many names to follow")]
        if isinstance(expr, ast.Constant):
            if isinstance(expr.value, str):
                return [Value(expr.value)], []
            return [], [Unknown(f"not a string: {expr.value!r}"[:MAX_EXPR])]
        if isinstance(expr, ast.JoinedStr):
            parts: list[tuple[list[Value], list[Unknown]]] = []
            for v in expr.values:
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    parts.append(([Value(v.value)], []))
                elif isinstance(v, ast.FormattedValue) and v.conversion == -1 and v.format_spec is None:
                    parts.append(self.resolve(v.value, depth + 1))
                else:
                    return [], [Unknown("f-string with a conversion or format")]
            return _concat(parts)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return _concat([self.resolve(expr.left, depth + 1), self.resolve(expr.right, depth + 1)])
        if isinstance(expr, ast.IfExp):
            a, ua = self.resolve(expr.body, depth + 1)
            b, ub = self.resolve(expr.orelse, depth + 1)
            return _dedupe(a + b), ua + ub
        if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
            return self._or(expr, depth)
        env = self._env(expr, depth)
        if env is not None:
            return env
        if isinstance(expr, ast.Name):
            return self._name(expr.id, depth)
        if isinstance(expr, ast.Attribute):
            dotted = _dotted(expr)
            if dotted and dotted.count(".") == 1:
                if dotted in self.module.bindings:  # Settings.MODEL of a class in this module
                    return self._bound(dotted, self.module.bindings[dotted], len(self.scopes) - 1, depth)
                head, attr = dotted.split(".")
                imported = [b for b in self.module.bindings.get(head, []) if isinstance(b, _Import)]
                if len(imported) == 1:  # Settings.MODEL of a class imported from the tree
                    imp = imported[0]
                    return self._imported(_Import(imp.module, f"{imp.name}.{attr}", imp.level), depth)
            return [], [Unknown(f"attribute {_src(expr)} is set at run time")]
        return [], [Unknown(f"{type(expr).__name__.lower()} expression")]

    def _or(self, expr: ast.BoolOp, depth: int) -> tuple[list[Value], list[Unknown]]:
        """``os.environ.get("M") or "org/x"``: the default, overridable by M."""
        values: list[Value] = []
        unknowns: list[Unknown] = []
        env_name = None
        for operand in expr.values:
            name = _env_name(operand, self) if _is_env_get(operand, self) else None
            if name and len(_call_args(operand)) < 2:
                env_name = name
                continue
            vals, unk = self.resolve(operand, depth + 1)
            values += vals
            unknowns += unk
        if env_name:
            values = [replace(v, env=v.env or env_name) for v in values]
        return _dedupe(values), unknowns

    def _env(self, expr: ast.AST, depth: int) -> tuple[list[Value], list[Unknown]] | None:
        if _is_env_get(expr, self):
            name = _env_name(expr, self) or _src(_call_args(expr)[0] if _call_args(expr) else expr)
            args = _call_args(expr)
            if len(args) >= 2:
                vals, unk = self.resolve(args[1], depth + 1)
                return [replace(v, env=name) for v in vals], unk
            return [], [Unknown(f"environment variable {name} with no default")]
        if isinstance(expr, ast.Subscript):
            base = _dotted(expr.value)
            if base in ("os.environ", "environ"):
                key = self.resolve(expr.slice, depth + 1)[0]
                return [], [Unknown(f"environment variable {key[0].text if key else _src(expr.slice)} with no default")]
        return None

    def _name(self, name: str, depth: int) -> tuple[list[Value], list[Unknown]]:
        for i, scope in enumerate(self.scopes):
            if name in scope.bindings:
                return self._bound(name, scope.bindings[name], i, depth)
        return [], [Unknown(f"{name} is not defined in this module")]

    def _bound(self, name: str, bindings: list[object], level: int, depth: int) -> tuple[list[Value], list[Unknown]]:
        values: list[Value] = []
        unknowns: list[Unknown] = []
        inner = _Resolver(self.scopes[level:])
        for b in bindings:
            if isinstance(b, Unknown):
                unknowns.append(b)
            elif isinstance(b, tuple) and b[0] == "default":
                vals, unk = inner.resolve(b[2], depth + 1)
                values += [replace(v, note=v.note or f"default of parameter {b[1]}") for v in vals]
                unknowns += unk
            elif isinstance(b, _Import):
                vals, unk = self._imported(b, depth)
                values += vals
                unknowns += unk
            elif isinstance(b, ast.AST):
                vals, unk = inner.resolve(b, depth + 1)
                values += vals
                unknowns += unk
        return _dedupe(values), unknowns

    def _imported(self, imp: _Import, depth: int) -> tuple[list[Value], list[Unknown]]:
        module = self.module
        target = imp.module
        if imp.level:
            package = module.name.split(".")
            package = package[: len(package) - imp.level] if imp.level <= len(package) else []
            target = ".".join([*package, *([imp.module] if imp.module else [])])
        other = module.index.scope(target) if module.index and target else None
        if other is None or imp.name not in other.bindings:
            return [], [Unknown(f"{imp.name} is imported from {target or '.'}, which the scan does not hold")]
        return _Resolver([other])._bound(imp.name, other.bindings[imp.name], 0, depth + 1)


def _concat(parts: list[tuple[list[Value], list[Unknown]]]) -> tuple[list[Value], list[Unknown]]:
    out = [Value("")]
    for vals, unk in parts:
        if unk or not vals:
            return [], unk or [Unknown("empty value")]
        out = [Value(a.text + b.text, a.env or b.env, a.note or b.note) for a in out for b in vals][:MAX_VALUES]
    return out, []


def _dedupe(values: list[Value]) -> list[Value]:
    seen: dict[str, Value] = {}
    for v in values:
        seen.setdefault(v.text, v)
    return list(seen.values())[:MAX_VALUES]


def _call_args(expr: ast.AST) -> list[ast.expr]:
    if not isinstance(expr, ast.Call):
        return []
    args = list(expr.args)
    for kw in expr.keywords:
        if kw.arg in ("key", "default") and kw.value is not None:
            args.append(kw.value)
    return args


def _is_env_get(expr: ast.AST, resolver: _Resolver) -> bool:
    if not isinstance(expr, ast.Call):
        return False
    name = _dotted(expr.func) or ""
    if name in ("os.environ.get", "os.getenv", "environ.get", "os.environ.setdefault"):
        return True
    return name == "getenv" and resolver.module.imported_names.get("getenv") == "os.getenv"


def _env_name(expr: ast.AST, resolver: _Resolver) -> str | None:
    args = _call_args(expr)
    if args:
        vals = resolver.resolve(args[0], 1)[0]
        if vals:
            return vals[0].text
    return None


def _src(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 - unparse of odd trees: show the node type instead
        text = type(node).__name__
    return text if len(text) <= MAX_EXPR else text[: MAX_EXPR - 1] + "…"


def _kwarg(call: ast.Call, *names: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg in names:
            return kw.value
    return None


def _has_star(call: ast.Call) -> bool:
    return any(kw.arg is None for kw in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args)


class _Extractor:
    """Walks a tree, descending only into nodes whose lines hold a candidate
    (``lines``, from a textual pre-scan; None: every node)."""

    def __init__(self, module: ModuleScope, path: str, *, line_offset: int = 0, col_offset: int = 0,
                 cell: int | None = None, example: bool = False, outer: list[_Scope] | None = None,
                 lines: list[int] | None = None) -> None:
        self.module = module
        self.path = path
        self.line_offset = line_offset
        self.col_offset = col_offset
        self.cell = cell
        self.example = example
        self.base: tuple[_Scope, ...] = (*(outer or []), module)
        self.scopes: list[_Scope] = list(self.base)
        self.lines = lines
        self.refs: list[Reference] = []

    def _wanted(self, node: ast.AST) -> bool:
        if self.lines is None:
            return True
        start = getattr(node, "lineno", None)
        end = getattr(node, "end_lineno", None)
        if start is None or end is None:
            return True
        i = bisect.bisect_left(self.lines, start)
        return i < len(self.lines) and self.lines[i] <= end

    def run(self, tree: ast.AST) -> None:
        stack: list[tuple[ast.AST, tuple[_Scope, ...]]] = [(tree, self.base)]
        while stack:
            node, scopes = stack.pop()
            if not self._wanted(node):
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                inner = (_Scope(self.module, node), *scopes)
                outer_parts = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
                if not isinstance(node, ast.Lambda):
                    outer_parts += node.decorator_list
                stack += [(d, scopes) for d in outer_parts]
                stack += [(b, inner) for b in (node.body if isinstance(node.body, list) else [node.body])]
                continue
            if isinstance(node, ast.Call):
                self.scopes = list(scopes)
                self.on_call(node)
            elif isinstance(node, ast.Constant):
                if isinstance(node.value, str) and ">>>" in node.value and not self.example:
                    self.scopes = list(scopes)
                    self.refs += _examples(node, self.module, self.path, self.line_offset, self.col_offset,
                                           self.cell)
                continue
            stack += [(child, scopes) for child in ast.iter_child_nodes(node)]

    # references -------------------------------------------------------------
    def _loc(self, node: ast.AST, via: str, value: Value | None = None) -> Location:
        via_text = via + (f", {value.note}" if value and value.note else "")
        return Location(self.path, self.line_offset + getattr(node, "lineno", 1),
                        self.col_offset + getattr(node, "col_offset", 0) + 1, self.cell, via_text,
                        self.example, False, value.env if value else None)

    def _emit(self, node: ast.AST, expr: ast.expr | None, via: str, make: Callable[[Value], Reference | None],
              *, missing: str | None = None) -> None:
        if expr is None:
            if missing:
                self.refs.append(Reference(UNRESOLVED, via + "(…)", self._loc(node, via), why=missing))
            return
        values, unknowns = _Resolver(self.scopes).resolve(expr)
        for v in values:
            ref = make(v)
            if ref is not None:
                self.refs.append(replace(ref, location=self._loc(expr, via, v)))
        if unknowns:
            why = "; ".join(dict.fromkeys(u.why for u in unknowns))
            self.refs.append(Reference(UNRESOLVED, _src(expr), self._loc(expr, via), why=why))

    def _hub(self, revision: str | None) -> Callable[[Value], Reference | None]:
        def make(v: Value) -> Reference | None:
            found = classify_hub_value(v.text)
            if found is None:
                return None
            kind, model, rev = found
            if kind == UNRESOLVED:
                return Reference(UNRESOLVED, repr(v.text)[:MAX_EXPR], Location("", 0, 0),
                                 why="the value is neither a Hub repo id nor a path")
            return Reference(kind, model, Location("", 0, 0), rev or revision)
        return make

    def _revision(self, call: ast.Call) -> str | None:
        expr = _kwarg(call, "revision")
        if expr is None:
            return None
        values, unknowns = _Resolver(self.scopes).resolve(expr)
        return values[0].text if len(values) == 1 and not unknowns else None

    def on_call(self, node: ast.Call) -> None:
        name = _dotted(node.func) or ""
        last = name.rsplit(".", 1)[-1] if name else (node.func.attr if isinstance(node.func, ast.Attribute) else "")
        receiver = name.rsplit(".", 1)[0] if "." in name else ""
        star = "arguments passed through *args/**kwargs" if _has_star(node) else "no model argument"
        if last in _LOADERS:
            base = receiver.rsplit(".", 1)[-1].replace("()", "")
            position = 1 if base.startswith(("PeftModel", "PeftMixedModel")) else 0
            expr = _kwarg(node, *_LOADER_KWARGS)
            if expr is None and len(node.args) > position and not isinstance(node.args[position], ast.Starred):
                expr = node.args[position]
            self._emit(node, expr, name or last, self._hub(self._revision(node)), missing=star)
        elif last == "pipeline" and (name == "pipeline" and self._from("pipeline", "transformers")
                                     or receiver == "transformers"):
            expr = _kwarg(node, "model")
            if expr is None and len(node.args) > 1:
                expr = node.args[1]
            missing = star if _has_star(node) else "no model given: transformers picks the task's default model"
            self._emit(node, expr, name, self._hub(self._revision(node)), missing=missing)
        elif last in _HUB_FUNCS and (self._from(last, "huggingface_hub") or "HfApi" in receiver
                                     or receiver.split(".")[0] in ("huggingface_hub", "hf_hub", "api")
                                     or self._is_hfapi(receiver)):
            repo_type = _kwarg(node, "repo_type")
            if repo_type is not None:
                values, _ = _Resolver(self.scopes).resolve(repo_type)
                if values and all(v.text != "model" for v in values):
                    return  # a dataset or a Space, not a model
            expr = _kwarg(node, "repo_id")
            if expr is None and node.args:
                expr = node.args[0]
            self._emit(node, expr, name, self._hub(self._revision(node)), missing=star)
        elif last in _SENTENCE and (node.args or node.keywords):
            expr = _kwarg(node, "model_name_or_path", "model_name")
            if expr is None and node.args:
                expr = node.args[0]
            self._emit(node, expr, name, self._hub(self._revision(node)), missing=star)
        elif last == "LLM" and any(m.split(".")[0] == "vllm" for m in self.module.imported_modules):
            expr = _kwarg(node, "model")
            if expr is None and node.args:
                expr = node.args[0]
            self._emit(node, expr, name, self._hub(self._revision(node)), missing=star)
        elif last in _TIMM:
            expr = _kwarg(node, "model_name")
            if expr is None and node.args:
                expr = node.args[0]
            if expr is not None:
                values = _Resolver(self.scopes).resolve(expr)[0]
                if any(v.text.startswith(("hf-hub:", "hf_hub:")) for v in values):
                    self._emit(node, expr, name, lambda v: self._hub(None)(v)
                               if v.text.startswith(("hf-hub:", "hf_hub:")) else None)
        elif last in _LITELLM and (receiver == "litellm" or self._from(last, "litellm")):
            expr = _kwarg(node, "model")
            if expr is None and node.args:
                expr = node.args[0]
            self._emit(node, expr, name, _litellm_ref, missing=star)
        else:
            self._api_call(node, name, last)

    def _api_call(self, node: ast.Call, name: str, last: str) -> None:
        module = self.module
        provider = _provider_of_dotted(module, name) if name else None
        if provider == "google" and last == "GenerativeModel":
            expr = _kwarg(node, "model_name", "model")
            if expr is None and node.args:
                expr = node.args[0]
        else:
            expr = _kwarg(node, "model", "model_name")
        if expr is None:
            return
        guessed = False
        if provider is None and isinstance(node.func, ast.Attribute):
            imported = set(module.providers.values())
            if len(imported) == 1:  # self.client.chat(...) in a module that uses one provider's SDK
                provider, guessed = next(iter(imported)), True
        if provider is None:
            return
        if guessed:  # the receiver is not known to be that provider's client: only its own model names count
            self._emit(node, expr, name or last,
                       lambda v: _api_ref(provider, v) if provider_of_model(v.text.strip()) == provider else None)
            return
        self._emit(node, expr, name or last, lambda v: _api_ref(provider, v))

    def _from(self, local: str, module: str) -> bool:
        origin = self.module.imported_names.get(local, "")
        return origin.split(".")[0] == module or (not origin and (self.example or local not in self.module.bindings))

    def _is_hfapi(self, receiver: str) -> bool:
        for scope in self.scopes:
            for b in scope.bindings.get(receiver, []):
                if isinstance(b, ast.Call) and (_dotted(b.func) or "").endswith("HfApi"):
                    return True
        return False


def _api_ref(provider: str, v: Value) -> Reference | None:
    text = v.text.strip()
    if not text:
        return None
    return Reference(API, api_name(provider, text), Location("", 0, 0), provider=provider)


def _litellm_ref(v: Value) -> Reference | None:
    if not v.text.strip():
        return None
    kind, model, provider = litellm_value(v.text.strip())
    return Reference(kind, model, Location("", 0, 0), provider=provider)


def _examples(node: ast.Constant, module: ModuleScope, path: str, line_offset: int, col_offset: int,
              cell: int | None) -> list[Reference]:
    """References in the ``>>>`` examples of a string, at their lines in the file."""
    import doctest

    try:
        examples = doctest.DocTestParser().get_examples(node.value)
    except ValueError:  # inconsistent indentation in the string
        return []
    refs: list[Reference] = []
    base_line = line_offset + node.lineno
    # the examples of one string share names (>>> repo = "x" ... from_pretrained(repo))
    example_scope = _Scope(module)
    chunks: list[tuple[ast.Module, int, int]] = []
    for ex in examples:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(ex.source)
        except (SyntaxError, ValueError, RecursionError):
            continue
        chunks.append((tree, base_line + ex.lineno - 1, col_offset + ex.indent + 4))
        _collect(example_scope, tree.body)
    for tree, line, col in chunks:
        ex_extractor = _Extractor(module, path, line_offset=line, col_offset=col, cell=cell, example=True,
                                  outer=[example_scope])
        ex_extractor.run(tree)
        refs += ex_extractor.refs
    return refs


def scan_python(text: str, path: str, module_name: str, index: ModuleIndex | None, *,
                cell: int | None = None, line_offset: int = 0,
                lines: list[int] | None = None) -> tuple[list[Reference], str | None]:
    """References in one Python text, and a note when the pattern fallback had to be used.
    ``lines``: the candidate lines (``candidate_lines``), computed here when not given."""
    if lines is None:
        lines = candidate_lines(text)
    if not lines:
        return [], None
    try:
        with warnings.catch_warnings():  # invalid escapes in scanned code are not fmcat's warnings
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        note = f"Python could not parse it ({type(exc).__name__}{f' at line {line}' if line else ''}): " \
               "scanned by the pattern fallback"
        return fallback_scan(text, path, cell=cell, line_offset=line_offset), note
    except RecursionError:
        return fallback_scan(text, path, cell=cell, line_offset=line_offset), \
            "nested too deeply for Python's parser: scanned by the pattern fallback"
    module = build_module_scope(tree, module_name, index)
    extractor = _Extractor(module, path, line_offset=line_offset, cell=cell, lines=lines)
    try:
        extractor.run(tree)
    except RecursionError:
        return fallback_scan(text, path, cell=cell, line_offset=line_offset), \
            "nested too deeply to walk: scanned by the pattern fallback"
    refs = sorted(extractor.refs, key=lambda r: (r.location.line, r.location.column))
    return refs, None


_FALLBACK = [
    (re.compile(r"""(?P<via>[\w.]*from_pretrained)\(\s*(?:\w+\s*=\s*)?(?P<q>["'])(?P<v>[^"'\n]{1,300})(?P=q)"""), "hub"),
    (re.compile(r"""(?P<via>pipeline)\([^)\n]*?\bmodel\s*=\s*(?P<q>["'])(?P<v>[^"'\n]{1,300})(?P=q)"""), "hub"),
    (re.compile(r"""(?P<via>hf_hub_download|snapshot_download)\(\s*(?:repo_id\s*=\s*)?(?P<q>["'])(?P<v>[^"'\n]{1,300})(?P=q)"""),
     "hub"),
    (re.compile(r"""(?P<via>SentenceTransformer)\(\s*(?P<q>["'])(?P<v>[^"'\n]{1,300})(?P=q)"""), "hub"),
    (re.compile(r"""(?P<via>\bmodel)\s*=\s*(?P<q>["'])(?P<v>[^"'\n]{1,300})(?P=q)"""), "config"),
]


def fallback_scan(text: str, path: str, *, cell: int | None = None, line_offset: int = 0) -> list[Reference]:
    """Line patterns for a file Python cannot parse; every reference is marked ``fallback``."""
    refs: list[Reference] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if len(line) > 10_000:
            continue
        taken: set[int] = set()
        for pattern, kind in _FALLBACK:
            for m in pattern.finditer(line):
                if m.start("v") in taken:
                    continue
                found = classify_config_value(m["v"]) if kind == "config" else classify_hub_value(m["v"])
                if found is None or (kind == "config" and found[0] in (LOCAL, UNRESOLVED)):
                    continue
                taken.add(m.start("v"))
                loc = Location(path, line_offset + lineno, m.start("v") + 1, cell, m["via"], False, True)
                if kind == "config":
                    refs.append(Reference(found[0], found[1], loc, found[2], found[3]))  # type: ignore[misc]
                elif found[0] == UNRESOLVED:
                    refs.append(Reference(UNRESOLVED, repr(m["v"]), loc, why="the value is neither a Hub repo id nor a path"))
                else:
                    refs.append(Reference(found[0], found[1], loc, found[2]))
    return refs


__all__ = ["API", "HUB", "ModuleIndex", "candidate_lines", "fallback_scan", "scan_python"]
