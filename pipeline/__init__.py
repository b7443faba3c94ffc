"""Text-as-data pipeline for OSCE Yearbook chapters: structure, actors, stance, networks, report."""

__version__ = "0.1.0"
