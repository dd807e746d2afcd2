"""A small reader and writer of the safetensors format, for PyTorch builds without the `safetensors`
package (Debian's python3-torch 1.13 has none).

The format (https://github.com/huggingface/safetensors):

    [u64 little-endian N][N bytes of JSON header][data section]

The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into
the data section) and may hold "__metadata__": {str: str}. Numbers are little-endian on disk.
"""
import json
import struct

import numpy as np
import torch

METADATA = "__metadata__"

# safetensors dtype -> numpy dtype on disk (explicitly little-endian). BF16 has no numpy type: it is
# read as uint16 and widened by hand.
_NUMPY = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?",
}
_TORCH_TO_SAFETENSORS = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def _from_disk(raw, dtype, shape):
    if dtype not in _NUMPY:
        raise ValueError(f"unsupported safetensors dtype {dtype}")
    a = np.frombuffer(raw, dtype=_NUMPY[dtype])
    if dtype == "BF16":  # the high half of a float32
        return torch.from_numpy((a.astype(np.uint32) << 16).view(np.float32).reshape(shape).copy()).to(torch.bfloat16)
    # astype to the native byte order copies, so the tensor owns writable memory
    return torch.from_numpy(a.astype(a.dtype.newbyteorder("="), copy=True).reshape(shape))


def load_file(path):
    """{name: tensor} and the metadata dict of a .safetensors file; dtypes as stored."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: {len(blob)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    metadata = header.pop(METADATA, {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"{path}: tensor {name!r} has data_offsets [{begin}, {end}] outside the data section")
        tensors[name] = _from_disk(data[begin:end], info["dtype"], info["shape"])
    return tensors, metadata


def _to_disk(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:  # keep the high 16 bits of each float32
        return (t.float().numpy().view(np.uint32) >> 16).astype("<u2").tobytes()
    dtype = _TORCH_TO_SAFETENSORS.get(t.dtype)
    if dtype is None:
        raise ValueError(f"unsupported torch dtype {t.dtype}")
    return t.numpy().astype(_NUMPY[dtype], copy=False).tobytes()


def save_file(tensors, path, metadata=None):
    """Writes {name: tensor} as safetensors: tensors in name order, the data 8-byte aligned."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header[METADATA] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name]
        raw = _to_disk(t)
        header[name] = {"dtype": _TORCH_TO_SAFETENSORS[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)  # pad with spaces so the data section starts aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)
