#!/usr/bin/python3
"""Golden data for the GPT-2 forward and backward pass (tests/model/gpt2_golden_test.cpp).

Writes a small random GPT-2 in Hugging Face layout (config.json + model.safetensors with the
`transformer.` key prefix and the attn.bias / attn.masked_bias buffers a real checkpoint carries)
and expected.safetensors with right-padded inputs, the logits, a loss and the gradient of that
loss w.r.t. every weight, into tests/golden/gpt2/.

The reference is an independent GPT-2 forward in plain PyTorch that follows the math of Hugging
Face transformers' GPT2LMHeadModel (modeling_gpt2.py, eager attention) line by line: Conv1D weights
[in, out], pre-LayerNorm blocks, attention scores divided by sqrt(head_dim), causal mask by
torch.where with finfo.min, padding mask added as (1 - mask) * finfo.min, gelu_new (tanh
approximation), final LayerNorm, tied head. position_ids are HF's default arange(T) (right padding
keeps real positions at 0..len-1, so they agree with reckoning's mask-counted positions; padded
positions differ, which is why the test compares real positions only). transformers itself is not
installed on this machine (no Debian package), so it is not used.

The weights are stored in float32 like a real checkpoint; the reference runs in float64 on those
float32 values, so the expected numbers are exact up to float64 rounding.

Run: /usr/bin/python3 scripts/golden/make_gpt2_golden.py   (deterministic; rewrites the files)
"""
import json
import math
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "gpt2")

CONFIG = {
    "model_type": "gpt2",
    "architectures": ["GPT2LMHeadModel"],
    "vocab_size": 50,
    "n_positions": 32,
    "n_ctx": 32,
    "n_embd": 16,
    "n_head": 4,
    "n_layer": 2,
    "n_inner": None,
    "activation_function": "gelu_new",
    "layer_norm_epsilon": 1e-5,
    "embd_pdrop": 0.1,
    "attn_pdrop": 0.1,
    "resid_pdrop": 0.1,
    "initializer_range": 0.02,
    "bos_token_id": 49,
    "eos_token_id": 49,
    "scale_attn_weights": True,
    "tie_word_embeddings": True,
}

BLOCK_NAMES = [
    "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
    "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
    "mlp.c_proj.weight", "mlp.c_proj.bias",
]


def weight_names(n_layer):
    """Canonical order, the same as reckoning::gpt2_visit."""
    names = ["wte.weight", "wpe.weight"]
    for i in range(n_layer):
        names += [f"h.{i}.{n}" for n in BLOCK_NAMES]
    return names + ["ln_f.weight", "ln_f.bias"]


def random_weights(cfg, gen):
    """Weights far from GPT-2's init (std 0.02, gains 1, biases 0), so that every term of the
    forward pass (biases, LayerNorm gains, attention patterns) visibly matters in the numbers."""
    V, P, C, L = cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"], cfg["n_layer"]
    shapes = {"wte.weight": (V, C), "wpe.weight": (P, C), "ln_f.weight": (C,), "ln_f.bias": (C,)}
    for i in range(L):
        p = f"h.{i}."
        shapes.update({
            p + "ln_1.weight": (C,), p + "ln_1.bias": (C,),
            p + "attn.c_attn.weight": (C, 3 * C), p + "attn.c_attn.bias": (3 * C,),
            p + "attn.c_proj.weight": (C, C), p + "attn.c_proj.bias": (C,),
            p + "ln_2.weight": (C,), p + "ln_2.bias": (C,),
            p + "mlp.c_fc.weight": (C, 4 * C), p + "mlp.c_fc.bias": (4 * C,),
            p + "mlp.c_proj.weight": (4 * C, C), p + "mlp.c_proj.bias": (C,),
        })
    w = {}
    for name in weight_names(L):
        shape = shapes[name]
        if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
            t = 1.0 + 0.2 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif len(shape) == 1:
            t = 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif name in ("wte.weight", "wpe.weight"):
            t = 0.5 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:
            t = torch.randn(shape, generator=gen, dtype=torch.float64) / math.sqrt(shape[0]) * 1.5
        w[name] = t.to(torch.float32)
    return w


def gelu_new(x):
    # transformers.activations.NewGELUActivation
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def conv1d(x, weight, bias):
    # transformers.pytorch_utils.Conv1D: weight [in, out]
    size_out = x.size()[:-1] + (weight.size(-1),)
    return torch.addmm(bias, x.view(-1, x.size(-1)), weight).view(size_out)


