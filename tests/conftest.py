"""Kernel tests: skipped with a reason when they cannot run here, failed when CI needs them.

Tests marked ``@pytest.mark.kernel`` load programs into the running kernel, which needs root
(or CAP_BPF + CAP_PERFMON) and a kernel with bpf(). On a developer machine without those they
are skipped with the reason. CI sets KT_REQUIRE_KERNEL=1: then the same condition is an error,
so a CI run can never pass by skipping the kernel (DESIGN "Testing in a real kernel").
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile

import pytest

REQUIRE_ENV = "KT_REQUIRE_KERNEL"


_CACHE_HOME = "KT_TEST_CACHE_HOME"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers",
                            "kernel: loads programs into the running kernel (needs root)")
    # kt's object cache (runtime/cache.py) goes to a directory of this test session, never the
    # user's: a run starts cold and later runs of a script are warm, the same on every machine.
    if _CACHE_HOME not in os.environ:
        os.environ[_CACHE_HOME] = os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="kt-test-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.pop(_CACHE_HOME, None)
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


@functools.cache
def kernel_unavailable_reason() -> str | None:
    """Why kernel tests cannot run in this process, or None if they can."""
    from kt.runtime.sys.syscall import bpf_support, has_bpf_privileges

    if not has_bpf_privileges():
        return ("kernel test needs root (or CAP_BPF+CAP_PERFMON) to load BPF programs; "
                f"running as uid {os.geteuid()}")
    support = bpf_support()
    if not support.ok:
        return f"kernel test cannot use bpf(): {support.reason}"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("kernel") is None:
        return
    reason = kernel_unavailable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1: kernel tests must run, not skip)",
                    pytrace=False)
    pytest.skip(reason)
