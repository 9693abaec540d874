"""Boot a QEMU guest with Debian's kernel (which has kprobes) ONCE and run tests/vm/guest in it.

Why a guest: the development and CI machines run a kernel without CONFIG_KPROBES, so kprobe
code can only be exercised under another kernel. virtme-ng boots Debian's linux-image-amd64
with the host's filesystem as the guest's root (read-only 9p), so the guest runs this very
checkout with this very Python; only a scratch directory is shared read-write, and the guest
writes its pytest JUnit report and exit status there. KVM does not work inside these machines
("failed to set MSR 0x10a"), so QEMU emulates (TCG): about 15 s to boot, everything several
times slower, hence one boot for the whole guest suite (kernel-facts §7).

Environment:
  KT_VM_KERNEL   the kernel image to boot (default: the newest readable /boot/vmlinuz-6.1.*-amd64,
                 else /boot/vmlinuz-*-amd64)
  KT_VM_TIMEOUT  seconds before the guest is killed (default 1800)
  KT_VM_PYTEST   extra arguments for the guest's pytest (e.g. "-k wildcard")
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GUEST_DIR = Path(__file__).resolve().parent / "guest"
GUEST_ENV = "KT_VM_GUEST"          # set only inside the guest (tests/vm/guest/conftest.py)
KERNEL_ENV = "KT_VM_KERNEL"
TIMEOUT_ENV = "KT_VM_TIMEOUT"
PYTEST_ENV = "KT_VM_PYTEST"
DEFAULT_TIMEOUT = 2700   # the guest suite takes ~11 min under emulation (684 s for 65 tests); more on a loaded host
GUEST_MEMORY = "2G"


def _version_key(path: Path) -> tuple:
    return tuple(int(x) if x.isdigit() else x for x in re.split(r"[.-]", path.name))


def find_kernel() -> tuple[Path | None, str]:
    """(kernel image, "") or (None, why there is none usable)."""
    override = os.environ.get(KERNEL_ENV)
    if override:
        candidates = [Path(override)]
    else:
        candidates = (sorted(Path("/boot").glob("vmlinuz-6.1.*-amd64"), key=_version_key)
                      or sorted(Path("/boot").glob("vmlinuz-*-amd64"), key=_version_key))
        candidates.reverse()
    if not candidates:
        return None, ("no guest kernel: /boot/vmlinuz-*-amd64 is missing "
                      "(apt-get install -y linux-image-amd64)")
    unreadable = []
    for image in candidates:
        if not image.is_file():
            unreadable.append(f"{image} does not exist")
            continue
        if not os.access(image, os.R_OK):
            unreadable.append(f"{image} is not readable by uid {os.geteuid()}")
            continue
        version = image.name.removeprefix("vmlinuz-")
        if not Path("/lib/modules", version).is_dir():
            # The guest loads 9p/virtio modules from the host's /lib/modules.
            unreadable.append(f"/lib/modules/{version} is missing for {image}")
            continue
        return image, ""
    return None, ("no usable guest kernel: " + "; ".join(unreadable)
                  + " (apt-get install -y linux-image-amd64, run as root, or set KERNEL_ENV)"
                  .replace("KERNEL_ENV", KERNEL_ENV))


def missing_prerequisites() -> str | None:
    """None when a guest can be booted here, else a sentence naming what to install."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        return f"the kprobe guest needs an x86_64 Linux host (this is {platform.machine()})"
    missing = []
    if shutil.which("vng") is None:
        missing.append("vng is not installed (python3 -m pip install virtme-ng)")
    if shutil.which("qemu-system-x86_64") is None:
        missing.append("qemu-system-x86_64 is not installed (apt-get install -y "
                       "qemu-system-x86)")
    if not any(shutil.which(n) for n in ("busybox-static", "busybox.static", "busybox")):
        missing.append("no static busybox for the guest's initramfs "
                       "(apt-get install -y busybox-static)")
    kernel, why = find_kernel()
    if kernel is None:
        missing.append(why)
    if missing:
        return "cannot boot the kprobe test guest: " + "; ".join(missing)
    return None


@dataclass
class CaseResult:
    file: str            # "test_kprobe.py"
    name: str            # "test_kretprobe_sees_return_value"
    outcome: str         # passed failed error skipped xfailed
    message: str = ""
    seconds: float = 0.0


@dataclass
class GuestRun:
    """What one boot produced."""

    command: list[str]
    kernel: Path
    returncode: int | None          # the guest pytest's exit status (None: it did not finish)
    output: str                     # everything the guest printed (console and pytest)
    seconds: float                  # wall time of the whole boot + run
    cases: list[CaseResult] = field(default_factory=list)
    problem: str = ""               # why the run as a whole is broken, if it is

    def for_file(self, filename: str) -> list[CaseResult]:
        return [c for c in self.cases if c.file == filename]

    def tail(self, lines: int = 150) -> str:
        out = self.output.rstrip().splitlines()
        cut = out[-lines:]
        head = f"[... {len(out) - len(cut)} earlier lines ...]\n" if len(out) > len(cut) else ""
        return head + "\n".join(cut)


