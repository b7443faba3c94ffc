"""The errors a user can cause; the CLI turns each into one line on stderr."""

from __future__ import annotations


class PipelineError(Exception):
    """Base for everything a user can get wrong: bad input, bad config, missing model."""


class InputError(PipelineError):
    """A source document cannot be read or makes no sense; other documents go on."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class ConfigError(PipelineError):
    """A config file is missing, malformed, or has an unknown or missing key."""


class ModelError(PipelineError):
    """A model package or a trained model file is missing or unusable."""


class ArtifactError(PipelineError):
    """An artifact an upstream stage should have written is missing or has the wrong schema."""


class FeatureDesignError(ModelError):
    """The trained stance model reads sentences another way than the stance config's ``learned.feature_design``."""
