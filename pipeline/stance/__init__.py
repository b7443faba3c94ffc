"""Stance: every body sentence judged toward every target, the summaries by section and document, and the learned
model's training, evaluation and review loop."""
