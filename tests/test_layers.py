"""The layers hold in practice, not only on paper: every domain module imports in a fresh
interpreter without Flask or SQLAlchemy being loaded. (import-linter checks the whole graph in
`make check` and `make test`; this proves what a reader of one module relies on.)"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import courseware.domain

DOMAIN_MODULES = sorted(
    info.name for info in pkgutil.walk_packages(courseware.domain.__path__, "courseware.domain.")
)
FORBIDDEN = ("flask", "flask_login", "flask_wtf", "werkzeug", "sqlalchemy")


def test_the_domain_package_is_not_empty() -> None:
    assert {"courseware.domain.quiz", "courseware.domain.rubric", "courseware.domain.certify",
            "courseware.domain.content.parse"} <= set(DOMAIN_MODULES)


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_a_domain_module_loads_no_framework(module: str) -> None:
    code = (f"import sys, {module}; "
            f"loaded = [m for m in {FORBIDDEN!r} if m in sys.modules]; "
            "print(','.join(loaded))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "", f"{module} loads {result.stdout.strip()}"


def test_the_package_root_loads_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys, courseware; print(len([m for m in sys.modules "
                               "if m.startswith(('flask', 'sqlalchemy'))]))"],
        capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "0"
