"""Report: the self-contained HTML report, its figures and the Frictionless descriptor of the tables."""
