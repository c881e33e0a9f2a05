"""Atomic writes, hashing and run records — the one place outputs are written safely.

Every output of every stage goes through here, so a killed process never leaves a file or
folder that looks complete but is not: we write beside the target and rename over it
(``os.replace`` is atomic on POSIX within one filesystem).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Iterator

_UMASK = os.umask(0)
os.umask(_UMASK)


class WriteError(OSError):
    """An output could not be written (disk full, quota); the message names the output."""

    path: Path | None = None


# Temporary names end in ``.p<pid>.tmp``: a process killed while writing leaves such a file or
# folder behind, and the next write into the same folder removes it once that pid is gone.
_STALE_RE = re.compile(r"\.p(\d+)\.tmp$")
# The folder :func:`atomic_dir` replaces, moved aside for the moment between its two renames:
# if the process dies there, this is the only complete copy, to be put back, not removed.
_REPLACED_RE = re.compile(r"^\.(?P<name>.+)\.old\.p\d+\.tmp$")
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_LOW_SPACE = 1 << 20  # bytes; below this a failed write is reported as a full disk


def _temp_tag() -> str:
    return f".p{os.getpid()}.tmp"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def remove_stale_temps(folder: str | Path, prefix: str = ".") -> list[Path]:
    """Remove temporary files/folders this module made in ``folder`` (names starting with
    ``prefix`` and ending in ``.p<pid>.tmp``) whose process no longer runs, i.e. what a killed
    run left behind. A folder :func:`atomic_dir` had moved aside when it was killed goes back
    to its name if nothing took that name since. Returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _STALE_RE.search(entry.name)
        if not entry.name.startswith(prefix) or m is None or _pid_alive(int(m.group(1))):
            continue
        path = Path(entry.path)
        replaced = _REPLACED_RE.match(entry.name)
        if replaced and entry.is_dir(follow_symlinks=False):
            target = path.with_name(replaced.group("name"))
            if not os.path.lexists(target):
                try:
                    os.replace(path, target)
                    _fsync_dir(target.parent)
                except OSError:
                    pass
                continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue  # removed by someone else meanwhile, or not ours to remove
        removed.append(path)
    return removed


def _fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable (a rename is an entry in its folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:   # a platform that cannot open folders (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _sync_tree(folder: Path) -> None:
    """Everything written under ``folder`` on disk: one ``sync`` where the OS has it, rather
    than an fsync per file (a dataset is thousands of images)."""
    if hasattr(os, "sync"):
        os.sync()
        return
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb+") as fh:
                os.fsync(fh.fileno())


def _write_failed(target: Path, exc: BaseException) -> WriteError | None:
    """A clear :class:`WriteError` when ``exc`` comes from a full disk (also when a library
    hides ENOSPC behind its own error, as ``torch.save`` does), else None."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, WriteError):  # a file inside an atomic_dir: name the folder's target
        inner = exc.path.name if exc.path is not None else "a file"
        err = WriteError(code, f"{target}: could not be written: {os.strerror(code)} (while "
                               f"writing {inner}); the existing {target}, if any, was left "
                               "unchanged — free some space and rerun")
        err.path = target
        return err
    if code not in _DISK_FULL:
        try:
            st = os.statvfs(target.parent)
            low = st.f_bavail * st.f_frsize < _LOW_SPACE
        except OSError:
            low = False
        # torch.save reports a full disk as a plain RuntimeError ('unexpected pos ...')
        if not (low and (isinstance(exc, OSError) or type(exc) is RuntimeError)):
            return None
        code = errno.ENOSPC
    err = WriteError(code, f"{target}: could not be written: {os.strerror(code)} "
                           f"({type(exc).__name__}: {exc}); the existing {target.name}, if any, "
                           "was left unchanged — free some space and rerun")
    err.path = target
    return err


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    On any exception the temporary file is removed and ``target`` is left as it was; a full
    disk is reported as :class:`WriteError` naming ``target``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix + _temp_tag(),
                               dir=target.parent)
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are ordinary files
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # data on disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except (OSError, RuntimeError) as exc:
        err = None if isinstance(exc, WriteError) else _write_failed(target, exc)
        if err is None:
            raise
        raise err from exc
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it replaces ``target``.

    On any exception the folder is removed and ``target`` is left as it was; a full disk is
    reported as :class:`WriteError` naming ``target``. A process killed between the two renames
    (``target`` aside, the new folder in) leaves the old folder under a ``.old`` name, which the
    next write into the same parent folder puts back (:func:`remove_stale_temps`).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=_temp_tag(), dir=target.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        yield tmp
        _sync_tree(tmp)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old{_temp_tag()}")
            os.replace(target, old)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except (OSError, RuntimeError) as exc:
        err = _write_failed(target, exc)
        if err is None:
            raise
        raise err from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _json_default(obj: Any):
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def file_hash(path: str | Path, algorithm: str = "sha256", chunk: int = 1 << 20):
    """The ``hashlib`` object (``algorithm``: any name ``hashlib.new`` takes) of a file's bytes,
    read a block at a time: tarballs and model files need not fit in memory."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h


def sha256_file(path: str | Path) -> str:
    return file_hash(path).hexdigest()


def content_hashes(root: str | Path, entries: Iterable[str], pattern: str = "*.py") -> dict[str, str]:
    """{path relative to ``root``: sha256 of its bytes} for each entry: a file, or a folder whose
    files matching ``pattern`` are taken recursively (so a module added there later counts too).
    Entries that do not exist are left out (e.g. ``stages/`` outside a checkout)."""
    root = Path(root)
    found: list[Path] = []
    for entry in entries:
        path = root / entry
        found += sorted(path.rglob(pattern)) if path.is_dir() else [path] if path.is_file() else []
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in found}


def fingerprint(obj: Any) -> str:
    """A short stable hash of a JSON-able object (params, file hashes) for provenance checks."""
    blob = json.dumps(obj, sort_keys=True, default=_json_default).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def library_versions() -> dict[str, str]:
    """Versions of the interpreter and the libraries that decide numerical results.

    Pinned by requirements.lock, so the same on every machine: this goes into DVC-hashed outputs
    (data/raw's manifest, model info, references). What differs per machine is `machine()`."""
    out = {"python": sys.version.split()[0]}
    for name in ("torch", "torchvision", "numpy", "pillow", "scipy", "dvc", "dvclive"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def machine() -> dict[str, str]:
    """The OS build and CPU a record was made on. Never in a DVC-hashed output: a kernel update
    would change the output's hash and rerun everything downstream on an identical result."""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": cpu or platform.processor() or platform.machine()}
