"""Writing files so that no reader ever finds half of one.

Every output of the project goes through here: checkpoints, graph exports,
diagrams, animations, frames and reports. A file is written to a temporary file
in the same folder (so the rename cannot cross file systems), flushed to disk and
renamed over the target in one step; on any failure, a full disk or Ctrl-C, the
temporary file is removed and the old target, if any, is untouched.
"""

import errno
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "write_output", "write_folder", "check_replaceable", "read_input",
           "MAX_INPUT_BYTES"]

MAX_INPUT_BYTES = 256 << 20  # a checkpoint of budget.MAX_PARAMS weights is ~200 MB of JSON


def read_input(path, limit=MAX_INPUT_BYTES) -> bytes:
    """All bytes of the regular file at `path`, refusing what is not one or is too big.

    A FIFO is opened without blocking and /dev/zero or /dev/urandom is refused
    before a byte is read: reading either to the end would never finish.

    Raises:
        OSError: strerror says what is wrong (FileNotFoundError and
            IsADirectoryError as usual).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "it is a device, FIFO or socket, not a regular file")
        os.set_blocking(fd, True)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"it is larger than {limit >> 20} MB")
    return data


def check_replaceable(path) -> None:
    """Refuse to replace anything but a regular file (or nothing) at `path`.

    A symbolic link is never followed nor replaced (it may point outside the named
    path), and a device or FIFO is not a file: replacing /dev/null by a regular file
    would break the system, writing into a FIFO would block.

    Raises:
        OSError: strerror says what the path is.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError:
        return  # e.g. a name too long: the write itself reports it
    if stat.S_ISLNK(mode):
        raise OSError(errno.EEXIST, "it is a symbolic link: give the file it points to, "
                      "or another name")
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise OSError(errno.EEXIST, "it is a device, FIFO or socket, not a regular file")


def atomic_write(path, data) -> Path:
    """Write all of `data` (bytes, or str as UTF-8) to `path`, or nothing.

    Raises:
        OSError: the folder is missing or not writable, the disk is full, ...;
            the caller names the file in its own error.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> atomic_write(path, "é").read_bytes(), os.listdir(os.path.dirname(path))
    (b'\\xc3\\xa9', ['x.txt'])
    """
    path = Path(path)
    check_replaceable(path)
    data = data.encode("utf-8") if isinstance(data, str) else data
    check_folder(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private; outputs are ordinary files
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass  # e.g. the file system turned read-only: report the first error
        raise
    return path


def check_folder(path: Path) -> None:
    """FileNotFoundError naming the folder when the one path goes into is missing (the
    same words as train's check of -o and --log); outputs never create folders."""
    folder = path.absolute().parent
    if not folder.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"the folder {str(folder)!r} does not exist",
                                str(path))


def write_output(path, data) -> None:
    """atomic_write, or standard output for the path "-" (the usual Unix spelling)."""
    if str(path) == "-":
        sys.stdout.buffer.write(data.encode("utf-8") if isinstance(data, str) else data)
        sys.stdout.buffer.flush()
    else:
        atomic_write(path, data)


def write_folder(folder, files, replaceable) -> list:
    """Write a folder of files all or nothing: into a new sibling, then renamed.

    Args:
        folder: the folder to create, or to replace when everything in it is
            `replaceable` (an earlier run's output).
        files: name -> bytes or str, or (name, data) pairs, made as they are written
            when they come from a generator (then only one is in memory at a time).
        replaceable: name -> bool, for the entries an existing folder may hold.

    Returns:
        The paths written, in the order of `files`.

    Raises:
        FileExistsError: folder is a file, or holds something not replaceable.
        OSError: the folder cannot be written; nothing is left behind.
    """
    folder = Path(folder)
    check_replaceable(folder)
    if folder.exists() and (not folder.is_dir() or any(
            not replaceable(p.name) for p in folder.iterdir())):
        raise FileExistsError(f"{str(folder)!r} is a file or holds other files")
    check_folder(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.absolute().parent))
    old = None
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; outputs are ordinary folders
        names = []
        for name, data in files.items() if isinstance(files, dict) else files:
            data = data.encode("utf-8") if isinstance(data, str) else data
            (tmp / name).write_bytes(data)
            names.append(name)
        if folder.exists():
            old = tmp.with_name(tmp.name + ".old")
            os.replace(folder, old)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old and not folder.exists():
            os.replace(old, folder)  # put the earlier output back
        raise
    if old:
        shutil.rmtree(old, ignore_errors=True)
    return [folder / name for name in names]
