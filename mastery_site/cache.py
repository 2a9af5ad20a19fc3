"""The persistent build cache in `.mastery-cache/`: what `build` keeps between runs.

It holds what the dev server keeps in memory (entries of unchanged files, rendered
Markdown) plus each page's fingerprint and where its file is, so the next build renders
only pages whose inputs changed and hard-links the others, and where each entry's part
of the search index is in the index last written, so it copies the parts it keeps.
It is keyed by tool version and build options, safe to delete, bypassed by
`--no-cache`, and discarded when it cannot be read. It is a pickle, so it is signed
with a key that lives outside the project: a cache that came with someone else's
repository is never trusted, only ignored.

A store is a folder: a small index and SHARDS shards, each file signed on its own.
The entries of a file go to the shard its path hashes to, so an edit rewrites one
shard, not the whole cache (about 70 MB at 10,000 sessions). Beside them, the last
full build's model and plan (see snapshot.py), which names entries by reference.
A file may keep bytes after its pickle, its tail (the shards: rendered bodies, three
quarters of them), read in parts when used (see Tail): an edit uses few of them.

Checking the signatures of 100 MB took 90 ms, which an edit would pay on every build.
So a signed manifest records the identity of each file found well signed: inode, size,
mtime and ctime, as `git` trusts its index. A file with that identity has not been
written since it was checked (writing or replacing a file gives it a new ctime, which
no one but the kernel sets), so it is read without checking again; any other is checked.
"""

from __future__ import annotations

import copyreg
import fcntl
import functools
import hashlib
import hmac
import io
import os
import pickle
import signal
import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__, collector, headstart
from .sources import identity

CACHE_DIR = ".mastery-cache"
FORMAT = 42  # of what is cached (the model's classes, the code templates compile to: see
# theme.SiteCodeGenerator): a cache of another format is ignored
MAGIC = b"mastery-cache\n"
HEADER = len(MAGIC) + 32  # the magic, then the signature
MANIFEST = "manifest.bin"  # file name → its identity when last found well signed (see sources.identity)
LENGTH = struct.Struct("<Q")  # a file ends with its pickle's length: MAGIC, signature, pickle, tail, length


SHARDS = 32


def cache_store(root: Path, settings: tuple) -> Path:
    """The store of one set of options, and of the project's place: what is cached holds
    paths of its files (an image's, to copy it), so a project moved or copied, its cache
    with it, starts a store of its own (the old one is left, safe to delete)."""
    name = hashlib.sha256(repr((settings, str(root.resolve()))).encode()).hexdigest()[:16]
    return root / CACHE_DIR / f"build-{name}"


def shard_of(rel: str) -> int:
    return zlib.crc32(rel.encode()) % SHARDS


def load_store(folder: Path) -> tuple[object | None, list[object | None]]:
    """The index and every shard (None where absent or untrusted)."""
    index, *shards = load_signed(folder, ["index.bin", *map(shard_file, range(SHARDS))])
    return index, shards


def shard_file(n: int) -> str:
    return f"shard-{n:02}.bin"


def load_signed(folder: Path, names: list[str], find: Callable[[str, str], object | None] | None = None) -> list:
    """The cached objects in these files of `folder` (see `load_cache`), files the manifest
    vouches for read without checking their signatures again; those found well signed
    now are added to the manifest."""
    vouched = load_cache(folder / MANIFEST)
    vouched = vouched if isinstance(vouched, dict) else {}
    checked: dict[str, tuple] = {}
    values = [load_cache(folder / name, find, vouched.get(name), checked) for name in names]
    if any(vouched.get(name) != identity for name, identity in checked.items()):
        save_cache(folder / MANIFEST, {**vouched, **checked})
    return values


