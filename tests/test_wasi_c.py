"""WASI preview1 host layer (runtime_c/wasi*.c), tested below the compiler.

Strategy: build wasi.c + wasi_fs.c into a shared library with a tiny stub for the two runtime calls it
needs (wasmc_rt_exit, wasmc_rt_trap), and call the host functions through ctypes with a hand-made
``wasmc_instance`` whose memory 0 is a 64 KiB buffer.  The same call sequences also run against the
``wasmtime`` Python package (a module whose exports forward to its WASI imports), so errno values,
struct layouts and fd numbering are checked against the reference, not against our reading of it.
Sandbox tests (escapes by ``..``, absolute paths, symlinks, renames, links) run with both path
resolvers: openat2(RESOLVE_BENEATH) and the fallback walk (WASMC_WASI_NO_OPENAT2=1).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parent.parent / "runtime_c"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-O1", f"-I{RUNTIME}"]
WASI_SOURCES = [str(RUNTIME / "wasi.c"), str(RUNTIME / "wasi_fs.c")]
STUB = r"""
#include <stdlib.h>
#include "wasmc_rt.h"
int32_t wasmc_rt_exit_code;
_Noreturn void wasmc_rt_exit(int32_t code) { exit(code); }
_Noreturn void wasmc_rt_trap(int32_t trap) { exit(100 + trap); }
"""

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")

SIGS = {
    "args_get": "ii:i",
    "args_sizes_get": "ii:i",
    "environ_get": "ii:i",
    "environ_sizes_get": "ii:i",
    "clock_res_get": "ii:i",
    "clock_time_get": "ili:i",
    "fd_advise": "illi:i",
    "fd_allocate": "ill:i",
    "fd_close": "i:i",
    "fd_datasync": "i:i",
    "fd_fdstat_get": "ii:i",
    "fd_fdstat_set_flags": "ii:i",
    "fd_fdstat_set_rights": "ill:i",
    "fd_filestat_get": "ii:i",
    "fd_filestat_set_size": "il:i",
    "fd_filestat_set_times": "illi:i",
    "fd_pread": "iiili:i",
    "fd_prestat_get": "ii:i",
    "fd_prestat_dir_name": "iii:i",
    "fd_pwrite": "iiili:i",
    "fd_read": "iiii:i",
    "fd_readdir": "iiili:i",
    "fd_renumber": "ii:i",
    "fd_seek": "ilii:i",
    "fd_sync": "i:i",
    "fd_tell": "ii:i",
    "fd_write": "iiii:i",
    "path_create_directory": "iii:i",
    "path_filestat_get": "iiiii:i",
    "path_filestat_set_times": "iiiilli:i",
    "path_link": "iiiiiii:i",
    "path_open": "iiiiillii:i",
    "path_readlink": "iiiiii:i",
    "path_remove_directory": "iii:i",
    "path_rename": "iiiiii:i",
    "path_symlink": "iiiii:i",
    "path_unlink_file": "iii:i",
    "poll_oneoff": "iiii:i",
    "proc_exit": "i:",
    "proc_raise": "i:i",
    "sched_yield": ":i",
    "random_get": "ii:i",
    "sock_accept": "iii:i",
    "sock_recv": "iiiiii:i",
    "sock_send": "iiiii:i",
    "sock_shutdown": "ii:i",
}
ALL_RIGHTS = (1 << 30) - 1
R_READ, R_WRITE = 1 << 1, 1 << 6
PERM, NOTDIR, BADF, FAULT, INVAL, LOOP, NOENT, EXIST, ISDIR, NOTSUP, SPIPE = (
    63,
    54,
    8,
    21,
    28,
    32,
    44,
    20,
    31,
    58,
    70,
)
MEM = 65536
# Scratch addresses in guest memory (8-aligned, as wasmtime requires).
PATH, PATH2, OUT, OUT2, BUF, IOV = 0x100, 0x200, 0x300, 0x310, 0x1000, 0x800


@pytest.fixture(scope="session")
def wasi_objects(tmp_path_factory) -> list[str]:
    """wasi.c, wasi_fs.c and the runtime stub compiled once (position-independent objects)."""
    tmp = tmp_path_factory.mktemp("wasi_c")
    stub = tmp / "stub.c"
    stub.write_text(STUB)
    objs = []
    for src in [*WASI_SOURCES, str(stub)]:
        obj = tmp / (Path(src).stem + ".o")
        subprocess.run([CC, *CFLAGS, "-fPIC", "-c", src, "-o", str(obj)], check=True)
        objs.append(str(obj))
    return objs


@pytest.fixture(scope="session")
def libwasi(wasi_objects, tmp_path_factory) -> ctypes.CDLL:
    lib = tmp_path_factory.mktemp("wasi_lib") / "libwasi_test.so"
    subprocess.run([CC, "-shared", *wasi_objects, "-o", str(lib)], check=True)
    return ctypes.CDLL(str(lib))


class _Memory(ctypes.Structure):
    _fields_ = [
        ("base", ctypes.c_void_p),
        ("bytes", ctypes.c_uint64),
        ("max_pages", ctypes.c_uint64),
        ("reserved", ctypes.c_uint64),
    ]


class _Instance(ctypes.Structure):
    _fields_ = [
        (n, ctypes.c_void_p)
        for n in (
            "mem0_base",
            "memories",
            "tables",
            "globals",
            "funcs",
            "type_ids",
            "data_segs",
            "elem_segs",
            "module",
            "host_data",
        )
    ]


class _Config(ctypes.Structure):
    _fields_ = [
        ("argc", ctypes.c_int),
        ("argv", ctypes.POINTER(ctypes.c_char_p)),
        ("envc", ctypes.c_int),
        ("envp", ctypes.POINTER(ctypes.c_char_p)),
        ("ndirs", ctypes.c_int),
        ("dir_host", ctypes.POINTER(ctypes.c_char_p)),
        ("dir_guest", ctypes.POINTER(ctypes.c_char_p)),
    ]


def _cstrs(items: list[str]):
    return (ctypes.c_char_p * (len(items) + 1))(*[s.encode() for s in items], None)


class Ours:
    """The C host functions with a hand-made instance (memory 0 = a 64 KiB buffer)."""

    def __init__(self, lib, dirs, argv=("prog", "a"), env=("A=1",)):
        self.lib = lib
        self.buf = ctypes.create_string_buffer(MEM)
        self.mem = _Memory(ctypes.addressof(self.buf), MEM, 1, MEM)
        self.memarr = (ctypes.POINTER(_Memory) * 1)(ctypes.pointer(self.mem))
        self.keep = [
            _cstrs(list(argv)),
            _cstrs(list(env)),
            _cstrs([h for h, _ in dirs]),
            _cstrs([g for _, g in dirs]),
        ]
        cfg = _Config(len(argv), self.keep[0], len(env), self.keep[1], len(dirs), self.keep[2], self.keep[3])
        lib.wasmc_wasi_new.restype = ctypes.c_void_p
        wasi = lib.wasmc_wasi_new(ctypes.byref(cfg))
        assert wasi
        self.inst = _Instance(
            ctypes.addressof(self.buf),
            ctypes.addressof(self.memarr),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            wasi,
        )
        self.fns = {}
        lib.wasmc_wasi_lookup.restype = ctypes.c_void_p
        lib.wasmc_wasi_lookup.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]

    def fn(self, name):
        if name not in self.fns:
            sig = ctypes.c_char_p()
            addr = self.lib.wasmc_wasi_lookup(name.encode(), ctypes.byref(sig))
            assert addr, name
            params, results = sig.value.decode().split(":")
            types = [ctypes.c_int64 if c == "l" else ctypes.c_int32 for c in params]
            proto = ctypes.CFUNCTYPE(ctypes.c_int32 if results else None, ctypes.c_void_p, *types)
            self.fns[name] = proto(addr)
        return self.fns[name]

    def call(self, name, *args):
        return self.fn(name)(ctypes.addressof(self.inst), *args)

    def write(self, addr, data: bytes):
        ctypes.memmove(ctypes.addressof(self.buf) + addr, data, len(data))

    def read(self, addr, n) -> bytes:
        return self.buf.raw[addr : addr + n]


def _forwarding_wat() -> str:
    """A module exporting one forwarder per WASI import, so Python can call wasmtime's WASI."""
    ty = {"i": "i32", "l": "i64"}
    lines = ["(module"]
    for n, s in SIGS.items():
        p, r = s.split(":")
        sig = (f"(param {' '.join(ty[c] for c in p)})" if p else "") + (
            f" (result {' '.join(ty[c] for c in r)})" if r else ""
        )
        lines.append(f'(import "wasi_snapshot_preview1" "{n}" (func ${n} {sig}))')
    lines.append('(memory (export "memory") 1)')
    for n, s in SIGS.items():
        p, r = s.split(":")
        sig = (f"(param {' '.join(ty[c] for c in p)})" if p else "") + (
            f" (result {' '.join(ty[c] for c in r)})" if r else ""
        )
        gets = " ".join(f"(local.get {i})" for i in range(len(p)))
        lines.append(f'(func (export "{n}") {sig} (call ${n} {gets}))')
    lines.append(")")
    return "\n".join(lines)


