"""The -c child: started before compiling (its pid is `cpid`), held before exec until every
probe is attached, so the trace sees it from its first instruction. bpftrace does the same.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
from dataclasses import dataclass, field


class ChildError(Exception):
    pass


def resolve_command(command: str) -> list[str]:
    """Split a -c command like a shell and find the program as a shell would (first match on
    PATH), so a binary reachable through several mounts is not ambiguous (kernel-facts §7)."""
    argv = shlex.split(command)
    if not argv:
        raise ChildError("-c needs a command")
    if "/" not in argv[0]:
        found = shutil.which(argv[0])
        if found is None:
            raise ChildError(f"-c: command not found: {argv[0]}")
        argv[0] = found
    elif not os.access(argv[0], os.X_OK):
        raise ChildError(f"-c: cannot execute {argv[0]}")
    return argv


@dataclass
class HeldChild:
    """A forked child blocked on a pipe; release() lets it exec the command."""
    pid: int
    _go_fd: int
    pidfd: int = -1
    status: int | None = None
    _released: bool = field(default=False)
    argv: tuple[str, ...] = ()    # the command, argv[0] resolved (watchpoint:FUNC+argN probes it)

    @staticmethod
    def spawn(argv: list[str]) -> "HeldChild":
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.close(w)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                if os.read(r, 1) != b"g":
                    os._exit(0)
                os.close(r)
                os.execv(argv[0], argv)
            except BaseException:
                pass
            os._exit(127)
        os.close(r)
        child = HeldChild(pid, w, argv=tuple(argv))
        child.pidfd = os.pidfd_open(pid)
        return child

    def release(self) -> None:
        if not self._released:
            os.write(self._go_fd, b"g")
            os.close(self._go_fd)
            self._released = True

    def poll(self) -> bool:
        """True once the child has exited (reaped)."""
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status is not None

    def kill(self) -> None:
        """Stop a child that should not run (compile error) or outlives the trace."""
        if not self._released:
            os.close(self._go_fd)  # the child reads EOF and exits without exec'ing
            self._released = True
        elif self.status is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.status is None:
            _, self.status = os.waitpid(self.pid, 0)
        self.close()

    def close(self) -> None:
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