class Store:
    """A build's store, held from before it is read until it is saved (an exclusive `flock` on
    its lock file): a build of the project in another process waits. The saving is done by
    a forked process that keeps the hold until done (`later`), while this one goes on, or,
    in a command's process that no one waits for once it has said its exit code, then: the
    new site is in place before, and an edit's command ends that much sooner (a title edit
    at 10,000 sessions: ~0.1 s); the next build waits for it, if it is not done."""

    savers: list[int] = []  # forked processes of this one, reaped by later builds

    def __init__(self, folder: Path):
        self.folder = folder
        self.fd: int | None = None
        self.save: Callable[[], None] | None = None  # see later

    def __enter__(self) -> Store:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder.parent / ".gitignore").write_text("*\n")  # never committed, even without init's .gitignore
            self.fd = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError:  # a read-only project: no cache is written anyway
            self._release()
        Store.savers = [pid for pid in Store.savers if not _reaped(pid)]
        return self

    def __exit__(self, exc_type=None, *exc) -> None:
        save, self.save = self.save, None
        if save is not None and exc_type is None:
            if headstart.detached():  # the lock's file goes with it, closed once saved
                headstart.after_exit(functools.partial(_save_holding, save, self.fd))
                self.fd = None
            else:
                self._fork(save)
        self._release()

    def later(self, save: Callable[[], None]) -> None:
        """Run `save` as the store is left, in a forked process holding the store (its copy of
        the lock's file keeps the lock), unless none can be forked: then here. Not at once: once
        forked, every page of memory this process writes to is copied first, and what a build
        drops as it ends (an edit's locals: maps of 10,000 pages) cost an edit at 10,000 sessions
        ~2,000 copies, 20 ms, when it was saved from where it was made. In a process no one waits
        for once it has said its exit code (see headstart.py), neither: it saves then, holding
        the store, without forking (which, and the copies after it, cost an edit ~15 ms)."""
        self.save = save

    def _fork(self, save: Callable[[], None]) -> None:
        """Run `save` in a forked process (see later); Ctrl-C does not stop it halfway."""
        try:
            pid = os.fork() if self.fd is not None else None
        except OSError:
            pid = None
        if pid is None:
            save()
        elif pid == 0:
            status = 1
            try:  # never back into the caller's stack, whatever happens
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                status = _save_holding(save, None)
            finally:
                os._exit(status)
        else:
            Store.savers.append(pid)

    def _release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _save_holding(save: Callable[[], None], fd: int | None) -> int:
    """Run `save` where nothing waits for it to end (see Store.later), then close the store's
    lock file `fd`, if given; 0, or 1 once it has said why it failed. No cyclic collection
    meanwhile: after the build, every object it made is the collector's to walk again."""
    try:
        with collector.paused():
            save()
        return 0
    except BaseException:
        import traceback  # here: only a failed save needs it

        traceback.print_exc()
        return 1
    finally:
        if fd is not None:
            os.close(fd)


