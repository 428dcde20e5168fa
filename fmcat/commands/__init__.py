"""Command groups loaded lazily by ``fmcat.cli`` (click's "complex applications")."""
