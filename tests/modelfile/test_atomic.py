"""Saving safely: what may be replaced, symlinks, permissions, temporary files (issue 12)."""

import fcntl
import os
import signal
import socket
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest

import bprop as bp
from bprop import io
from bprop.modelfile import atomic

X = np.random.default_rng(0).normal(size=(5, 3))


def net(seed=0):
    return bp.mlp([3, 4, 2], seed=seed)


def same_net(path, reference):
    np.testing.assert_array_equal(bp.load(path).predict(X), reference.predict(X))


def one_line_error(excinfo, *words):
    msg = str(excinfo.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def test_dev_null_and_other_special_files_are_refused_untouched(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        for path, kind in [
            ("/dev/null", "character device"),
            (tmp_path, "directory"),
            (fifo, "FIFO"),
            (sock_path, "socket"),
        ]:
            mode = os.stat(path).st_mode
            with pytest.raises(bp.ModelFileError) as e:
                bp.save(net(), path)
            one_line_error(e, str(path), kind, "not a regular file")
            assert os.stat(path).st_mode == mode  # still what it was
    finally:
        sock.close()
    assert sorted(os.listdir(tmp_path)) == ["fifo", "sock"]  # nothing written


def test_missing_or_unwritable_folder_is_reported_before_writing(tmp_path):
    with pytest.raises(bp.ModelFileError) as e:
        io.check_writable(tmp_path / "no" / "such" / "m.bprop")
    one_line_error(e, str(tmp_path / "no" / "such"), "does not exist", "mkdir -p")
    with pytest.raises(bp.ModelFileError):
        bp.save(net(), tmp_path / "no" / "m.bprop")
    assert io.check_writable(tmp_path / "m.bprop") == str(tmp_path / "m.bprop")
    assert os.listdir(tmp_path) == []  # the check leaves nothing behind


def test_unwritable_folder_is_reported(tmp_path):
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o500)
    else:  # root may write anywhere on a writable file system; /sys refuses even root
        folder = next((f for f in ("/sys", "/proc") if os.path.isdir(f)), None)
        try:
            io.check_writable(os.path.join(folder or "/", "m.bprop"))
            pytest.skip("no folder here that refuses root's writes")
        except bp.ModelFileError:
            pass
    with pytest.raises(bp.ModelFileError) as e:
        io.check_writable(os.path.join(folder, "m.bprop"))
    one_line_error(e, str(folder), "not writable", "choose a folder")


def test_a_symlink_is_written_through(tmp_path):
    target = tmp_path / "real.bprop"
    bp.save(net(0), target)
    link = tmp_path / "link.bprop"
    link.symlink_to(target)
    bp.save(net(1), link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    same_net(target, net(1))
    dangling = tmp_path / "new-link.bprop"  # points to a file not yet there: created
    dangling.symlink_to(tmp_path / "created.bprop")
    bp.save(net(2), dangling)
    assert dangling.is_symlink()
    same_net(tmp_path / "created.bprop", net(2))
    to_dir = tmp_path / "dir-link"
    to_dir.symlink_to(tmp_path)
    with pytest.raises(bp.ModelFileError, match="directory"):
        bp.save(net(), to_dir)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_new_files_honour_the_umask(tmp_path, umask, mask):
    umask(mask)
    bp.save(net(), tmp_path / "m.bprop")
    assert stat.S_IMODE(os.stat(tmp_path / "m.bprop").st_mode) == 0o666 & ~mask


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "m.bprop"
    bp.save(net(0), path)
    os.chmod(path, 0o640)
    umask(0o077)
    bp.save(net(1), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    same_net(path, net(1))


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit, MemoryError])
def test_the_temporary_file_is_removed_on_any_failure(tmp_path, monkeypatch, exc):
    path = tmp_path / "m.bprop"
    bp.save(net(0), path)
    before = path.read_bytes()

    def write_then_fail(fh, **arrays):
        fh.write(b"partial data")
        raise exc()

    monkeypatch.setattr(np, "savez", write_then_fail)
    with pytest.raises(exc):
        bp.save(net(1), path)
    assert os.listdir(tmp_path) == ["m.bprop"] and path.read_bytes() == before


KILLED_SAVE = """
import os, signal, sys
import numpy as np
import bprop as bp
real = np.savez
def savez_then_die(fh, **arrays):
    real(fh, **arrays)
    fh.flush()
    os.kill(os.getpid(), signal.SIGKILL)
np.savez = savez_then_die
bp.save(bp.mlp([3, 50, 2], seed=0), sys.argv[1])
"""


def test_leftovers_of_killed_saves_do_not_accumulate(tmp_path):
    path = tmp_path / "m.bprop"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for _ in range(3):
        r = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], env=env)
        assert r.returncode == -signal.SIGKILL
    left = [n for n in os.listdir(tmp_path) if n.endswith(atomic.TMP_SUFFIX)]
    assert len(left) <= 1  # each killed save removed the one before it
    assert left and left[0].startswith(".m.bprop.")  # named after its target
    bp.save(net(), path)
    assert os.listdir(tmp_path) == ["m.bprop"]
    same_net(path, net())


def test_a_save_in_progress_is_not_disturbed(tmp_path):
    path = tmp_path / "m.bprop"
    busy = tmp_path / f".m.bprop.0000beef{atomic.TMP_SUFFIX}"  # another live save's file
    stale = tmp_path / f".m.bprop.0000dead{atomic.TMP_SUFFIX}"  # a killed save's file
    other = tmp_path / f".n.bprop.0000dead{atomic.TMP_SUFFIX}"  # another target's file
    for p in (busy, stale, other):
        p.write_bytes(b"x")
    with open(busy, "rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        bp.save(net(), path)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.bprop", busy.name, other.name])


def test_concurrent_saves_of_one_path_leave_one_whole_file(tmp_path):
    path = tmp_path / "m.bprop"
    nets = [net(seed) for seed in range(4)]
    errors = []

    def saver(n):
        try:
            for _ in range(5):
                bp.save(n, path)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=saver, args=(n,)) for n in nets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    out = bp.load(path).predict(X)
    assert any(np.array_equal(out, n.predict(X)) for n in nets)
    assert os.listdir(tmp_path) == ["m.bprop"]