def _reaped(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:
        return True


def save_store(folder: Path, index, files: dict[str, tuple[object, dict[type, Callable] | None, bytes]]) -> None:
    """Write `files` (name → value, its reducers and its tail: see `save_cache`), in their
    order, then the index: shards not given are unchanged on disk."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    for name, (value, reducers, tail) in files.items():
        save_cache(folder / name, value, reducers, tail)
    save_cache(folder / "index.bin", index)


def load_cache(path: Path, find: Callable[[str, str], object | None] | None = None,
               vouched: tuple | None = None, checked: dict[str, tuple] | None = None):
    """The cached object, or None when absent, unreadable, foreign or from another version.

    `find(module, name)` may stand in for a global the pickle names (None: the global
    itself), so that objects saved by reference (see `save_cache`) are found again.
    `vouched`: the file's identity when it was last found well signed (see load_signed);
    `checked` gets the file's identity, by name, if it is well signed and was not written
    while being read. A vouched file's tail is not read (see Tail)."""
    key = _key()
    try:
        handle = open(path, "rb")
    except OSError:
        return None
    tail = None
    try:
        before = identity(os.fstat(handle.fileno()))
        pickled = _signed_pickle(handle, key, before[1], vouched == before) if key is not None else None
        if pickled is None:
            return None
        if checked is not None and before == identity(os.fstat(handle.fileno())):
            checked[path.name] = before

        def found(module: str, name: str):
            nonlocal tail
            if (module, name) == (__name__, _tail.__name__):
                tail = tail or Tail(handle, HEADER + len(pickled))
                return lambda: tail
            return find(module, name) if find is not None else None

        with collector.paused():  # loading makes ~10 objects per file; collecting meanwhile triples the time
            version, value = _Unpickler(pickled, found).load()
    except Exception:  # unreadable, or a truncated or corrupt cache: discarded, never trusted
        return None
    finally:
        if tail is None:
            handle.close()
    return value if version == (__version__, FORMAT) else None


def _signed_pickle(handle, key: bytes, size: int, vouched: bool) -> bytes | None:
    """The pickle in a cache file, if the file is ours: vouched for (then its tail is not read)
    or well signed. Read once, into the bytes the unpickler reads (io.BytesIO shares them):
    each copy of the pickles an edit reads (~15 MB at 10,000 sessions) is memory never
    touched before, which costs more to fault in than to copy."""
    if size < HEADER + LENGTH.size:
        return None
    header = handle.read(HEADER)
    length, = LENGTH.unpack(os.pread(handle.fileno(), LENGTH.size, size - LENGTH.size))
    if header[:len(MAGIC)] != MAGIC or HEADER + length + LENGTH.size > size:
        return None
    pickled = handle.read(length)
    if not vouched:
        mac = hmac.new(key, pickled, hashlib.sha256)
        while chunk := handle.read(1 << 20):  # the tail and the length
            mac.update(chunk)
        if not hmac.compare_digest(header[len(MAGIC):], mac.digest()):
            return None
    return pickled


class Tail:
    """The bytes a cache file holds after its pickle (see `save_cache`), read in parts when
    used. The file stays open, so they are the checked file's, whatever replaces it since.
    (A file vouched for is trusted unread: one changed in place while a build reads it has
    changed under a build that could read any file of the project anyway.)"""

    def __init__(self, handle, start: int):
        self.handle, self.start = handle, start

    def read(self, offset: int, size: int) -> bytes:
        data = os.pread(self.handle.fileno(), size, self.start + offset)
        if len(data) != size:
            raise OSError(f"{self.handle.name}: the build cache was cut short while in use")
        return data

    def __reduce__(self):
        raise TypeError("a Tail is another file's: save what it holds (see save_cache's `tail`)")


class _ThisTail:
    """Saved in a pickle, the tail of the file it is in (a Tail once loaded)."""

    def __reduce__(self):
        return _tail, ()


THIS_TAIL = _ThisTail()


def _tail() -> Tail:
    raise LookupError("a tail is found by load_cache only")


def save_cache(path: Path, value, reducers: dict[type, Callable] | None = None, tail: bytes = b"") -> None:
    """Write atomically; a cache that cannot be written is simply not written. The pickle is
    streamed to the file and signed as it goes (no copy of it in memory).

    `reducers`: type → reducer (as in copyreg), for objects saved in part (see
    content.cached_entry) or by reference, stored elsewhere, which `load_cache`'s `find`
    resolves (see snapshot.py). `tail`: bytes after the pickle, which the pickle names as
    THIS_TAIL and offsets in it (see Tail).
    """
    key = _key()
    if key is None:
        return
    try:
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as handle, collector.paused():
            handle.write(MAGIC + bytes(32))  # the signature goes here once the payload is written
            signed = _Signed(handle, hmac.new(key, digestmod=hashlib.sha256))
            pickler = pickle.Pickler(signed, protocol=pickle.HIGHEST_PROTOCOL)
            if reducers:
                pickler.dispatch_table = {**copyreg.dispatch_table, **reducers}
            pickler.dump(((__version__, FORMAT), value))
            length = handle.tell() - HEADER
            signed.write(tail)
            signed.write(LENGTH.pack(length))
            handle.seek(len(MAGIC))
            handle.write(signed.mac.digest())
        partial.replace(path)
    except OSError:
        return


def unpickled(data: bytes, find: Callable[[str, str], object | None], shared: Sequence = ()):
    """A pickle the cache holds apart (see snapshot.Plan), read as `load_cache` reads its own;
    a persistent id in it is the place of an object in `shared`."""
    with collector.paused():
        return _Unpickler(data, find, shared).load()


class _Unpickler(pickle.Unpickler):
    def __init__(self, payload: bytes, find: Callable[[str, str], object | None], shared: Sequence = ()):
        super().__init__(io.BytesIO(payload))
        self._find = find
        self.persistent_load = shared.__getitem__

    def find_class(self, module: str, name: str):
        found = self._find(module, name)
        return found if found is not None else super().find_class(module, name)


class _Signed:
    """A file that signs what is written to it."""

    def __init__(self, handle, mac):
        self.handle, self.mac = handle, mac

    def write(self, data) -> int:
        self.mac.update(data)
        return self.handle.write(data)


def _key() -> bytes | None:
    """This user's signing key, made on first use (outside any project)."""
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mastery-site"
    path = home / "cache-key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(32))
        return path.read_bytes()
    except FileExistsError:
        return path.read_bytes()
    except OSError:
        return None
