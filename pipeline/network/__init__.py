"""Network: co-mention and signed networks of the actors, their exports and figures."""
