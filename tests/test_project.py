"""The project stands on its own: nothing it tracks reaches for files beside the clone."""

from __future__ import annotations

import subprocess

from tests.conftest import DEV_CORPUS, ROOT


def tracked_text_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [name for name in listed.splitlines() if not name.endswith((".png", ".joblib", ".pdf"))]


def test_no_tracked_file_points_outside_the_clone():
    needle = "../" + "shared"
    offenders = [
        name
        for name in tracked_text_files()
        if (ROOT / name).is_file() and needle in (ROOT / name).read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []


def test_the_labelled_corpus_ships_with_its_provenance():
    texts = sorted(p.name for folder in ("dev", "extra") for p in (DEV_CORPUS.parent / folder).glob("*.txt"))
    assert len(texts) == 40
    for table in ("SOURCES.tsv", "METADATA.tsv"):
        rows = (DEV_CORPUS.parent / table).read_text(encoding="utf-8").splitlines()[1:]
        assert sorted(row.split("\t")[0] for row in rows) == texts


def test_every_module_the_code_imports_is_in_this_checkout():
    """An import of a module that moved away must fail here, not resolve to another checkout of the package."""
    import ast

    missing = []
    for path in sorted([*(ROOT / "pipeline").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.split(".")[0] != "pipeline":
                    continue
                module = ROOT.joinpath(*name.split("."))
                if not (module.with_suffix(".py").is_file() or (module / "__init__.py").is_file()):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert missing == []