def gpt2_reference(cfg, w, ids, attention_mask):
    """GPT2LMHeadModel.forward(input_ids, attention_mask) -> logits (B, T, V), eval mode."""
    B, T = ids.shape
    C, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    D = C // H
    eps = cfg["layer_norm_epsilon"]
    dtype = w["wte.weight"].dtype
    position_ids = torch.arange(T).unsqueeze(0)
    x = w["wte.weight"][ids] + w["wpe.weight"][position_ids]  # (B, T, C)
    # GPT2Model: extended attention mask (B, 1, 1, T), 0 for keep and finfo.min for padding.
    ext = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
    causal = torch.tril(torch.ones((T, T), dtype=torch.bool)).view(1, 1, T, T)
    for i in range(L):
        p = f"h.{i}."
        a = torch.nn.functional.layer_norm(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = conv1d(a, w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"])
        q, k, v = qkv.split(C, dim=2)
        q, k, v = (t.view(B, T, H, D).permute(0, 2, 1, 3) for t in (q, k, v))  # (B, H, T, D)
        att = torch.matmul(q, k.transpose(-1, -2))
        att = att / torch.full([], v.size(-1) ** 0.5, dtype=att.dtype)
        mask_value = torch.full([], torch.finfo(att.dtype).min, dtype=att.dtype)
        att = torch.where(causal, att, mask_value)
        att = att + ext
        att = torch.nn.functional.softmax(att, dim=-1)
        y = torch.matmul(att, v)  # (B, H, T, D)
        y = y.permute(0, 2, 1, 3).contiguous().view(B, T, C)
        y = conv1d(y, w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"])
        x = x + y
        m = torch.nn.functional.layer_norm(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = conv1d(gelu_new(conv1d(m, w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"])),
                   w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"])
        x = x + m
    x = torch.nn.functional.layer_norm(x, (C,), w["ln_f.weight"], w["ln_f.bias"], eps)
    return torch.matmul(x, w["wte.weight"].t())  # tied lm_head


def next_token_loss(logits, ids, attention_mask):
    """Mean cross-entropy over every real next token: logits[b, t] predicts ids[b, t + 1] where
    attention_mask[b, t + 1] == 1 (right padding, so position t is real too)."""
    V = logits.size(-1)
    target = ids[:, 1:].clone()
    target[attention_mask[:, 1:] == 0] = -100
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), target.reshape(-1),
                                             ignore_index=-100, reduction="mean")


DTYPES = {torch.float32: ("F32", np.float32), torch.float64: ("F64", np.float64),
          torch.int64: ("I64", np.int64), torch.bool: ("BOOL", np.bool_)}


def safetensors_bytes(tensors, metadata):
    """The safetensors format by hand: u64 LE header length, JSON header (padded with spaces to a
    multiple of 8), raw little-endian data in header order."""
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        code, np_dtype = DTYPES[t.dtype]
        data = np.ascontiguousarray(t.detach().numpy().astype(np_dtype)).astype(
            np.dtype(np_dtype).newbyteorder("<")).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20231101)
    cfg = CONFIG
    w32 = random_weights(cfg, gen)

    # Inputs: three sequences of lengths 8, 5, 3, right-padded with EOS to T = 8.
    B, T = 3, 8
    lengths = [8, 5, 3]
    ids = torch.full((B, T), cfg["eos_token_id"], dtype=torch.int64)
    mask = torch.zeros((B, T), dtype=torch.int64)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(0, cfg["vocab_size"] - 1, (n,), generator=gen)
        mask[b, :n] = 1

    w64 = {k: v.to(torch.float64).requires_grad_(True) for k, v in w32.items()}
    logits = gpt2_reference(cfg, w64, ids, mask)
    loss = next_token_loss(logits, ids, mask)
    names = weight_names(cfg["n_layer"])
    grads = torch.autograd.grad(loss, [w64[n] for n in names])

    # A checkpoint as GPT2LMHeadModel.save_pretrained writes it: `transformer.` prefix, mask
    # buffers included (older transformers versions saved them), lm_head tied and not stored.
    model = {}
    for i in range(cfg["n_layer"]):
        n = cfg["n_positions"]
        model[f"transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
        model[f"transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    for name in names:
        model["transformer." + name] = w32[name]

    expected = {"input_ids": ids, "attention_mask": mask, "logits": logits.detach(),
                "loss": loss.detach()}
    for name, g in zip(names, grads):
        expected["grad." + name] = g
    meta = {"format": "pt", "generator": "scripts/golden/make_gpt2_golden.py"}

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    with open(os.path.join(OUT, "model.safetensors"), "wb") as f:
        f.write(safetensors_bytes(model, meta))
    with open(os.path.join(OUT, "expected.safetensors"), "wb") as f:
        f.write(safetensors_bytes(expected, meta))
    print(f"loss {loss.item():.10f}; logits std {logits.std().item():.4f}; wrote {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
