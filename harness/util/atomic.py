"""Atomic writes: a reader sees the old file or the new one, never half of one."""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Iterable, Iterator


def _owner() -> str:
    # the writer's pid and host in every temporary's name: a later process can tell one left
    # by a writer killed outright (SIGKILL, power loss) from one a live writer is filling
    host = re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname())[:32] or "host"
    return f"{os.getpid()}@{host}"


@contextlib.contextmanager
def atomic_path(target: Path | str, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    Works for files and directories. On an exception the temporary is removed and the old
    ``target`` (if any) is left untouched.
    """
    target = Path(target)
    tmp = temporary_beside(target, suffix)
    try:
        yield tmp
        if tmp.is_dir():
            _replace_dir(tmp, target)
        else:
            _fsync_file(tmp)
            os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        raise


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _replace_dir(tmp: Path, target: Path) -> None:
    # os.replace cannot swap a directory onto a non-empty one: move the old one aside first
    # so that a crash between the two renames leaves either the old or the new directory.
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{_owner()}")
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)    # the old directory goes back: never neither of them
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def recover(target: Path | str) -> bool:
    """Undo what a writer of ``target`` killed outright left behind; True if it restored.

    A replaced directory is moved aside before the new one is renamed in: killed between the
    two renames, the writer left no ``target`` but the old copy beside it, which is renamed
    back. Its other leftovers (a temporary copy being filled, an old copy no longer needed)
    are removed. Only those of writers on this host whose process is gone are touched.
    """
    target = Path(target)
    restored = False
    prefix = f".{target.name}."
    try:
        siblings = [entry for entry in os.scandir(target.parent)
                    if entry.name.startswith(prefix)]
    except OSError:
        return False
    for entry in sorted(siblings, key=lambda e: not e.name[len(prefix):].startswith("old-")):
        rest = entry.name[len(prefix):]
        owner = rest[len("old-"):] if rest.startswith("old-") else (
            rest.split(".", 1)[0] if rest.endswith(".tmp") else "")
        if not _gone(owner):
            continue
        path = Path(entry.path)
        if rest.startswith("old-") and not os.path.lexists(target) and path.is_dir():
            with contextlib.suppress(OSError):      # a read-only place: left as it is
                os.replace(path, target)
                restored = True
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return restored


def _gone(owner: str) -> bool:
    """Whether ``pid@host`` names a process of this host that no longer runs."""
    pid, _, host = owner.partition("@")
    if not pid.isdigit() or host != _owner().partition("@")[2] or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:        # another user's process, or no right to ask: leave it
        return False
    return False


def write_text(target: Path | str, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(target: Path | str, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_texts(files: dict[Path, str]) -> None:
    """Write several text files as one (see :func:`atomic_paths`)."""
    with atomic_paths(files) as temps:
        for tmp, text in zip(temps, files.values()):
            tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_paths(targets: Iterable[Path | str]) -> Iterator[list[Path]]:
    """Yield a temporary path beside each target; once the block ends without error, rename
    them all onto their targets together (a report and its tables, a model and its
    sidecar).

    A folder standing where a file should go is refused before the block runs (slow work
    such as a conversion is not started for nothing). A failed write (a full or read-only
    disk) removes the temporaries and leaves every old file as it was, never a mix of new
    and old ones. An error names the target, not a temporary the user never sees."""
    targets = [Path(t) for t in targets]
    for target in targets:
        if target.is_dir():         # os.replace would fail only after others were renamed
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(target))
    temps: dict[Path, Path] = {}
    try:
        for target in targets:
            temps[target] = temporary_beside(target)
        yield list(temps.values())
        for tmp in temps.values():
            _fsync_file(tmp)
        _rename_all(temps)
    except OSError as error:
        raise _naming(error, targets) from error
    finally:
        for tmp in temps.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def temporary_beside(target: Path, suffix: str = "") -> Path:
    """A free name beside ``target`` for its writer to fill, named so that :func:`recover`
    knows it (writer's pid and host, ``.tmp``). Nothing is made there: the writer makes the
    file, with the usual permissions rather than mkstemp's 0600."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.{_owner()}.", suffix=suffix + ".tmp",
                                dir=target.parent)
    os.close(fd)
    os.unlink(name)
    return Path(name)


def _rename_all(temps: dict[Path, Path]) -> None:
    """Rename every temporary onto its target. The old files are first hard-linked aside,
    so that a rename failing halfway (a folder created meanwhile) puts back those already
    replaced."""
    kept: dict[Path, Path] = {}
    done: list[Path] = []
    fresh = {target for target in temps if not os.path.lexists(target)}
    try:
        for target in temps:
            old = _keep_aside(target)
            if old is not None:
                kept[target] = old
        for target, tmp in temps.items():
            os.replace(tmp, target)
            done.append(target)
    except OSError:
        for target in done:
            if target in kept:
                os.replace(kept.pop(target), target)
            elif target in fresh:       # it was not there before: none, not a new one alone
                target.unlink()
        raise
    finally:
        for old in kept.values():
            with contextlib.suppress(FileNotFoundError):
                old.unlink()


def _keep_aside(target: Path) -> Path | None:
    """A second name for the old ``target`` (None where there is none, or the file system
    has no hard links: then a rename failing halfway cannot be undone, as before)."""
    if not target.is_file():
        return None
    old = target.with_name(f".{target.name}.{_owner()}.old.tmp")   # recover() knows .tmp
    try:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
        os.link(target, old)
    except OSError:
        return None
    return old


def _naming(error: OSError, targets: list[Path]) -> OSError:
    """``error`` naming the target where it named one of its temporaries."""
    named = Path(error.filename) if error.filename else None
    for target in targets:
        if named is not None and named.parent == target.parent and named.name.startswith(
                f".{target.name}.{_owner()}."):
            return type(error)(error.errno, error.strerror, str(target))
    return error


def cannot_write(error: OSError, target: Path | str) -> str:
    """Why ``target`` could not be written, in words that name the place and the fix."""
    target = Path(target)
    folder = target.parent
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"no space left on the disk of {folder}; free space and run the same command "
                "again (nothing was replaced)")
    if error.errno == errno.EROFS:
        return f"{folder} is on a read-only file system; choose a writable place"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied writing in {folder}; choose a writable place"
    if error.errno == errno.EISDIR:
        return f"{error.filename or target} is a folder; remove it or choose another place"
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        blocking = next((p for p in (target, *target.parents) if p.exists()), folder)
        if not blocking.is_dir():
            return f"{blocking} is a file, not a folder; choose another place"
    return f"{error.strerror or error} ({error.filename or target})"
