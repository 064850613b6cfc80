"""The package contracts of docs/architecture.md hold (import-linter, the real ``lint-imports`` on the repository's
``.importlinter``), and a wrong-way import breaks them: each contract is shown failing on a copy of the packages
with one import added."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "evaluator", "submissions", "leaderboard")
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT_IMPORTS, "--config", str(root / ".importlinter"), "--no-cache"], cwd=root,
                          capture_output=True, text=True, timeout=300)


def test_the_repository_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def copy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four packages' Python files and the contracts, copied once (the injections below edit one file each)."""
    root = tmp_path_factory.mktemp("contracts")
    shutil.copy(ROOT / ".importlinter", root / ".importlinter")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=lambda _, names: [
            n for n in names if not (n.endswith(".py") or (Path(_) / n).is_dir()) or n == "__pycache__"])
    return root


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("leaderboard/ranking.py", "import evaluator.engine.spec", "leaderboard imports from evaluator only the definition"),
    ("common/settings.py", "import submissions.tables", "common imports no package"),
    ("submissions/planning.py", "from evaluator.ops.worker import Worker", "submissions does not reach into"),
    ("evaluator/benchmark/tasks.py", "import leaderboard.labels", "Data flows one way"),
    ("evaluator/benchmark/scoring/choice.py", "import evaluator.engine.scoring", "Inside evaluator"),
    ("evaluator/engine/planner.py", "from evaluator.ops.leases import claim_run", "Inside evaluator"),
    ("evaluator/engine/planner.py", "from evaluator.engine.execution import run_units", "the run spec imports no engine"),
    ("evaluator/engine/progress.py", "import evaluator.engine.scoring", "the run spec imports no engine"),
    ("evaluator/engine/spec.py", "from evaluator.engine.units import WorkUnit", "the run spec imports no engine"),
    ("evaluator/engine/spec.py", "from evaluator.engine.runners import load_runner", "import no runner"),
])
def test_a_wrong_way_import_breaks_its_contract(copy_root: Path, module: str, line: str, contract: str) -> None:
    path = copy_root / module
    original = path.read_text(encoding="utf-8")
    path.write_text(original + f"\n{line}  # injected by the test\n", encoding="utf-8")
    try:
        result = lint_imports(copy_root)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in " ".join(broken.split()), result.stdout
    assert module.removesuffix(".py").replace("/", ".") in broken
