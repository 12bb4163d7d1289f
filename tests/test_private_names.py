"""No module imports another module's private name (issue 23). ruff's PLC2701 (pyproject.toml) finds such an
import only across top-level packages (tests/ into core/); this test finds it inside one too (core into core)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {"core", "ui", "pages", "bench", "tests"}


def _python_files() -> list[Path]:
    files = [ROOT / "streamlit_app.py"]
    for package in sorted(PROJECT_PACKAGES):
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def test_no_private_name_is_imported_from_another_project_module():
    found = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
                continue
            if node.module.split(".")[0] not in PROJECT_PACKAGES:
                continue
            found += [f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name} from {node.module}"
                      for alias in node.names if alias.name.startswith("_")]
    assert not found, "make the name public in its home module instead:\n" + "\n".join(found)
