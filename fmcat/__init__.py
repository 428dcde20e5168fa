"""fmcat: a catalog of foundation models, their licenses and the evidence that they run."""

__version__ = "0.1.0"
