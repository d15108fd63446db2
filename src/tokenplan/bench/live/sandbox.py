"""Run untrusted Python (a model's solution plus hidden tests) in a constrained subprocess.

Each run gets a fresh temporary directory as its working directory, an isolated interpreter
(``python -I``: no user site, no ``PYTHON*`` variables, script dir not on ``sys.path``), an
empty environment apart from ``PATH``, no stdin, and - where the platform has them - resource
limits set inside the child before the program starts: address space, CPU seconds, file size.
A run that outlives ``timeout_s`` is killed with its whole process group.

This keeps honest mistakes (infinite loops, memory blow-ups, stray files) contained. It is not
a security boundary against hostile code: run live benchmarks on a machine you do not mind a
model's code running on.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import anyio

__all__ = ["RunResult", "run_python", "run_tests"]

_BOOTSTRAP = """
import sys
try:
    import resource
except ImportError:
    resource = None

def _limit(name, value):
    kind = getattr(resource, name, None)
    if kind is None:
        return
    try:
        soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass

if resource is not None:
    _limit("RLIMIT_AS", int(sys.argv[2]) * 1024 * 1024)
    _limit("RLIMIT_CPU", int(sys.argv[3]))
    _limit("RLIMIT_FSIZE", 1024 * 1024)
import runpy
program = sys.argv[1]
sys.argv = [program]
runpy.run_path(program, run_name="__main__")
"""

_OUTPUT_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended. ``output`` is the tail of stdout and stderr together."""

    passed: bool
    timed_out: bool
    returncode: int | None
    output: str
    seconds: float


def _kill(pid: int) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass


async def run_python(program: str, *, timeout_s: float = 10.0, memory_mb: int = 512) -> RunResult:
    """Run ``program`` (Python source) under the limits above; passed = exit status 0."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tokenplan-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "program.py").write_text(program, encoding="utf-8")
        log_path = workdir / "output.log"
        cpu_s = max(1, int(timeout_s) + 1)
        command = [
            sys.executable,
            "-I",
            "-c",
            _BOOTSTRAP,
            "program.py",
            str(memory_mb),
            str(cpu_s),
        ]
        with log_path.open("wb") as log:
            process = await anyio.open_process(
                command,
                cwd=workdir,
                env={"PATH": os.environ.get("PATH", os.defpath)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
            timed_out = False
            try:
                with anyio.fail_after(timeout_s):
                    await process.wait()
            except TimeoutError:
                timed_out = True
                _kill(process.pid)
                with anyio.CancelScope(shield=True):
                    await process.wait()
            finally:
                if process.returncode is None:  # cancelled from outside
                    _kill(process.pid)
                    with anyio.CancelScope(shield=True):
                        await process.wait()
        output = log_path.read_bytes()[-_OUTPUT_LIMIT:].decode("utf-8", "replace")
    return RunResult(
        passed=not timed_out and process.returncode == 0,
        timed_out=timed_out,
        returncode=process.returncode,
        output=output,
        seconds=time.monotonic() - started,
    )


_TEST_HARNESS = """
SOLUTION = {solution!r}
TESTS = {tests!r}
namespace = {{"__name__": "solution"}}
try:
    exec(compile(SOLUTION, "solution.py", "exec"), namespace)
except SystemExit:
    raise AssertionError("the solution exited while being loaded") from None
namespace["__name__"] = "__main__"
exec(compile(TESTS, "tests.py", "exec"), namespace)
print({nonce!r})
"""


async def run_tests(
    solution: str, tests: str, *, timeout_s: float = 10.0, memory_mb: int = 512
) -> RunResult:
    """Load ``solution`` as a module, then run ``tests`` against it; passed = all ran through.

    The solution is loaded under the name ``solution``, so its ``if __name__ == "__main__"``
    block does not run, and success is a random marker printed after the last test: a
    solution that exits early (``sys.exit(0)``, ``unittest.main()``) does not pass.
    """
    nonce = "tests-passed-" + secrets.token_hex(8)
    program = _TEST_HARNESS.format(solution=solution, tests=tests, nonce=nonce)
    result = await run_python(program, timeout_s=timeout_s, memory_mb=memory_mb)
    passed = result.passed and nonce in result.output
    return RunResult(passed, result.timed_out, result.returncode, result.output, result.seconds)
