#!/usr/bin/env python3
"""crash_replay.py REC BASE RUN OUT: what a power cut could leave of the run folder RUN at
every point of a recorded process (PAL_IO_RECORD=REC, see include/palimpsest/util.h).

BASE is a copy of RUN as it was before the process started (a path that does not exist when
the process created RUN). The model of the disk: the
namespace operations (create, rename, unlink, mkdir, rmdir, truncation) persist in the order
they were made, as a journaling file system's metadata does; the bytes of a file persist
only up to its last fsync (a write not yet fsynced is dropped). For each prefix of the record
the folder that would be found after the cut is built; identical ones are written once, as
OUT/K (K: the number of calls of the record applied). Prints the folders, one a line."""
import hashlib
import os
import sys


class Node:
    def __init__(self, is_dir, content=b""):
        self.is_dir = is_dir
        self.cur = bytearray(content)   # what the process sees
        self.durable = bytes(content)   # what survives a power cut


def load_base(base, run):
    if not os.path.isdir(base):   # the process created RUN: it starts absent
        return {}
    ns = {run: Node(True)}
    for root, dirs, files in os.walk(base):
        rel = os.path.relpath(root, base)
        here = run if rel == "." else os.path.join(run, rel)
        for d in dirs:
            ns[os.path.join(here, d)] = Node(True)
        for f in files:
            with open(os.path.join(root, f), "rb") as fp:
                ns[os.path.join(here, f)] = Node(False, fp.read())
    return ns


def inside(path, run):
    return path == run or path.startswith(run + "/")


def subtree(ns, path):
    return [p for p in ns if p == path or p.startswith(path + "/")]


def apply(op, ns, fds, data, run):
    _, kind, fd, flags, size, offset, at, path, path2 = op
    fd, flags, size, offset, at = int(fd), int(flags), int(size), int(offset), int(at)
    if kind == "open":
        if not inside(path, run):
            fds.pop(fd, None)
            return
        node = ns.get(path)
        if node is None and flags & os.O_CREAT:
            node = ns[path] = Node(False)
        if node is not None and not node.is_dir and flags & os.O_TRUNC:
            node.cur = bytearray()
            node.durable = b""
        fds[fd] = (node, bool(flags & os.O_APPEND)) if node is not None else None
    elif kind == "write":
        entry = fds.get(fd)
        if not entry:
            return
        node, append = entry
        pos = len(node.cur) if append else offset
        if pos > len(node.cur):
            node.cur.extend(b"\0" * (pos - len(node.cur)))
        node.cur[pos:pos + size] = data[at:at + size]
    elif kind == "fsync":
        entry = fds.get(fd)
        if entry and not entry[0].is_dir:
            entry[0].durable = bytes(entry[0].cur)
    elif kind == "rename":
        if not inside(path, run) and not inside(path2, run):
            return
        for p in subtree(ns, path2):
            del ns[p]
        for p in sorted(subtree(ns, path)):
            ns[path2 + p[len(path):]] = ns.pop(p)
    elif kind in ("unlink", "rmdir"):
        ns.pop(path, None)
    elif kind == "mkdir" and inside(path, run):
        ns[path] = Node(True)


def signature(ns):
    h = hashlib.sha256()
    for p in sorted(ns):
        n = ns[p]
        h.update(p.encode() + (b"/" if n.is_dir else b"=" + hashlib.sha256(n.durable).digest()))
    return h.hexdigest()


def materialize(ns, run, dest):
    for p in sorted(ns):
        target = dest + p[len(run):]
        if ns[p].is_dir:
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as fp:
                fp.write(ns[p].durable)


def main():
    rec, base, run, out = sys.argv[1:5]
    run = run.rstrip("/")
    with open(rec + ".data", "rb") as fp:
        data = fp.read()
    with open(rec) as fp:
        ops = [line.rstrip("\n").split("\t") for line in fp if line.strip()]
    ns, fds, seen = load_base(base, run), {}, set()
    for k in range(len(ops) + 1):
        if k:
            apply(ops[k - 1], ns, fds, data, run)
        sig = signature(ns)
        if sig in seen:
            continue
        seen.add(sig)
        dest = os.path.join(out, str(k))
        os.makedirs(out, exist_ok=True)
        materialize(ns, run, dest)
        print(dest)


if __name__ == "__main__":
    main()
