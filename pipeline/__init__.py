"""Text-as-data pipeline for OSCE Yearbook chapters: structure, actors, stance, networks, report."""

import sys

__version__ = "0.1.0"


def _thinc_without_torch() -> None:
    """spaCy's thinc imports torch whenever it is installed (about 1.2 s in every stage process and worker), though
    no spaCy component here runs on torch (torch is installed to build the sentence encoder). Import thinc's
    compatibility module with torch hidden, so that it records 'no torch'; torch stays importable afterwards."""
    if "thinc.compat" in sys.modules or "torch" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import thinc.compat  # noqa: F401
    except ImportError:
        pass
    finally:
        del sys.modules["torch"]


_thinc_without_torch()
