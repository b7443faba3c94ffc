"""One run at a time per output folder: an exclusive OS lock (``flock``) on ``OUT/.lock``.

Every command that writes OUT takes the lock before it writes anything and gives it up when it ends; the kernel
releases it however the process ends, so a killed run never blocks the next one. The file also holds the pid of the
run that has the lock, for the one line a refused run prints. A refused run exits at once rather than waiting: a
second run on the same folder is nearly always a mistake, and a silent wait could last as long as a whole run.

Make runs each stage as its own process, so between two stages no process of the run would hold the lock. The
Makefile therefore passes each stage its own pid (``PIPELINE_MAKE_PID``): the first stage that takes the lock hands
a copy of it to a keeper process that holds it until that make ends, and the later stages of the same make (its
descendants) go on under it. Another run on the same OUT is refused from the first stage of the make to its end.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import OutputError, os_problem

LOCK_FILE = ".lock"
MAKE_PID = "PIPELINE_MAKE_PID"
# How long a refused run waits for a keeper whose make has just ended (it lets go within milliseconds).
KEEPER_GRACE_S = 5.0

# The keeper: holds the inherited lock until the make whose pid it is given has ended.
KEEPER = """
import os, select, sys, time
make = int(sys.argv[1])
try:
    select.select([os.pidfd_open(make)], [], [])
except (AttributeError, OSError):  # no pidfd (an old kernel, or make has already ended): look every 0.2 s
    while True:
        try:
            os.kill(make, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
"""


@dataclass
class OutputLock:
    """The lock on one output folder, as this process holds it (``fd`` is None under a make's keeper)."""

    out: Path
    fd: int | None
    made: tuple[Path, ...] = ()  # the folders this run created for OUT, OUT first

    @property
    def created(self) -> bool:
        return bool(self.made)

    @property
    def made_empty_folder(self) -> bool:
        """This run created OUT and nothing but the lock is in it: a typo in ``--out`` should leave nothing behind."""
        return self.created and _only_the_lock(self.out)

    def release(self) -> None:
        if self.fd is None:
            return
        if self.made_empty_folder:  # removed while still held, so no other run can have taken it meanwhile
            with contextlib.suppress(OSError):
                (self.out / LOCK_FILE).unlink()
                for folder in self.made:
                    folder.rmdir()
        os.close(self.fd)
        self.fd = None


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[OutputLock]:
    """Hold OUT's lock for the duration of the block; an OutputError if another run holds it."""
    lock = acquire(out)
    try:
        yield lock
    finally:
        lock.release()


def acquire(out: Path) -> OutputLock:
    """Take OUT's lock, creating OUT if need be; an OutputError naming the pid of the run that holds it."""
    made = tuple(folder for folder in (out, *out.parents) if not folder.is_dir())
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the output folder ({os_problem(exc)})") from None
    path = out / LOCK_FILE
    make = _make_pid()
    deadline = time.monotonic() + KEEPER_GRACE_S
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:  # OUT was removed since (by a run that found it empty): make it again
            out.mkdir(parents=True, exist_ok=True)
            continue
        except OSError as exc:
            raise OutputError(f"{out}: cannot write to the output folder ({os_problem(exc)})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, holder_make = _read_record(fd)
            os.close(fd)
            if make is not None and holder_make == make:
                return OutputLock(out, None)  # a later stage of the make run that holds OUT
            if holder_make and not _alive(holder_make) and time.monotonic() < deadline:
                time.sleep(0.05)  # that make has ended and its keeper is letting go
                continue
            holder = holder_make or pid
            raise OutputError(
                f"{out}: in use by another run (pid {holder or 'unknown'}); wait for it to finish, or stop it"
            ) from None
        if not _still_at(fd, path):  # removed between our open and our lock: lock the file that is there now
            os.close(fd)
            continue
        try:
            _write_record(fd, os.getpid(), make)
            if make is not None:
                _start_keeper(fd, make)
        except OSError as exc:
            os.close(fd)
            raise OutputError(f"{out}: cannot write to the output folder ({os_problem(exc)})") from None
        return OutputLock(out, fd, made)


def _only_the_lock(out: Path) -> bool:
    try:
        return [p.name for p in out.iterdir()] == [LOCK_FILE]
    except OSError:
        return False


def _still_at(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _write_record(fd: int, pid: int, make: int | None) -> None:
    record = f"{pid} {make or 0}\n".encode()
    os.pwrite(fd, record, 0)  # then cut what is left of a longer record: the file is never empty in between
    os.ftruncate(fd, len(record))


def _read_record(fd: int) -> tuple[int | None, int | None]:
    """(pid, make pid) of the run that holds the lock; None where the file does not say (yet)."""
    try:
        fields = os.pread(fd, 64, 0).split()
        pid, make = (int(f) for f in fields[:2])
    except (OSError, ValueError):
        return None, None
    return pid or None, make or None


def _start_keeper(fd: int, make: int) -> None:
    subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", KEEPER, str(make)],
        pass_fds=(fd,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal ends make; the keeper follows, it is not interrupted
    )


def _make_pid() -> int | None:
    """The make run this process is a stage of: ``PIPELINE_MAKE_PID``, if that process is one of its ancestors."""
    value = os.environ.get(MAKE_PID, "")
    if not value.isdigit():
        return None
    make = int(value)
    return make if _is_ancestor(make) else None


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _is_ancestor(pid: int) -> bool:
    if not Path("/proc").is_dir():  # no process table to check: trust the variable
        return True
    current: int | None = os.getppid()
    while current and current > 1:
        if current == pid:
            return True
        current = _parent(current)
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"  # ended, not yet reaped
