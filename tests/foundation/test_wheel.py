"""The built wheel carries the console's templates and static files and the SQL migrations, and exactly the
modules of the source tree: the two top-level packages, gatewayd and console, under their own names."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGES = ("gatewayd", "console")


@pytest.fixture(scope="module")
def names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The file names inside the wheel built from this tree."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    # From a copy of the sources: setuptools builds in ./build/lib and never empties it, so an in-tree
    # build ships modules that were moved or deleted since the last one.
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", *PACKAGES):
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, source / name)
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(source)], check=True, timeout=300, capture_output=True)
    wheel = next(out.glob("gatewayd-*.whl"))
    return zipfile.ZipFile(wheel).namelist()


def test_wheel_contains_console_assets_and_migrations(names: list[str]) -> None:
    templates = [n for n in names if n.startswith("console/templates/") and n.endswith(".html")]
    static = [n for n in names if n.startswith("console/static/")]
    source_templates = list((ROOT / "console" / "templates").rglob("*.html"))
    assert len(templates) == len(source_templates) > 0
    assert any(n.endswith(".css") for n in static) and any(n.endswith(".js") for n in static)
    assert "console/locales/fr.json" in names and "console/locales/en.json" in names
    migrations = sorted(p.name for p in (ROOT / "gatewayd" / "store" / "migrations").glob("*.sql"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("gatewayd/store/migrations/")
                  and n.endswith(".sql")) == migrations
    assert any(n.endswith("entry_points.txt") for n in names)


def test_wheel_holds_exactly_the_source_modules_under_their_folder_names(names: list[str]) -> None:
    shipped = sorted(n for n in names if n.endswith(".py"))
    source = sorted(p.relative_to(ROOT).as_posix() for package in PACKAGES for p in (ROOT / package).rglob("*.py")
                    if "__pycache__" not in p.parts)
    assert shipped == source
    assert "console/py.typed" in names and "gatewayd/py.typed" in names  # both packages are typed for mypy
    assert not [n for n in names if n.startswith("gatewayd/console/")]
