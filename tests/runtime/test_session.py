"""What a user is told when the kernel's verifier rejects a program (real kernel)."""

import io

import pytest

from kt.runtime.load_errors import VERIFIER_TAIL_LINES
from kt.runtime.session import Session, SessionError

from .objects import bad_object

pytestmark = pytest.mark.kernel


def _rejection(verbose: bool) -> str:
    with pytest.raises(SessionError) as info:
        Session(bad_object(), out=io.BytesIO(), quiet=True, verbose=verbose).run()
    return str(info.value)


def test_verifier_rejection_shows_the_logs_last_lines():
    msg = _rejection(verbose=False)
    first, where, *log = msg.splitlines()
    assert first == ("the kernel's verifier rejected bad_prog (tracepoint/syscalls/sys_enter_getpid): "
                     "Permission denied")
    assert where == "  at test.kt:1"  # from the object's BTF line info, quoted by the verifier
    assert any("invalid mem access 'map_value_or_null'" in line for line in log)
    assert len([l for l in log if not l.startswith("(")]) <= VERIFIER_TAIL_LINES


def test_verbose_shows_the_whole_verifier_log():
    short = _rejection(verbose=False)
    full = _rejection(verbose=True)
    assert "-v shows all" not in full
    assert len(full.splitlines()) >= len(short.splitlines()) - 1
    assert "R0 invalid mem access 'map_value_or_null'" in full
