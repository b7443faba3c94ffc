"""Parse: paragraphs and footnotes to sentences with spaCy, and the parsed docs kept for entities and stance."""
