#!/usr/bin/python3
"""Tiny Hugging Face GPT-2 checkpoints for tests/model/hf_checkpoint_test.cpp and tests/base/safetensors_test.cpp.

Writes tests/golden/checkpoints/<variant>/{config.json, model.safetensors | shards + index} in the
layouts transformers produces, plus expected.json (every weight in F32, canonical names). The
safetensors format is written by hand (no `safetensors` package): 8-byte little-endian header
length, JSON header, raw little-endian data. Deterministic: rerunning reproduces the same bytes.

Variants (all n_layer 2, n_embd 8, n_head 2, n_vocab 20, n_ctx 8):
  gpt2_lmhead   GPT2LMHeadModel state dict: `transformer.` prefix, BOOL attn.bias and F32
                attn.masked_bias mask buffers, lm_head.weight equal to wte.weight
  gpt2_bare     GPT2Model names (the published `gpt2` layout), F32 attn.bias buffers, no lm_head
  gpt2_f16      bare names, F16
  gpt2_bf16     bare names, BF16
  gpt2_sharded  prefixed names split over two shards + model.safetensors.index.json

Also a reader, used by the `python`-labelled C++ test to check a directory saved by reckoning:
  make_checkpoints.py --verify DIR   prints a JSON summary of DIR/model.safetensors and config.json

Run with /usr/bin/python3 (Debian's, with torch and numpy).
"""
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "golden", "checkpoints")

CONFIG = {
    "model_type": "gpt2",
    "architectures": ["GPT2LMHeadModel"],
    "vocab_size": 20,
    "n_positions": 8,
    "n_ctx": 8,
    "n_embd": 8,
    "n_head": 2,
    "n_layer": 2,
    "n_inner": None,
    "activation_function": "gelu_new",
    "layer_norm_epsilon": 1e-5,
    "embd_pdrop": 0.1,
    "attn_pdrop": 0.1,
    "resid_pdrop": 0.1,
    "initializer_range": 0.02,
    "bos_token_id": 19,
    "eos_token_id": 19,
    "tie_word_embeddings": True,
}

ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL",
             torch.uint8: "U8"}


def weight_shapes(cfg):
    """GPT-2's weights in Hugging Face order and Conv1D layout ([in, out])."""
    C, V, P, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"], cfg["n_layer"]
    shapes = [("wte.weight", [V, C]), ("wpe.weight", [P, C])]
    for i in range(L):
        p = "h.%d." % i
        shapes += [(p + "ln_1.weight", [C]), (p + "ln_1.bias", [C]),
                   (p + "attn.c_attn.weight", [C, 3 * C]), (p + "attn.c_attn.bias", [3 * C]),
                   (p + "attn.c_proj.weight", [C, C]), (p + "attn.c_proj.bias", [C]),
                   (p + "ln_2.weight", [C]), (p + "ln_2.bias", [C]),
                   (p + "mlp.c_fc.weight", [C, 4 * C]), (p + "mlp.c_fc.bias", [4 * C]),
                   (p + "mlp.c_proj.weight", [4 * C, C]), (p + "mlp.c_proj.bias", [C])]
    shapes += [("ln_f.weight", [C]), ("ln_f.bias", [C])]
    return shapes


def make_weights(cfg):
    # Distinct random values everywhere (biases and norms too), so that a swapped, transposed or
    # misplaced tensor cannot go unnoticed.
    gen = torch.Generator().manual_seed(1234)
    return [(n, torch.randn(s, generator=gen, dtype=torch.float32)) for n, s in weight_shapes(cfg)]


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the same 2 bytes
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors:
        data = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return offset