class Reference:
    """The same interface over the wasmtime package."""

    def __init__(self, dirs, argv=("prog", "a"), env=("A=1",)):
        wasmtime = pytest.importorskip("wasmtime")
        engine = wasmtime.Engine()
        self.store = wasmtime.Store(engine)
        cfg = wasmtime.WasiConfig()
        for host, guest in dirs:
            cfg.preopen_dir(host, guest)
        cfg.argv = list(argv)
        cfg.env = [tuple(e.split("=", 1)) for e in env]
        self.store.set_wasi(cfg)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        inst = linker.instantiate(self.store, wasmtime.Module(engine, _forwarding_wat()))
        self.exports = inst.exports(self.store)
        self.memory = self.exports["memory"]

    def call(self, name, *args):
        return self.exports[name](self.store, *args)

    def write(self, addr, data: bytes):
        self.memory.write(self.store, data, addr)

    def read(self, addr, n) -> bytes:
        return bytes(self.memory.read(self.store, addr, addr + n))


# ---------------------------------------------------------------------------------------------
# Helpers working on either implementation
# ---------------------------------------------------------------------------------------------
def u32(w, addr):
    return struct.unpack("<I", w.read(addr, 4))[0]


def u64(w, addr):
    return struct.unpack("<Q", w.read(addr, 8))[0]


