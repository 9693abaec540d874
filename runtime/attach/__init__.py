"""Attachments: every probe kind returns a Link; a Links set detaches them all.

Why: detaching must happen exactly once, in reverse order of attaching, even when an error
interrupts a session half way (DESIGN rule 6). Each attach module returns an object with
``close()``; ``Links`` owns a session's worth of them.
"""

from __future__ import annotations


from typing import Protocol, TypeVar, runtime_checkable

from ..sys.fd import OwnedFd
from ..sys.info import LinkInfo, link_info


@runtime_checkable
class Link(Protocol):
    """An attachment that ``close()`` undoes (idempotently)."""

    def close(self) -> None: ...


L = TypeVar("L", bound=Link)


class AttachError(OSError):
    """Attaching a program failed; the message names the probe and the failing call(s)."""

    def __str__(self) -> str:
        return str(self.strerror)


class Links:
    """Owner of several links; ``close()`` closes them newest first and keeps going when one
    fails (the first error is raised at the end)."""

    def __init__(self) -> None:
        self._links: list[Link] = []

    def add(self, link: L) -> L:
        self._links.append(link)
        return link

    def __len__(self) -> int:
        return len(self._links)

    def __iter__(self):
        return iter(list(self._links))

    def close(self) -> None:
        first: BaseException | None = None
        while self._links:
            link = self._links.pop()
            try:
                link.close()
            except Exception as e:  # keep detaching the rest
                if first is None:
                    first = e
        if first is not None:
            raise first

    def __enter__(self) -> Links:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BpfLink:
    """A BPF link fd: the attachment lives exactly as long as the fd. ``close()`` is
    idempotent."""

    def __init__(self, fd: OwnedFd, description: str) -> None:
        self.link_fd = fd
        self.description = description

    def info(self) -> LinkInfo:
        """Kernel link info (id, type, prog_id)."""
        return link_info(self.link_fd)

    def close(self) -> None:
        self.link_fd.close()

    @property
    def closed(self) -> bool:
        return self.link_fd.closed

    def __enter__(self) -> BpfLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<BpfLink {self.description}{' closed' if self.closed else ''}>"
