"""The built wheel carries the console's templates and static files and the SQL migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_wheel_contains_console_assets_and_migrations(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, timeout=300, capture_output=True)
    wheel = next(tmp_path.glob("gatewayd-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    templates = [n for n in names if n.startswith("gatewayd/console/templates/") and n.endswith(".html")]
    static = [n for n in names if n.startswith("gatewayd/console/static/")]
    source_templates = list((ROOT / "console" / "templates").rglob("*.html"))
    assert len(templates) == len(source_templates) > 0
    assert any(n.endswith(".css") for n in static) and any(n.endswith(".js") for n in static)
    assert "gatewayd/console/__init__.py" in names
    migrations = sorted(p.name for p in (ROOT / "gatewayd" / "store" / "migrations").glob("*.sql"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("gatewayd/store/migrations/")
                  and n.endswith(".sql")) == migrations
    assert any(n.endswith("entry_points.txt") for n in names)
