"""The demo's services as child processes in one process group of their own.

Every child is started in the group of the first one, so one ``killpg`` reaches them all (and their
own children), whatever state the demo is in. On Linux each child also asks the kernel for SIGTERM
when the demo dies, so even a demo killed with SIGKILL leaves no service behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None


class Children:
    """Starts named commands with their output in log files; stops all of them together."""

    def __init__(self, log_dir: Path, env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        self.env = dict(env)
        self.children: list[Child] = []
        self.pgid: int | None = None

    def start(self, name: str, argv: Sequence[str]) -> Child:
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("ab")
        process = subprocess.Popen(  # noqa: S603 - argv is ours: this interpreter and amo-bridge
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            process_group=0 if self.pgid is None else self.pgid,
            preexec_fn=_die_with_parent,
        )
        if self.pgid is None:
            self.pgid = process.pid
        child = Child(name, process, log_path, log)
        self.children.append(child)
        return child

    def run(
        self, name: str, argv: Sequence[str], *, timeout: float, checkpoint: Callable[[], None] | None = None
    ) -> tuple[int, str]:
        """Run a short command to its end (in the same group); its exit status and output.

        ``checkpoint`` is called while waiting; whatever it raises ends the wait (the command is killed).
        """
        child = self.start(name, argv)
        deadline = time.monotonic() + timeout
        try:
            while child.process.poll() is None:
                if checkpoint is not None:
                    checkpoint()
                if time.monotonic() >= deadline:
                    child.process.kill()
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(timeout=0.2)
        finally:
            if child.process.poll() is None:
                child.process.kill()
            child.process.wait()
            child.log.close()
            self.children.remove(child)
        return child.process.returncode, child.log_path.read_text(encoding="utf-8", errors="replace")

    def dead(self) -> list[Child]:
        return [c for c in self.children if not c.alive()]

    def stop_all(self, *, grace: float = 8.0) -> None:
        """SIGTERM to the whole group, SIGKILL to whatever is still there after ``grace`` seconds."""
        if self.pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        if self.pgid is not None and group_alive(self.pgid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, signal.SIGKILL)
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=2)
            child.log.close()


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists (zombies of our own children are reaped first)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