def _guest_script(scratch: Path) -> str:
    bindir = str(Path(sys.executable).parent)
    env = {
        GUEST_ENV: "1",
        "KT_REQUIRE_KERNEL": "1",          # inside the guest nothing may skip
        "PYTHONUNBUFFERED": "1",
        "HOME": str(scratch),
    }
    # The guest sees the host's files but not its environment: a checkout run through
    # PYTHONPATH (a worktree beside the editable install's) must be the one the guest imports.
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    args = [sys.executable, "-m", "pytest", str(GUEST_DIR.relative_to(REPO)), "-q", "-rA",
            "-p", "no:cacheprovider", "--junitxml", str(scratch / "junit.xml"),
            "-o", "junit_family=xunit2", "-o", "junit_logging=all", "--durations=5"]
    args += shlex.split(os.environ.get(PYTEST_ENV, ""))
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    # The root filesystem is the host's, read-only, so Python cannot update stale .pyc files
    # there (the tree changes between host runs): without a cache each `kt` in the guest
    # compiled ~130 modules from source, seconds under emulation. A cache in guest memory
    # (tmpfs), shared by the guest's processes, compiles each module once per boot.
    cache = f"$(mktemp -d 2>/dev/null || echo {shlex.quote(str(scratch / 'pycache'))})"
    return (f"cd {shlex.quote(str(REPO))} && export {exports} "
            f"PYTHONPYCACHEPREFIX={cache} "
            f"PATH={shlex.quote(bindir)}:\"$PATH\"; "
            f"{shlex.join(args)}; echo $? > {shlex.quote(str(scratch / 'rc'))}")


def vng_command(kernel: Path, scratch: Path) -> list[str]:
    return [shutil.which("vng") or "vng", "--run", str(kernel),
            "--disable-kvm",         # KVM aborts in these machines; TCG works
            "--force-9p",            # virtiofs needs a virtiofsd; 9p is built into QEMU
            "--user", "root",        # bpf() and tracefs need root in the guest
            "--memory", GUEST_MEMORY,
            "--rwdir", str(scratch),  # the only place the guest may write to the host
            "--exec", _guest_script(scratch)]


def _parse_junit(path: Path) -> list[CaseResult]:
    cases = []
    root = ET.parse(path).getroot()
    for tc in root.iter("testcase"):
        module = tc.get("classname", "").split(".")
        # classname "tests.vm.guest.test_kprobe" (or "...test_kprobe.TestClass")
        file = next((m + ".py" for m in module if m.startswith("test_")), "?")
        outcome, message = "passed", ""
        for child in tc:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                message = (child.get("message") or "") + "\n" + (child.text or "")
            elif child.tag == "skipped":
                xfail = (child.get("type") or "") == "pytest.xfail"
                outcome = "xfailed" if xfail else "skipped"
                message = child.get("message") or ""
        for extra in ("system-out", "system-err"):
            node = tc.find(extra)
            if outcome not in ("passed", "xfailed") and node is not None and node.text:
                message += f"\n--- captured {extra} ---\n{node.text}"
        cases.append(CaseResult(file, tc.get("name", "?"), outcome, message.strip(),
                                float(tc.get("time") or 0)))
    return cases


def run_guest(timeout: float | None = None) -> GuestRun:
    """Boot the guest, run tests/vm/guest in it, and collect per-test results."""
    kernel, why = find_kernel()
    if kernel is None:
        raise RuntimeError(why)
    timeout = timeout or float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    with tempfile.TemporaryDirectory(prefix="kt-vm-") as tmp:
        scratch = Path(tmp)
        cmd = vng_command(kernel, scratch)
        start = time.monotonic()
        # Own session: on timeout the whole tree (vng, qemu) is killed, not just vng.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace",
                                start_new_session=True, cwd=REPO)
        problem = ""
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            problem = f"the guest did not finish within {timeout:.0f} s ({TIMEOUT_ENV})"
        seconds = time.monotonic() - start
        rc_file = scratch / "rc"
        rc = int(rc_file.read_text().strip()) if rc_file.is_file() else None
        cases: list[CaseResult] = []
        junit = scratch / "junit.xml"
        if junit.is_file():
            try:
                cases = _parse_junit(junit)
            except ET.ParseError as e:
                problem = problem or f"unreadable JUnit report from the guest: {e}"
        if not problem and rc is None:
            problem = (f"the guest's pytest never finished (vng exited with {proc.returncode}; "
                       f"boot failure?)")
        elif not problem and not cases:
            problem = f"the guest ran no tests (pytest exit status {rc})"
        return GuestRun(cmd, kernel, rc, output, seconds, cases, problem)
