"""Developer tasks. A plain ``nox`` runs lint, typing and tests (what CI runs)."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typing", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
TEST_DEPS = nox.project.dependency_groups(PYPROJECT, "test")
SOURCES = ["src", "tests", "benchmarks", "examples", "scripts", "noxfile.py"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (extra arguments go to pytest)."""
    session.install("-e", ".", *TEST_DEPS)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff format --check and ruff check."""
    session.install("ruff>=0.6")
    session.run("ruff", "format", "--check", *SOURCES)
    session.run("ruff", "check", *SOURCES)


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".", "mypy>=1.10", *TEST_DEPS)
    session.run("mypy")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Run every benchmark script and print its figures (opt-in; slow).

    Ends with a quick replay run of the Pareto benchmark on the RouterBench slice (one seed),
    when the datasets are at ``../shared/data`` beside the repository.
    """
    session.install("-e", ".[bench]", *TEST_DEPS)
    import pathlib

    for script in sorted(pathlib.Path("benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)
    data = pathlib.Path(__file__).resolve().parent.parent / "shared" / "data"
    if (data / "routerbench-subset").is_dir():
        session.run(
            "python",
            "benchmarks/pareto.py",
            "--dataset",
            "routerbench",
            "--out",
            "bench-out/pareto",
        )
    else:
        session.log(
            f"skipping benchmarks/pareto.py: no datasets at {data} (see docs/benchmarks.md)"
        )