def read_safetensors(path):
    """Returns (metadata, [(name, dtype, shape, begin, end, float64 numpy array)], header_len)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode())
    data = raw[8 + n:]
    np_types = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}
    metadata = header.pop("__metadata__", {})
    out = []
    for name, e in header.items():
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[b:end], dtype=np_types[e["dtype"]]).astype(np.float64)
        out.append((name, e["dtype"], e["shape"], b, end, arr.reshape(e["shape"])))
    return metadata, out, n, len(data)


def write_dir(name, tensors, metadata={"format": "pt"}):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "config.json"), CONFIG)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors, metadata)
    return d


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def with_buffers(weights, cfg, prefix, mask_dtype):
    """HF state-dict order: each block's attn.bias / attn.masked_bias after ln_1."""
    P = cfg["n_positions"]
    mask = torch.tril(torch.ones(P, P)).to(mask_dtype).view(1, 1, P, P)
    out = []
    for n, t in weights:
        out.append((prefix + n, t))
        if n.endswith(".ln_1.bias"):
            block = n[: -len("ln_1.bias")]
            out.append((prefix + block + "attn.bias", mask))
            out.append((prefix + block + "attn.masked_bias", torch.tensor(-1e4)))
    return out


def generate():
    weights = make_weights(CONFIG)
    wte = dict(weights)["wte.weight"]

    lmhead = with_buffers(weights, CONFIG, "transformer.", torch.bool) + [("lm_head.weight", wte.clone())]
    write_dir("gpt2_lmhead", lmhead)
    write_dir("gpt2_bare", with_buffers(weights, CONFIG, "", torch.float32))
    write_dir("gpt2_f16", [(n, t.half()) for n, t in weights])
    write_dir("gpt2_bf16", [(n, t.bfloat16()) for n, t in weights])

    # Sharded as save_pretrained(max_shard_size=...) does: index weight_map sorted by name.
    d = os.path.join(OUT, "gpt2_sharded")
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "config.json"), CONFIG)
    prefixed = [("transformer." + n, t) for n, t in weights]
    half = len(prefixed) // 2
    shards = [("model-00001-of-00002.safetensors", prefixed[:half]),
              ("model-00002-of-00002.safetensors", prefixed[half:])]
    weight_map, total = {}, 0
    for file, part in shards:
        total += write_safetensors(os.path.join(d, file), part, {"format": "pt"})
        for n, _ in part:
            weight_map[n] = file
    write_json(os.path.join(d, "model.safetensors.index.json"),
               {"metadata": {"total_size": total},
                "weight_map": dict(sorted(weight_map.items()))})

    # Expected values: F32, canonical names; float32 written in its shortest round-trip form.
    lines = ["{", '  "tensors": {']
    for i, (n, t) in enumerate(weights):
        values = ",".join(str(np.float32(v)) for v in t.reshape(-1).tolist())
        sep = "," if i + 1 < len(weights) else ""
        lines.append('    "%s": {"shape": %s, "values": [%s]}%s' % (n, json.dumps(list(t.shape)), values, sep))
    lines += ["  }", "}"]
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write("\n".join(lines) + "\n")


def verify(d):
    """Summary of a directory written by reckoning, in the order of the file."""
    metadata, tensors, header_len, data_len = read_safetensors(os.path.join(d, "model.safetensors"))
    with open(os.path.join(d, "config.json")) as f:
        config = json.load(f)
    end = 0
    contiguous = True
    for _, _, _, b, e, _ in tensors:
        contiguous = contiguous and b == end
        end = e
    summary = {
        "metadata": metadata,
        "header_len_mod_8": header_len % 8,
        "data_contiguous": contiguous and end == data_len,
        "config": {k: config.get(k) for k in ("vocab_size", "n_positions", "n_embd", "n_head", "n_layer",
                                               "model_type", "activation_function")},
        "tensors": [{"name": n, "dtype": dt, "shape": s, "sum": float(a.sum()),
                     "weighted_sum": float((a.reshape(-1) * np.arange(1, a.size + 1)).sum())}
                    for n, dt, s, _, _, a in tensors],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--verify":
        verify(sys.argv[2])
    elif len(sys.argv) == 1:
        generate()
    else:
        sys.exit("usage: make_checkpoints.py [--verify DIR]")
