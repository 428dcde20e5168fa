"""Domain errors. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


class FmcatError(Exception):
    """Base class: something stopped fmcat from running; ``hint`` says how to fix it."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        model: str | None = None,
        license: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.model = model
        self.license = license
        self.path = path

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class CatalogError(FmcatError):
    """The catalog database cannot be opened or used as it is."""


class NotACatalog(CatalogError):
    """The file or database is not an fmcat catalog."""


class SchemaTooNew(CatalogError):
    """The catalog was written by a newer fmcat."""


class NeedsUpgrade(CatalogError):
    """The catalog's schema is older than this fmcat and must be upgraded explicitly."""


class ModelNotFound(FmcatError):
    """No catalog entry matches the name given."""


class AmbiguousModel(FmcatError):
    """More than one catalog entry matches the name given."""


class InvalidInput(FmcatError):
    """A file, option or record the user gave is malformed."""
