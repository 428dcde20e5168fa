"""What a scan finds: model references with their locations, and how a string
found in code is classified (Hub repo, hosted API model, local path, Ollama)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# kinds of reference
HUB, API, LOCAL, OLLAMA, UNRESOLVED = "hub", "api", "local", "ollama", "unresolved"

_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")
_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".safetensors", ".gguf", ".onnx", ".json", ".h5", ".msgpack",
                    ".pkl", ".model", ".txt", ".py", ".yaml", ".yml")

# Hosted-model providers: the catalog name prefix, the display name `fmcat add --provider`
# takes, the SDK modules that identify a client, and the model-name prefixes litellm and
# configs use without a provider.
PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": {"name": "OpenAI", "modules": ("openai",),
               "prefixes": ("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-", "dall-e", "davinci",
                            "babbage", "whisper-", "tts-")},
    "anthropic": {"name": "Anthropic", "modules": ("anthropic",), "prefixes": ("claude-", "claude")},
    "cohere": {"name": "Cohere", "modules": ("cohere",), "prefixes": ("command", "embed-english", "embed-multilingual",
                                                                       "rerank-")},
    "google": {"name": "Google", "modules": ("google.generativeai", "google.genai", "vertexai"),
               "prefixes": ("gemini-", "text-bison", "chat-bison", "palm-", "imagen-", "chirp")},
    "mistral": {"name": "Mistral AI", "modules": ("mistralai",),
                "prefixes": ("mistral-large", "mistral-medium", "mistral-small", "mistral-tiny", "codestral",
                             "open-mistral", "open-mixtral", "pixtral", "ministral")},
}
# litellm's provider prefixes ("azure/gpt-4") that name one of ours
_LITELLM_ALIASES = {"openai": "openai", "azure": "openai", "anthropic": "anthropic", "cohere": "cohere",
                    "cohere_chat": "cohere", "gemini": "google", "vertex_ai": "google", "palm": "google",
                    "mistral": "mistral", "text-completion-openai": "openai"}


@dataclass(frozen=True)
class Location:
    """Where a reference is: ``path`` relative to the working directory when under
    it; ``cell`` (1-based) and ``line`` within the cell for notebooks."""

    path: str
    line: int
    column: int
    cell: int | None = None
    via: str = ""  # what found it: "AutoModel.from_pretrained", "config key model_id", "hf download"
    example: bool = False  # in a docstring's or string's ``>>>`` example
    fallback: bool = False  # found by the pattern fallback in a file Python could not parse
    overridable: str | None = None  # the environment variable that may replace the value
    file_line: int | None = None  # notebooks: the line of the notebook file (JSON) holding it

    def describe(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        if self.cell is not None:
            where = f"{self.path} cell {self.cell}:{self.line}:{self.column}"
        notes = [n for n in (self.via, "example" if self.example else "", "pattern fallback" if self.fallback else "",
                             f"overridable by ${self.overridable}" if self.overridable else "") if n]
        return where + (f"  ({'; '.join(notes)})" if notes else "")

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column, "cell": self.cell, "via": self.via,
                "example": self.example, "fallback": self.fallback, "overridable_by": self.overridable,
                "file_line": self.file_line}


@dataclass(frozen=True)
class Reference:
    """One model reference at one location. ``model`` is the Hub repo id, the
    catalog-style API name (``openai/gpt-4``), the path, or for ``unresolved`` the
    source expression that could not be resolved."""

    kind: str
    model: str
    location: Location
    revision: str | None = None
    provider: str | None = None  # API: the provider key of PROVIDERS ("openai"), None if unknown
    why: str | None = None  # unresolved: what stopped resolution


def provider_of_model(name: str) -> str | None:
    """The provider a bare hosted model name belongs to (``gpt-4o`` → openai), if any."""
    low = name.lower()
    for key, info in PROVIDERS.items():
        if low.startswith(info["prefixes"]):
            return key
    return None


def provider_of_module(module: str) -> str | None:
    for key, info in PROVIDERS.items():
        for m in info["modules"]:
            if module == m or module.startswith(m + "."):
                return key
    return None


def api_name(provider: str | None, model: str) -> str:
    """Catalog-style name of a hosted model: ``openai/gpt-4`` (``models/`` prefixes dropped)."""
    model = model.strip()
    model = model.removeprefix("models/")
    return f"{provider}/{model}" if provider else model


def looks_like_path(value: str) -> bool:
    v = value.strip()
    return (v.startswith(("/", "./", "../", "~", ".\\")) or "\\" in v or v in (".", "..")
            or v.lower().endswith(_WEIGHT_SUFFIXES))


def is_repo_id(value: str, *, bare: bool = True) -> bool:
    """``org/name`` (or a bare legacy name like ``gpt2`` when ``bare``) as the Hub spells repo ids."""
    v = value.strip()
    if not _REPO_ID.match(v) or "--" in v or ".." in v or v.endswith(".git"):
        return False
    return bare or "/" in v


def classify_hub_value(value: str, *, bare: bool = True) -> tuple[str, str, str | None] | None:
    """A string passed where a Hub model is expected, as (kind, model, revision);
    None when it is no model reference at all (empty)."""
    from ..entries import split_model_ref

    v = value.strip()
    if not v:
        return None
    if v.startswith(("hf://", "https://huggingface.co/", "http://huggingface.co/", "https://hf.co/")):
        repo, rev = split_model_ref(v.replace("https://hf.co/", "https://huggingface.co/"))
        return (HUB, repo, rev or None) if is_repo_id(repo) else (UNRESOLVED, v, None)
    for prefix in ("hf-hub:", "hf_hub:"):
        if v.startswith(prefix):
            v = v[len(prefix):]
            break
    repo, _, rev = v.partition("@") if "@" in v and not looks_like_path(v) else (v, "", "")
    if is_repo_id(repo, bare=bare) and not looks_like_path(repo):
        return HUB, repo, rev or None
    if looks_like_path(v):
        return LOCAL, value, None
    return UNRESOLVED, value, None  # "{checkpoint}", "...": neither a repo id nor a path


def classify_config_value(value: str) -> tuple[str, str, str | None, str | None] | None:
    """A value under a model-ish key of a config/.env file as (kind, model, revision,
    provider), or None when it is not recognisably a model (``linear``, ``true``)."""
    v = value.strip()
    if not v or len(v) > 300:
        return None
    head, sep, rest = v.partition("/")
    if sep and head.lower() in _LITELLM_ALIASES and rest:
        return API, api_name(_LITELLM_ALIASES[head.lower()], rest), None, _LITELLM_ALIASES[head.lower()]
    if sep and head.lower() == "ollama" and rest:
        return OLLAMA, rest, None, None
    provider = provider_of_model(v)
    if provider and "/" not in v:
        return API, api_name(provider, v), None, provider
    found = classify_hub_value(v, bare=False)
    if found and found[0] == HUB:
        return found[0], found[1], found[2], None
    return None


def litellm_value(value: str) -> tuple[str, str, str | None]:
    """A litellm ``model=`` string as (kind, name, provider key or None):
    ``azure/gpt-4`` is OpenAI's, ``huggingface/org/name`` a Hub repo, ``ollama/x`` Ollama's."""
    head, sep, rest = value.partition("/")
    low = head.lower()
    if sep and low in _LITELLM_ALIASES:
        provider = _LITELLM_ALIASES[low]
        return API, api_name(provider, rest), provider
    if sep and low == "huggingface" and is_repo_id(rest):
        return HUB, rest, None
    if sep and low in ("ollama", "ollama_chat"):
        return OLLAMA, rest, None
    provider = provider_of_model(value)
    return API, api_name(provider, value), provider
