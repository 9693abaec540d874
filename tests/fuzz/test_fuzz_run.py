"""Properties in the kernel: every generated program the compiler accepts loads, passes the
verifier and runs to its end; BEGIN-only programs print what bpftrace 0.17 prints (its
"Attaching N probes..." line dropped), documented differences aside (harness.DOCUMENTED).

Programs run in one worker process (many per process: llvmlite, lark and BTF load once); the
probes that fire are the worker's own (its pid is filled into the predicates).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from ..e2e.test_differential import NEEDS_BPFTRACE
from .harness import check_compare, check_run, examples, known_issue
from .strategies import programs

pytestmark = [pytest.mark.kernel]


@settings(settings.get_profile("kt-fuzz"), max_examples=examples(40))
@given(src=programs("run"))
def test_accepted_programs_load_verify_and_run(worker, figures, src):
    reply = check_run(worker, src, figures)
    if reply.status == "diagnostic":
        return
    assert (reply.status == "ran" and reply.rc == 0) or known_issue(src, reply.detail), \
        f"{reply.status} (rc {reply.rc}): {reply.detail}"


@NEEDS_BPFTRACE
@settings(settings.get_profile("kt-fuzz"), max_examples=examples(30))
@given(src=programs("compare"))
def test_begin_programs_print_what_bpftrace_prints(worker, figures, src):
    cls = check_compare(worker, src, figures)
    assert cls in ("same", "order", "documented", "known", "bt_refused") or known_issue(src, figures.findings[-1][2]), \
        figures.findings[-1][2] if figures.findings else cls
