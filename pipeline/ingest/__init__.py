"""Ingest: texts (.txt, .pdf and METADATA.tsv) to documents, sections, paragraphs and footnotes."""
