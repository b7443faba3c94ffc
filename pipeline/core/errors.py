"""The errors a user can cause; the CLI turns each into one line on stderr."""

from __future__ import annotations

import errno


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


class OutputError(PipelineError):
    """The output folder cannot take this run's artifacts: in use by another run, full, or not writable."""


# What a failed write means to a user, by errno: these are about the disk or the folder, not the pipeline.
_OS_PROBLEMS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "not a directory",
    errno.EEXIST: "a file is in the way",
}


def os_problem(exc: OSError) -> str:
    """An OSError as a short lowercase phrase (``no space left on device``), without the file name."""
    if exc.errno in _OS_PROBLEMS:
        return _OS_PROBLEMS[exc.errno]
    text = (exc.strerror or str(exc) or type(exc).__name__).strip()
    return text[:1].lower() + text[1:]


class FeatureDesignError(ModelError):
    """The trained stance model reads sentences another way than the stance config's ``learned.feature_design``."""
