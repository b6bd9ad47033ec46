"""Writing a model file safely: only over a regular file or at a new path, atomically, with the
permissions a user expects, and without leaving temporary files behind.

**What may be replaced.** A save goes to a regular file or a path that does not exist yet;
a directory, device, FIFO or socket is refused before anything is written (so, run as root,
``save(net, "/dev/null")`` leaves the device alone). A **symbolic link is written through**:
the link stays, and the file it points to (followed to the end; it must itself be a regular
file or a new path in an existing folder) is replaced.

**Atomic.** The data go to a temporary file in the target's folder, named after the target
(``.NAME.XXXXXXXX.bprop-tmp``), are flushed to disk, and the temporary file is renamed over the
target: readers see the old file or the new one, never a mixture, and a crash or kill mid-save
leaves the old file intact.

**Permissions.** A new file gets ``0o666 & ~umask`` (like any file a program creates); a
replaced file keeps its mode (and, where allowed, its owner and group).

**Temporary files.** On any failure, KeyboardInterrupt and SystemExit included, the temporary
file is removed. A save killed outright (SIGKILL, power loss) cannot clean up, so each save
first removes the leftovers of earlier saves *of the same target*: the saver holds an exclusive
``flock`` on its temporary file until it is renamed, a dead process's lock is gone, and a
leftover that can be locked is deleted. Leftovers therefore never accumulate: there is at most
one per save killed since the last completed save.

**Two processes saving the same path at once** each write their own temporary file (random
part of the name), neither deletes the other's (it is locked), and each renames its own over
the target: the last rename wins and the target is always one complete model file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
import stat
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from bprop.modelfile import ModelFileError

TMP_SUFFIX = ".bprop-tmp"

_KINDS = (
    (stat.S_ISDIR, "directory"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISFIFO, "FIFO (named pipe)"),
    (stat.S_ISSOCK, "socket"),
)


def _target(path: str) -> str:
    """The file a save to ``path`` replaces: the path, or for a symlink what it points to."""
    if os.path.islink(path):
        return os.path.realpath(path)
    return os.path.abspath(path)


def check_writable(path: str | os.PathLike) -> str:
    """Check, before writing anything, that a model file can be saved at ``path``; return the
    absolute path of the file a save will replace or create (the target of a symlink).

    Raises :class:`ModelFileError` with one line naming the path and the fix when ``path`` is
    (or links to) a directory, device, FIFO or socket, when its folder does not exist, or when
    the folder is not writable (permissions, read-only file system)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ModelFileError(f"a model file path must be a string, got {type(path).__name__}")
    path = os.fspath(path)
    if not path:
        raise ModelFileError("cannot save to an empty path; give a file name such as model.bprop")
    target = _target(path)
    shown = path if target == os.path.abspath(path) else f"{path} (a link to {target})"
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise ModelFileError(
            f"cannot save to {shown}: {err.strerror}; choose another path"
        ) from err
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in _KINDS if test(st.st_mode)), "special file")
        hint = os.path.join(path, "model.bprop") if stat.S_ISDIR(st.st_mode) else "model.bprop"
        raise ModelFileError(
            f"cannot save to {shown}: it is a {kind}, not a regular file; "
            f"give a file name such as {hint}"
        )
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise ModelFileError(
            f"cannot save to {shown}: the folder {folder} does not exist; create it "
            f"(mkdir -p {folder}) or choose another path"
        )
    try:  # the only reliable test: create (and drop) an anonymous file there
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ModelFileError(
            f"cannot save to {shown}: the folder {folder} is not writable ({err.strerror}); "
            "choose a folder you can write to, or fix its permissions"
        ) from err
    return target


def _tmp_prefix(name: str) -> str:
    tag = (
        name
        if len(name.encode(errors="surrogateescape")) <= 200
        else hashlib.sha256(name.encode(errors="surrogateescape")).hexdigest()[:32]
    )
    return f".{tag}."


def remove_leftovers(folder: str, name: str) -> int:
    """Delete the temporary files that killed saves of ``folder/name`` left behind (those no
    live save holds locked); return how many were removed."""
    prefix, removed = _tmp_prefix(name), 0
    try:
        entries = [e.name for e in os.scandir(folder)]
    except OSError:
        return 0
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(TMP_SUFFIX)):
            continue
        p = os.path.join(folder, entry)
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while a save is writing it
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and os.path.samestat(st, os.lstat(p)):
                os.unlink(p)
                removed += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _locked_temp(folder: str, name: str) -> tuple[int, str]:
    """Create and lock a fresh temporary file next to the target; return (fd, path)."""
    for _ in range(8):
        tmp = os.path.join(folder, f"{_tmp_prefix(name)}{secrets.token_hex(4)}{TMP_SUFFIX}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # a concurrent clean-up may have deleted it in the instant before the lock
            if os.path.samestat(os.fstat(fd), os.lstat(tmp)):
                return fd, tmp
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.close(fd)
    raise ModelFileError(f"could not create a temporary file in {folder}; try again")


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> str:
    """Run ``write(file)`` into a temporary file and rename it over the target of ``path`` (see
    the module docstring for what is allowed, permissions and clean-up); return the target."""
    target = check_writable(path)
    folder, name = os.path.split(target)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    remove_leftovers(folder, name)
    fd, tmp = _locked_temp(folder, name)
    placed = False
    try:
        with os.fdopen(fd, "wb") as fh:  # closing releases the lock, after the rename
            write(fh)
            fh.flush()
            if old is not None:
                with contextlib.suppress(OSError):  # keep owner and group where allowed
                    os.fchown(fh.fileno(), old.st_uid, old.st_gid)
                os.fchmod(fh.fileno(), stat.S_IMODE(old.st_mode))
            os.fsync(fh.fileno())
            os.replace(tmp, target)
            placed = True
    finally:
        if not placed:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    with contextlib.suppress(OSError):  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return target