def path_open(w, path, dirflags=0, oflags=0, rights=ALL_RIGHTS, fdflags=0, dirfd=3):
    w.write(PATH, path.encode())
    e = w.call("path_open", dirfd, dirflags, PATH, len(path.encode()), oflags, rights, rights, fdflags, OUT)
    return e, (u32(w, OUT) if e == 0 else None)


def path_op(w, op, path, dirfd=3):
    w.write(PATH, path.encode())
    return w.call(op, dirfd, PATH, len(path.encode()))


def fdstat(w, fd):
    e = w.call("fd_fdstat_get", fd, OUT)
    if e:
        return e, None
    b = w.read(OUT, 24)
    return e, (b[0], struct.unpack("<H", b[2:4])[0], u64(w, OUT + 8), u64(w, OUT + 16))


def filestat(w, path, follow, dirfd=3):
    w.write(PATH, path.encode())
    e = w.call("path_filestat_get", dirfd, int(follow), PATH, len(path.encode()), OUT)
    if e:
        return e, None
    b = w.read(OUT, 64)
    return e, (b[16], struct.unpack("<Q", b[24:32])[0], struct.unpack("<Q", b[32:40])[0])


def readdir_all(w, fd, bufsize=4096):
    """Every entry as (d_next, namlen, type, name), following cookies like wasi-libc does."""
    entries, cookie = [], 0
    while True:
        assert w.call("fd_readdir", fd, BUF, bufsize, cookie, OUT) == 0
        used = u32(w, OUT)
        data = w.read(BUF, used)
        pos, progressed = 0, False
        while pos + 24 <= used:
            d_next, _ino, namlen, dtype = struct.unpack("<QQIB", data[pos : pos + 21])
            if pos + 24 + namlen > used:
                break
            entries.append((d_next, namlen, dtype, data[pos + 24 : pos + 24 + namlen].decode()))
            cookie, pos, progressed = d_next, pos + 24 + namlen, True
        if used < bufsize:
            return entries
        assert progressed, "buffer too small for one entry"


def make_tree(root: Path) -> Path:
    """root/g is granted; root/secret and root/outdir lie outside it."""
    g = root / "g"
    (g / "sub" / "deep").mkdir(parents=True)
    (g / "f.txt").write_text("hello")
    (root / "secret").write_text("s")
    (root / "outdir").mkdir()
    (root / "outdir" / "o.txt").write_text("outside")
    os.symlink("../secret", g / "out")
    os.symlink("f.txt", g / "in")
    os.symlink("/etc/passwd", g / "abs")
    os.symlink("sub/../f.txt", g / "rel")
    os.symlink("../outdir", g / "outd")
    os.symlink("sub/deep/../../out", g / "chain")
    os.symlink("loop", g / "loop")
    return g


