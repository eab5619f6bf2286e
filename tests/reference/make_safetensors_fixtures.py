#!/usr/bin/env python3
# Writes the tiny safetensors fixtures under tests/data/safetensors/: good_*.safetensors that every
# reader must accept, bad_*.safetensors that loralab must refuse (each breaks one rule of the format).
# They are the CLI test's inputs (tests/tools/test_loralab_inspect.sh, which lists the message each
# bad file must give) and the seed corpus of the safetensors fuzzer. Plain Python, no numpy: the
# format is 8 bytes of length, JSON, then raw little-endian data. Run it from the repository root.
import json
import os
import struct

OUT = "tests/data/safetensors"


def f32(*values):
    return struct.pack(f"<{len(values)}f", *values)


def st(header, data=b"", pad=True):
    """A file with `header` (raw bytes, a str of JSON, or a dict dumped compactly) and `data` after it."""
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    raw = header.encode("utf-8") if isinstance(header, str) else header
    if pad:
        raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


F32_6 = f32(0, 1, 2, 3, 4, 5)
ONE = {"w": entry("F32", [6], 0, 24)}

files = {
    # The reference's test_serialization, byte for byte (SAFETENSORS_FACTS §3).
    "good_golden": st({"attn.0": entry("F32", [1, 2, 3], 0, 24)}, F32_6),
    # Several dtypes, a scalar, an empty tensor, a U8 tensor that leaves the next one at an odd
    # offset, metadata, and a header that starts with whitespace (the reference allows it).
    "good_mixed": st(
        ' {"__metadata__":{"format":"pt","step":"100"},'
        '"h.0.mlp.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},'
        '"h.0.ln.bias":{"dtype":"F16","shape":[2],"data_offsets":[24,28]},'
        '"tokens":{"dtype":"I64","shape":[],"data_offsets":[28,36]},'
        '"flags":{"dtype":"U8","shape":[3],"data_offsets":[36,39]},'
        '"h.0.ln.weight":{"dtype":"BF16","shape":[2],"data_offsets":[39,43]},'
        '"empty":{"dtype":"I32","shape":[2,0],"data_offsets":[43,43]}}',
        f32(-1.5, 0, 0.25, 1, 2, 3.5) + struct.pack("<2e", 1.0, -2.0) + struct.pack("<q", 42) + bytes([0, 1, 255])
        + struct.pack("<2H", 0x3F80, 0xC000)),
    "bad_too_small": b"\x01\x02\x03",
    "bad_header_too_large": bytes.fromhex("3c000000000000ff"),
    "bad_header_past_end": bytes.fromhex("3c00000000000000") + b"{}",
    "bad_not_utf8": st(b'{"\xff":1}'),
    "bad_json": st('{"w":'),
    "bad_not_object": st("[1,2,3]"),
    "bad_missing_shape": st({"w": {"dtype": "F32", "data_offsets": [0, 24]}}, F32_6),
    "bad_extra_key": st({"w": {**entry("F32", [6], 0, 24), "strides": [1]}}, F32_6),
    "bad_unknown_dtype": st({"w": entry("F33", [6], 0, 24)}, F32_6),
    "bad_fp8_dtype": st({"w": entry("F8_E4M3", [24], 0, 24)}, F32_6),
    "bad_negative_shape": st({"w": entry("F32", [-6], 0, 24)}, F32_6),
    "bad_shape_overflow": st({"w": entry("I32", [2, 18446744073709551614], 0, 16)}),
    "bad_size_mismatch": st({"w": entry("I32", [2, 2], 0, 4)}, b"abcd"),
    "bad_offset_not_zero": st({"w": entry("F32", [6], 4, 28)}, b"abcd" + F32_6),
    "bad_hole": st({"a": entry("F32", [6], 0, 24), "b": entry("F32", [6], 28, 52)}, F32_6 + b"abcd" + F32_6),
    "bad_overlap": st({"a": entry("F32", [6], 0, 24), "b": entry("F32", [6], 0, 24)}, F32_6),
    "bad_trailing_bytes": st(ONE, F32_6 + b"extra_bogus_data_for_polyglot_file"),
    "bad_truncated": st(ONE, F32_6[:22]),
    "bad_duplicate_name": st('{"w":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},'
                             '"w":{"dtype":"F32","shape":[6],"data_offsets":[24,48]}}', F32_6 + F32_6),
    "bad_metadata_not_string": st({"__metadata__": {"step": 100}}),
}

os.makedirs(OUT, exist_ok=True)
for name, data in files.items():
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(data)
print(f"wrote {len(files)} files to {OUT}")
