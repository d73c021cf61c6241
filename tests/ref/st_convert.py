#!/usr/bin/env python3
"""st_convert.py IN OUT DTYPE [--as-f32] [--prefix P]: rewrites an F32 model.safetensors with
every tensor rounded to DTYPE (F16: IEEE half, round to nearest even; BF16: truncated to the
top 16 bits), stored as DTYPE, or with --as-f32 stored as the F32 values of those rounded
numbers (so palimpsest's on-load conversion can be compared bitwise with a plain F32 load).
--prefix adds a name prefix such as "transformer.". Stdlib only (CI's python3)."""
import json
import struct
import sys

args = sys.argv[1:]
as_f32 = "--as-f32" in args
prefix = ""
if "--prefix" in args:
    prefix = args[args.index("--prefix") + 1]
src, dst, dtype = args[0], args[1], args[2]
with open(src, "rb") as f:
    data = f.read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + n])
meta = header.pop("__metadata__", {"format": "pt"})
out_header, blobs, off = {"__metadata__": meta}, [], 0
for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
    a, b = info["data_offsets"]
    vals = struct.unpack("<%df" % ((b - a) // 4), data[8 + n + a:8 + n + b])
    if dtype == "F16":
        halves = struct.pack("<%de" % len(vals), *vals)
        raw = halves if not as_f32 else struct.pack("<%df" % len(vals), *struct.unpack("<%de" % len(vals), halves))
    elif dtype == "BF16":
        bits = struct.unpack("<%dI" % len(vals), struct.pack("<%df" % len(vals), *vals))
        raw = (struct.pack("<%dH" % len(bits), *[x >> 16 for x in bits]) if not as_f32
               else struct.pack("<%dI" % len(bits), *[x & 0xFFFF0000 for x in bits]))
    else:
        sys.exit("dtype must be F16 or BF16")
    out_header[prefix + name] = {"dtype": "F32" if as_f32 else dtype, "shape": info["shape"],
                                 "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
hb = json.dumps(out_header, separators=(",", ":")).encode()
hb += b" " * ((8 - len(hb) % 8) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