# ---------------------------------------------------------------------------------------------
# Differential tests: same calls, same answers as wasmtime
# ---------------------------------------------------------------------------------------------
def _scenario(w) -> list:
    """A sequence of calls; returns everything observable except inode numbers and times."""
    out = []
    rec = out.append
    # args / environ
    rec(("args_sizes", w.call("args_sizes_get", OUT, OUT2), u32(w, OUT), u32(w, OUT2)))
    rec(("args_get", w.call("args_get", BUF, BUF + 64), w.read(BUF + 64, u32(w, OUT2))))
    rec(("environ_sizes", w.call("environ_sizes_get", OUT, OUT2), u32(w, OUT), u32(w, OUT2)))
    rec(("environ_get", w.call("environ_get", BUF, BUF + 64), w.read(BUF + 64, u32(w, OUT2))))
    # stdio and the preopen
    for fd in (0, 1, 2, 3, 4):
        rec(("fdstat", fd, fdstat(w, fd)))
        rec(("prestat", fd, w.call("fd_prestat_get", fd, OUT), w.read(OUT, 8) if fd == 3 else b""))
    rec(
        (
            "dir_name",
            w.call("fd_prestat_dir_name", 3, BUF, 3),
            w.call("fd_prestat_dir_name", 3, BUF, 64),
            w.read(BUF, 8),
        )
    )
    rec(
        (
            "stdio",
            w.call("fd_seek", 1, 0, 1, OUT),
            w.call("fd_tell", 0, OUT),
            w.call("fd_sync", 1),
            w.call("fd_fdstat_set_flags", 1, 1),
            w.call("fd_allocate", 1, 0, 1),
            w.call("fd_advise", 1, 0, 0, 0),
            w.call("fd_fdstat_set_rights", 1, 0, 0),
            w.call("fd_read", 1, IOV, 0, OUT),
            w.call("fd_write", 0, IOV, 0, OUT),
        )
    )
    # path_open over a grid of paths and modes (each opened fd closed again)
    paths = [
        "f.txt",
        "../secret",
        "/etc/passwd",
        "sub/../f.txt",
        "sub/../../secret",
        "out",
        "in",
        "abs",
        "rel",
        "outd",
        "outd/o.txt",
        "chain",
        "loop",
        ".",
        "..",
        "",
        "nonexist",
        "f.txt/",
        "sub/",
        "f.txt/x",
        "sub//deep",
        "./sub/./deep/..",
        "sub/deep/../../../g/f.txt",
    ]
    for p in paths:
        for dirflags in (0, 1):
            for rights in (R_READ, ALL_RIGHTS):
                e, fd = path_open(w, p, dirflags=dirflags, rights=rights)
                st = fdstat(w, fd) if fd is not None else None
                rec(("open", p, dirflags, rights, e, fd, st))
                if fd is not None:
                    w.call("fd_close", fd)
    for oflags in (1, 2, 3, 5, 6, 8, 10):
        for p in ("f.txt", "sub", "newfile"):
            e, fd = path_open(w, p, oflags=oflags, rights=R_READ | R_WRITE)
            rec(("open-oflags", p, oflags, e, fd))
            if fd is not None:
                w.call("fd_close", fd)
            path_op(w, "path_unlink_file", "newfile")
    # stat
    for p in [
        "f.txt",
        "sub",
        "out",
        "in",
        "abs",
        "outd",
        "outd/",
        "chain",
        "loop",
        "../secret",
        "/x",
        "",
        "nonexist",
        "sub/",
        "f.txt/",
        ".",
    ]:
        rec(("stat", p, filestat(w, p, False), filestat(w, p, True)))
    # readlink
    for p in ["rel", "abs", "f.txt", "out", "in/", "nonexist"]:
        w.write(PATH, p.encode())
        e = w.call("path_readlink", 3, PATH, len(p), BUF, 64, OUT)
        rec(("readlink", p, e, w.read(BUF, u32(w, OUT)) if e == 0 else None))
    w.write(PATH, b"rel")
    rec(("readlink-short", w.call("path_readlink", 3, PATH, 3, BUF, 4, OUT), u32(w, OUT), w.read(BUF, 4)))
    # a file: write, seek, read back, pread/pwrite, flags, sizes
    e, fd = path_open(w, "data.bin", oflags=1, rights=R_READ | R_WRITE)
    rec(("create", e, fd))
    w.write(BUF, b"0123456789")
    # One iovec: wasmtime transfers only the first non-empty buffer per call (a legal short write),
    # we pass them all to writev/readv; both are correct, so counts are compared on one buffer.
    w.write(IOV, struct.pack("<II", BUF, 10))
    rec(("write", w.call("fd_write", fd, IOV, 1, OUT), u32(w, OUT)))
    rec(("tell", w.call("fd_tell", fd, OUT), u64(w, OUT)))
    rec(
        (
            "seek",
            w.call("fd_seek", fd, 2, 0, OUT),
            u64(w, OUT),
            w.call("fd_seek", fd, -1, 2, OUT),
            u64(w, OUT),
            w.call("fd_seek", fd, -100, 1, OUT),
            w.call("fd_seek", fd, 3, 0, OUT),
        )
    )
    w.write(IOV, struct.pack("<II", BUF + 100, 64))
    rec(("read", w.call("fd_read", fd, IOV, 1, OUT), u32(w, OUT), w.read(BUF + 100, 7)))
    rec(("read-eof", w.call("fd_read", fd, IOV, 1, OUT), u32(w, OUT)))
    rec(("pread", w.call("fd_pread", fd, IOV, 1, 5, OUT), u32(w, OUT), w.read(BUF + 100, 5)))
    w.write(BUF + 200, b"AB")
    w.write(IOV + 8, struct.pack("<II", BUF + 200, 2))
    rec(
        (
            "pwrite",
            w.call("fd_pwrite", fd, IOV + 8, 1, 1, OUT),
            u32(w, OUT),
            w.call("fd_pread", fd, IOV, 1, 0, OUT),
            w.read(BUF + 100, u32(w, OUT)),
        )
    )
    rec(
        (
            "flags",
            w.call("fd_fdstat_set_flags", fd, 1),
            fdstat(w, fd),
            w.call("fd_fdstat_set_flags", fd, 2),
            w.call("fd_fdstat_set_flags", fd, 0),
            fdstat(w, fd),
        )
    )
    rec(
        (
            "size",
            w.call("fd_filestat_set_size", fd, 3),
            w.call("fd_filestat_get", fd, OUT),
            w.read(OUT + 16, 1),
            u64(w, OUT + 32),
        )
    )
    rec(
        (
            "misc",
            w.call("fd_sync", fd),
            w.call("fd_datasync", fd),
            w.call("fd_advise", fd, 0, 10, 1),
            w.call("fd_allocate", fd, 0, 10),
            w.call("fd_fdstat_set_rights", fd, 2, 2),
        )
    )
    rec(
        (
            "times",
            w.call("fd_filestat_set_times", fd, 10**9, 2 * 10**9, 5),
            w.call("fd_filestat_get", fd, OUT),
            u64(w, OUT + 40),
            u64(w, OUT + 48),
            w.call("fd_filestat_set_times", fd, 0, 0, 3),
        )
    )
    _, fd2 = path_open(w, "f.txt", rights=R_READ)
    rec(
        (
            "renumber",
            w.call("fd_renumber", fd, 9),
            w.call("fd_renumber", fd, fd2),
            w.call("fd_tell", fd2, OUT),
            u64(w, OUT),
            w.call("fd_close", fd),
            w.call("fd_close", fd2),
            w.call("fd_close", fd2),
            w.call("fd_renumber", 1, 1),
        )
    )
    # read-only file refuses writes
    e, fd = path_open(w, "f.txt", rights=R_READ)
    w.write(IOV, struct.pack("<II", BUF, 3))
    rec(
        (
            "ro",
            e,
            fd,
            w.call("fd_write", fd, IOV, 1, OUT),
            w.call("fd_filestat_set_size", fd, 0),
            w.call("fd_readdir", fd, BUF, 100, 0, OUT),
        )
    )
    w.call("fd_close", fd)
    # directories refuse file operations
    e, fd = path_open(w, "sub", rights=R_READ)
    rec(
        (
            "dirops",
            e,
            fd,
            w.call("fd_read", fd, IOV, 1, OUT),
            w.call("fd_write", fd, IOV, 1, OUT),
            w.call("fd_seek", fd, 0, 0, OUT),
            w.call("fd_tell", fd, OUT),
            w.call("fd_sync", fd),
            w.call("fd_allocate", fd, 0, 1),
            w.call("fd_filestat_set_size", fd, 0),
            w.call("fd_prestat_get", fd, OUT),
        )
    )
    w.call("fd_close", fd)
    # directory tree edits
    for op, p in [
        ("path_create_directory", "../x"),
        ("path_create_directory", "/x"),
        ("path_create_directory", "newdir"),
        ("path_create_directory", "newdir"),
        ("path_create_directory", "newdir/inner/"),
        ("path_remove_directory", "newdir"),
        ("path_remove_directory", "newdir/inner"),
        ("path_remove_directory", "newdir/"),
        ("path_remove_directory", ".."),
        ("path_remove_directory", "f.txt"),
        ("path_remove_directory", "outd"),
        ("path_unlink_file", "../secret"),
        ("path_unlink_file", "sub"),
        ("path_unlink_file", "f.txt/"),
        ("path_unlink_file", "nonexist"),
        ("path_unlink_file", "sub/deep/../../out"),
        ("path_create_directory", "sub/deep/../.."),
        ("path_create_directory", "x/"),
        ("path_remove_directory", "x/"),
        ("path_remove_directory", "x/."),
        ("path_remove_directory", "."),
        ("path_remove_directory", "sub/deep/.."),
        ("path_remove_directory", "x"),
        ("path_unlink_file", "in/"),
        ("path_create_directory", "sub/."),
    ]:
        rec((op, p, path_op(w, op, p)))
    for old, new in [
        ("f.txt", "../ren"),
        ("../secret", "stolen"),
        ("f.txt", "g2.txt"),
        ("g2.txt", "f.txt"),
        ("sub", "f.txt"),
        ("nonexist", "x"),
        ("sub/", "sub2/"),
        ("sub2", "sub"),
        ("f.txt", "f2/"),
        ("f.txt/", "f2"),
        ("in/", "x"),
    ]:
        w.write(PATH, old.encode())
        w.write(PATH2, new.encode())
        rec(("rename", old, new, w.call("path_rename", 3, PATH, len(old), 3, PATH2, len(new))))
    for flags, old, new in [
        (0, "f.txt", "../hl"),
        (0, "../secret", "hl"),
        (0, "f.txt", "hl"),
        (0, "f.txt", "hl"),
        (1, "f.txt", "hl2"),
        (0, "sub", "hl3"),
        (0, "in", "hl4"),
        (0, "f.txt", "l1/"),
        (0, "sub/", "l2"),
        (0, "f.txt/", "l3"),
        (0, "outd/", "l4"),
    ]:
        w.write(PATH, old.encode())
        w.write(PATH2, new.encode())
        rec(("link", flags, old, new, w.call("path_link", 3, flags, PATH, len(old), 3, PATH2, len(new))))
    for target, new in [
        ("/etc/passwd", "s1"),
        ("../secret", "s2"),
        ("f.txt", "s3"),
        ("f.txt", "s3"),
        ("f.txt", "s4/"),
        ("sub/", "s5"),
    ]:
        w.write(PATH, target.encode())
        w.write(PATH2, new.encode())
        rec(("symlink", target, new, w.call("path_symlink", PATH, len(target), 3, PATH2, len(new))))
    for flags in (0, 1):
        for p in ("sub/", "f.txt/", "in/", "outd/", "in", "out", "f.txt"):
            w.write(PATH, p.encode())
            rec(("set_times", flags, p, w.call("path_filestat_set_times", 3, flags, PATH, len(p), 0, 0, 3)))
    # readdir of the grant: "." and ".." first, then every entry once, in any order
    e, fd = path_open(w, ".", rights=R_READ)
    for size in (4096, 40, 32):
        ents = readdir_all(w, fd, size)
        rec(
            (
                "readdir",
                size,
                ents[:2],
                sorted((n, t) for _, _, t, n in ents[2:]),
                [d for d, *_ in ents] == list(range(1, len(ents) + 1)),
            )
        )
    w.call("fd_close", fd)
    # clocks, random, poll, misc
    rec(
        (
            "clocks",
            w.call("clock_res_get", 0, OUT),
            w.call("clock_res_get", 1, OUT),
            w.call("clock_time_get", 0, 1, OUT),
            w.call("clock_time_get", 1, 1, OUT),
        )
    )
    rec(("random", w.call("random_get", BUF, 64), w.call("sched_yield"), w.call("proc_raise", 2)))
    sub = struct.pack("<QB7xIxxxxQQH6x", 42, 0, 1, 1_000_000, 0, 0)
    w.write(BUF, sub)
    rec(
        (
            "poll",
            w.call("poll_oneoff", BUF, BUF + 512, 1, OUT),
            u32(w, OUT),
            w.read(BUF + 512, 11),
            w.call("poll_oneoff", BUF, BUF + 512, 0, OUT),
        )
    )
    rec(
        (
            "sock",
            w.call("sock_accept", 1, 0, OUT),
            w.call("sock_shutdown", 1, 1),
            w.call("sock_recv", 1, IOV, 0, 0, OUT, OUT2),
            w.call("sock_send", 1, IOV, 0, 0, OUT),
        )
    )
    rec(("close-preopen", w.call("fd_close", 3), path_open(w, "f.txt"), w.call("fd_close", 3)))
    return out


