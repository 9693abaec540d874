"""The corpus of bad scripts (tests/e2e/errors/): kt's whole message for each, as a user sees it.

Each case is NAME.kt, the script, and NAME.expected, kt's stderr exactly: file:line:col, the
source line, the caret, the hints. A case's leading `//` lines may hold directives:

    // kt-args: -B nope {file}     the command line ({file} is the case's file; default "{file}")
    // kt-env: NAME=VALUE ...      environment variables for the run
    // kt-as: nobody               run as uid/gid 65534 (setpriv), no capabilities
    // kt-as: no-btf               in a mount namespace with an empty /sys/kernel/btf
    // kt-as: no-tracefs           in a mount namespace where /sys/kernel is an empty read-only
                                   tmpfs: neither tracefs path exists, nor can kt mount one

and a `// bpftrace 0.17: ...` line says what 0.17 says of the same script. The environment
conditions are real (another uid, a namespace without the files), never a mock of the kernel.

KT_UPDATE_ERRORS=1 rewrites the .expected files from kt's output; review every changed one by
hand (git diff): an expectation is only worth keeping when the message is a good one.
"""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "errors"
UPDATE = os.environ.get("KT_UPDATE_ERRORS") == "1"
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
          "--bounding-set=-all")

pytestmark = pytest.mark.kernel   # kt refuses to compile for a non-root user, and -as needs root


def _directives(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        key, sep, value = line[2:].strip().partition(":")
        if sep and key.startswith("kt-"):
            out[key] = value.strip()
    return out


REPO = Path(__file__).resolve().parents[2]


@functools.cache
def _kt_for_nobody() -> str:
    """A directory uid 65534 can read holding the package `kt` (a copy of this checkout's
    sources, laid out as installed: kt/__init__.py is api/__init__.py), for its PYTHONPATH. The
    editable install's finder lives in the interpreter's site-packages, which another user's
    interpreter may not see, and the checkout may sit under a directory only root enters."""
    import atexit
    import shutil
    import tempfile
    top = Path(tempfile.mkdtemp(prefix="kt-nobody-"))
    atexit.register(shutil.rmtree, top, True)
    pkg = top / "kt"
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("compiler", "runtime", "grammar"):
        shutil.copytree(REPO / name, pkg / name, ignore=ignore)
    shutil.copy(REPO / "api" / "__init__.py", pkg / "__init__.py")
    for d in (top, *top.rglob("*")):
        d.chmod(0o755 if d.is_dir() else 0o644)
    return str(top)


@functools.cache
def _python_for_nobody() -> str:
    """An interpreter uid 65534 may run that finds kt: this one, unless it lives in a directory
    only root can enter (pyenv under /root), else the system's python3. Either runs the same kt
    sources, since the refusal comes before anything beyond the standard library is imported."""
    env = {**os.environ, "PYTHONPATH": _kt_for_nobody()}
    for exe in (sys.executable, "/usr/bin/python3"):
        if subprocess.run([*NOBODY, exe, "-c", "import kt.runtime.cli"], capture_output=True, env=env,
                          cwd="/").returncode == 0:
            return exe
    pytest.fail("no Python interpreter that uid 65534 can run kt with")


def _command(case: Path, directives: dict[str, str]) -> list[str]:
    args = [a.replace("{file}", case.name) for a in shlex.split(directives.get("kt-args", "{file}"))]
    how = directives.get("kt-as")
    if how == "nobody":
        return [*NOBODY, _python_for_nobody(), "-m", "kt.runtime.cli", *args]
    kt = [sys.executable, "-m", "kt.runtime.cli", *args]   # `kt` itself, without pyenv's shim (0.6 s a run)
    if how == "no-btf":
        setup = "mount -t tmpfs -o ro,mode=755 none /sys/kernel/btf"
    elif how == "no-tracefs":
        setup = "mount -t tmpfs -o ro,mode=755 none /sys/kernel"
    elif how is None:
        return kt
    else:
        raise AssertionError(f"{case.name}: unknown kt-as {how!r}")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{setup} && exec "$@"', "sh", *kt]


def _env(directives: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    if directives.get("kt-as") == "nobody":
        env["PYTHONPATH"] = _kt_for_nobody()
    for item in shlex.split(directives.get("kt-env", "")):
        name, _, value = item.partition("=")
        env[name] = value
    return env


def _cases() -> list[Path]:
    return sorted(CASES.glob("*.kt"))


def _run(case: Path) -> subprocess.CompletedProcess:
    directives = _directives(case.read_text())
    return subprocess.run(_command(case, directives), capture_output=True, text=True, timeout=120,
                          cwd=CASES, env=_env(directives), stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def corpus_runs(request) -> dict[Path, "Future"]:
    """Every selected case's run, started at once on a few threads (each run is a kt process,
    ~1 s of start-up and compile): the corpus takes about a CPU count's fraction of the time."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "callspec", None) and item.originalname == "test_bad_script_message"]
    pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)))
    yield {case: pool.submit(_run, case) for case in selected}
    pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.stem)
def test_bad_script_message(case: Path, corpus_runs):
    proc = corpus_runs[case].result() if case in corpus_runs else _run(case)
    expected = case.with_suffix(".expected")
    if UPDATE:
        expected.write_text(proc.stderr)
    assert proc.returncode != 0, f"{case.name} was accepted:\n{proc.stdout}{proc.stderr}"
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == expected.read_text()


def test_corpus_size_per_category():
    """The issue asks for at least 80 bad scripts over syntax, types, names, probe kinds, limits
    and the environment; every case has its expectation."""
    cases = _cases()
    by_category: dict[str, int] = {}
    for c in cases:
        by_category[c.stem.split("_")[0]] = by_category.get(c.stem.split("_")[0], 0) + 1
        assert c.with_suffix(".expected").exists() or UPDATE, f"{c.name} has no .expected"
    assert len(cases) >= 80
    assert set(by_category) == {"syntax", "type", "name", "probe", "limit", "env"}, by_category
