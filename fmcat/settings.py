"""Every environment setting fmcat reads, in one place.

fmcat's own knobs are ``FMCAT_*``; for the Hub it respects huggingface_hub's
variables (``HF_HOME``, ``HF_HUB_CACHE``, ``HF_ENDPOINT``, ``HF_TOKEN``,
``HF_HUB_OFFLINE``) instead of inventing parallel ones.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DB = "FMCAT_DB"
ENV_HOME = "FMCAT_HOME"
ENV_DEBUG = "FMCAT_DEBUG"
ENV_DISABLE_PROGRESS = "FMCAT_DISABLE_PROGRESS_BARS"

_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def debug() -> bool:
    """Show tracebacks instead of one-line errors."""
    return _flag(ENV_DEBUG)


def progress_disabled() -> bool:
    return _flag(ENV_DISABLE_PROGRESS) or _flag("HF_HUB_DISABLE_PROGRESS_BARS")


def hub_endpoint() -> str:
    """The Hub's address for links in reports (huggingface_hub reads HF_ENDPOINT itself)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def cache_dir() -> Path:
    """Where fmcat keeps caches it can rebuild at any time (the license-text index):
    ``FMCAT_HOME/cache`` when FMCAT_HOME is set, else the platform's user cache dir."""
    value = os.environ.get(ENV_HOME)
    if value:
        return Path(value).expanduser() / "cache"
    from platformdirs import user_cache_path

    return user_cache_path("fmcat", appauthor=False)


def home() -> Path:
    """fmcat's data directory: ``FMCAT_HOME`` or the platform's user data dir."""
    value = os.environ.get(ENV_HOME)
    if value:
        return Path(value).expanduser()
    from platformdirs import user_data_path

    return user_data_path("fmcat", appauthor=False)


def db_location(cli_value: str | None = None) -> str:
    """The catalog as given by ``--db``, else ``FMCAT_DB``, else the default file."""
    if cli_value:
        return cli_value
    value = os.environ.get(ENV_DB)
    if value:
        return value
    return str(home() / "catalog.db")


def package_data_dir(name: str) -> Path:
    """``catalog`` or ``migrations``: inside the wheel, or at the top of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"fmcat's {name}/ directory is missing from this installation")