def _differential(libwasi, tmp_path, walk: bool, monkeypatch):
    if walk:
        monkeypatch.setenv("WASMC_WASI_NO_OPENAT2", "1")
    a, b = make_tree(tmp_path / "ours"), make_tree(tmp_path / "ref")
    ours = _scenario(Ours(libwasi, [(str(a), "/sandbox")]))
    ref = _scenario(Reference([(str(b), "/sandbox")]))
    mismatches = [(o, r) for o, r in zip(ours, ref) if o != r]
    assert not mismatches, "\n".join(f"ours {o}\nref  {r}" for o, r in mismatches)
    assert len(ours) == len(ref)
    assert (tmp_path / "ours" / "secret").read_text() == "s"
    assert sorted(os.listdir(tmp_path / "ours")) == sorted(os.listdir(tmp_path / "ref"))
    assert sorted(os.listdir(a)) == sorted(os.listdir(b))


def test_matches_wasmtime_openat2(libwasi, tmp_path, monkeypatch):
    _differential(libwasi, tmp_path, False, monkeypatch)


def test_matches_wasmtime_walk(libwasi, tmp_path, monkeypatch):
    _differential(libwasi, tmp_path, True, monkeypatch)


# ---------------------------------------------------------------------------------------------
# Sandbox: nothing outside the grant is read, written, listed or even stat'ed
# ---------------------------------------------------------------------------------------------
@pytest.fixture(params=["openat2", "walk"])
def sandbox(request, libwasi, tmp_path, monkeypatch):
    if request.param == "walk":
        monkeypatch.setenv("WASMC_WASI_NO_OPENAT2", "1")
    g = make_tree(tmp_path)
    return Ours(libwasi, [(str(g), "/sandbox")]), tmp_path


