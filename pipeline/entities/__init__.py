"""Entities: actor mentions in the parsed sentences, resolved to gazetteer entries, and the corpus entity table."""