ESCAPES = [
    "../secret",
    "/etc/passwd",
    "sub/../../secret",
    "sub/deep/../../../secret",
    "outd/o.txt",
    "chain",
    "outd/../secret",
    "..",
    "../g/../secret",
    "sub/../outd/",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_escape_refused_everywhere(sandbox, path):
    w, root = sandbox
    assert path_open(w, path, dirflags=1, rights=R_READ)[0] == PERM
    assert filestat(w, path, True)[0] == PERM
    w.write(PATH, path.encode())
    assert w.call("path_filestat_set_times", 3, 1, PATH, len(path), 0, 0, 10) == PERM
    assert path_op(w, "path_create_directory", path.rstrip("/") + "/x_new") == PERM
    assert path_op(w, "path_unlink_file", path.rstrip("/") + "/o.txt") == PERM
    path_op(w, "path_unlink_file", path)  # may remove a link inside the grant, never its target
    assert (root / "secret").read_text() == "s"
    assert (root / "outdir" / "o.txt").read_text() == "outside"
    assert sorted(os.listdir(root)) == ["g", "outdir", "secret"]


def test_escape_by_rename_link_symlink(sandbox):
    w, root = sandbox
    for old, new in [
        ("f.txt", "../moved"),
        ("../secret", "got"),
        ("f.txt", "outd/moved"),
        ("outd/o.txt", "got"),
    ]:
        w.write(PATH, old.encode())
        w.write(PATH2, new.encode())
        assert w.call("path_rename", 3, PATH, len(old), 3, PATH2, len(new)) == PERM, (old, new)
        assert w.call("path_link", 3, 0, PATH, len(old), 3, PATH2, len(new)) == PERM, (old, new)
    w.write(PATH, b"/etc")
    w.write(PATH2, b"etc")
    assert w.call("path_symlink", PATH, 4, 3, PATH2, 3) == PERM
    # a relative link may point out, but following it is refused
    w.write(PATH, b"../outdir")
    w.write(PATH2, b"up")
    assert w.call("path_symlink", PATH, 9, 3, PATH2, 2) == 0
    assert path_open(w, "up/o.txt", rights=R_READ)[0] == PERM
    assert path_open(w, "up", dirflags=1, rights=R_READ)[0] == PERM
    assert filestat(w, "up/", False)[0] == PERM  # trailing slash follows the link
    w.write(PATH, b"abs")
    assert w.call("path_readlink", 3, PATH, 3, BUF, 64, OUT) == PERM
    assert sorted(os.listdir(root)) == ["g", "outdir", "secret"]
    assert os.listdir(root / "outdir") == ["o.txt"]


def test_nested_dir_fd_is_its_own_root(sandbox):
    w, _ = sandbox
    e, sub = path_open(w, "sub", rights=R_READ)
    assert e == 0
    assert path_open(w, "../f.txt", rights=R_READ, dirfd=sub)[0] == PERM
    assert path_open(w, "deep/../../f.txt", rights=R_READ, dirfd=sub)[0] == PERM
    assert path_open(w, "deep/..", rights=R_READ, dirfd=sub)[0] == 0
    e, f = path_open(w, "f.txt", rights=R_READ)
    assert path_open(w, "x", dirfd=f)[0] == NOTDIR


def test_symlink_loop_and_walk_limits(sandbox):
    w, _ = sandbox
    assert path_open(w, "loop", dirflags=1, rights=R_READ)[0] == LOOP
    assert path_open(w, "loop", rights=R_READ)[0] == LOOP
    assert path_open(w, "rel", dirflags=1, rights=R_READ)[0] == 0


# ---------------------------------------------------------------------------------------------
# Guest pointers: every one is bounds-checked (wasmtime traps here; we return EFAULT by contract)
# ---------------------------------------------------------------------------------------------
def test_pointer_checks(sandbox):
    w, _ = sandbox
    top = MEM - 4
    assert w.call("fd_write", 1, MEM - 4, 1, OUT) == FAULT  # iovec array crosses the end
    w.write(IOV, struct.pack("<II", MEM - 10, 100))
    assert w.call("fd_write", 1, IOV, 1, OUT) == FAULT  # buffer crosses the end
    w.write(IOV, struct.pack("<II", 0xFFFFFFF0, 0x20))
    assert w.call("fd_write", 1, IOV, 1, OUT) == FAULT  # wraps in 32 bits
    assert w.call("fd_write", 1, IOV, -1, OUT) == FAULT  # 2^32-1 iovecs
    w.write(IOV, struct.pack("<II", BUF, 0))
    assert w.call("fd_write", 1, IOV, 1, MEM - 2) == FAULT
    assert w.call("fd_fdstat_get", 1, MEM - 8) == FAULT
    assert w.call("fd_filestat_get", 3, MEM - 63) == FAULT
    assert w.call("args_sizes_get", OUT, top + 2) == FAULT
    assert w.call("args_get", OUT, MEM - 3) == FAULT
    assert w.call("environ_get", MEM - 2, BUF) == FAULT
    assert w.call("clock_time_get", 0, 0, MEM - 7) == FAULT
    assert w.call("random_get", MEM - 10, 11) == FAULT
    assert w.call("random_get", MEM - 10, 10) == 0
    assert w.call("fd_prestat_dir_name", 3, MEM - 4, 8) == FAULT
    assert w.call("path_open", 3, 0, MEM - 3, 5, 0, R_READ, R_READ, 0, OUT) == FAULT
    assert w.call("path_open", 3, 0, 0, -1, 0, R_READ, R_READ, 0, OUT) == FAULT
    w.write(PATH, b"f.txt")
    assert w.call("path_open", 3, 0, PATH, 5, 0, R_READ, R_READ, 0, MEM - 3) == FAULT
    assert w.call("fd_readdir", 3, MEM - 100, 101, 0, OUT) == FAULT
    assert w.call("path_readlink", 3, PATH, 3, MEM - 2, 3, OUT) == FAULT
    assert w.call("poll_oneoff", MEM - 47, BUF, 1, OUT) == FAULT
    assert w.call("poll_oneoff", BUF, MEM - 31, 1, OUT) == FAULT
    assert w.call("poll_oneoff", BUF, BUF + 64, -1, OUT) == FAULT
    # a path with a NUL inside is refused rather than silently shortened
    w.write(PATH, b"f.txt\0xyz")
    assert w.call("path_open", 3, 0, PATH, 9, 0, R_READ, R_READ, 0, OUT) != 0


def test_readdir_layout(sandbox):
    w, _ = sandbox
    e, fd = path_open(w, "sub", rights=R_READ)
    assert e == 0
    assert w.call("fd_readdir", fd, BUF, 4096, 0, OUT) == 0
    used = u32(w, OUT)
    data = w.read(BUF, used)
    assert used == 3 * 24 + 1 + 2 + 4
    recs = []
    pos = 0
    while pos < used:
        d_next, _ino, namlen, dtype = struct.unpack("<QQIB", data[pos : pos + 21])
        assert data[pos + 21 : pos + 24] == b"\0\0\0"
        recs.append((d_next, namlen, dtype, data[pos + 24 : pos + 24 + namlen]))
        pos += 24 + namlen
    assert recs == [(1, 1, 3, b"."), (2, 2, 3, b".."), (3, 4, 3, b"deep")]
    # resuming from a cookie, and a cut entry that fills the buffer exactly
    assert w.call("fd_readdir", fd, BUF, 4096, 2, OUT) == 0 and u32(w, OUT) == 28
    assert w.call("fd_readdir", fd, BUF, 26, 2, OUT) == 0 and u32(w, OUT) == 26
    assert w.call("fd_readdir", fd, BUF, 4096, 3, OUT) == 0 and u32(w, OUT) == 0


def test_stdio_round_trip(wasi_objects, tmp_path):
    """fd_write to fd 1 and fd_read from fd 0 reach the host's stdout/stdin (run in a child)."""
    src = tmp_path / "echo.c"
    src.write_text(r"""
#include <stdio.h>
#include <string.h>
#include "wasmc_rt.h"
static uint8_t mem[65536];
int main(void) {
    wasmc_memory m = {mem, sizeof mem, 1, sizeof mem, 0, 0};
    wasmc_memory *ms[1] = {&m};
    wasmc_instance inst;
    memset(&inst, 0, sizeof inst);
    inst.mem0_base = mem;
    inst.memories = ms;
    wasmc_wasi_config cfg = {0};
    inst.host_data = wasmc_wasi_new(&cfg);
    const char *sig;
    int32_t (*rd)(wasmc_instance *, int32_t, int32_t, int32_t, int32_t) =
        (int32_t (*)(wasmc_instance *, int32_t, int32_t, int32_t, int32_t))wasmc_wasi_lookup("fd_read", &sig);
    int32_t (*wr)(wasmc_instance *, int32_t, int32_t, int32_t, int32_t) =
        (int32_t (*)(wasmc_instance *, int32_t, int32_t, int32_t, int32_t))wasmc_wasi_lookup("fd_write", &sig);
    int32_t (*ex)(wasmc_instance *, int32_t) =
        (int32_t (*)(wasmc_instance *, int32_t))wasmc_wasi_lookup("proc_exit", &sig);
    uint32_t iov[2] = {1024, 100};
    memcpy(mem + 16, iov, 8);
    if (rd(&inst, 0, 16, 1, 8) != 0) return 2;
    uint32_t n;
    memcpy(&n, mem + 8, 4);
    iov[1] = n;
    memcpy(mem + 16, iov, 8);
    if (wr(&inst, 1, 16, 1, 8) != 0) return 3;
    if (wr(&inst, 2, 16, 1, 8) != 0) return 4;
    if (wr(&inst, 0, 16, 1, 8) != 8) return 5; /* stdin is read-only */
    ex(&inst, n == 6 ? 7 : 9);
    return 1;
}
""")
    exe = tmp_path / "echo"
    subprocess.run([CC, *CFLAGS, str(src), *wasi_objects, "-o", str(exe)], check=True)
    r = subprocess.run([str(exe)], input=b"hello\n", capture_output=True, check=False)
    assert (r.returncode, r.stdout, r.stderr) == (7, b"hello\n", b"hello\n")


def test_proc_exit_out_of_range_traps(wasi_objects, tmp_path):
    src = tmp_path / "exit.c"
    src.write_text(r"""
#include "wasmc_rt.h"
int main(int argc, char **argv) {
    (void)argc;
    const char *sig;
    int32_t (*ex)(wasmc_instance *, int32_t) = (int32_t (*)(wasmc_instance *, int32_t))wasmc_wasi_lookup("proc_exit", &sig);
    ex(0, argv[1][0] == 'b' ? 126 : 125);
    return 1;
}
""")
    exe = tmp_path / "exit"
    subprocess.run([CC, *CFLAGS, str(src), *wasi_objects, "-o", str(exe)], check=True)
    assert subprocess.run([str(exe), "a"], check=False).returncode == 125
    r = subprocess.run([str(exe), "b"], capture_output=True, check=False)
    assert r.returncode == 100 + 12  # the stub's exit for WASMC_TRAP_HOST
    assert b"invalid exit status" in r.stderr


def test_lookup_table(libwasi):
    """Every preview1 function exists with the witx signature; unknown names are NULL."""
    lib = libwasi
    lib.wasmc_wasi_lookup.restype = ctypes.c_void_p
    lib.wasmc_wasi_lookup.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
    for name, sig in SIGS.items():
        got = ctypes.c_char_p()
        assert lib.wasmc_wasi_lookup(name.encode(), ctypes.byref(got)), name
        assert got.value.decode() == sig, name
    assert not lib.wasmc_wasi_lookup(b"path_open2", None)


def test_main_compiles():
    subprocess.run([CC, *CFLAGS, "-c", str(RUNTIME / "main.c"), "-o", os.devnull], check=True)
