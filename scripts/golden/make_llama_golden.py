#!/usr/bin/python3
"""Golden data for the Llama-family forward pass (tests/model/llama_golden_test.cpp).

Writes tests/golden/llama/<variant>/ as a Hugging Face model directory (config.json and
model.safetensors, or shards + model.safetensors.index.json) with random weights, plus
expected.safetensors: the input ids and mask of a left-padded batch, the reference logits (F32),
and the reference's greedy continuation of the first row. The reference forward below is written
independently of reckoning, from transformers' modeling_llama / modeling_mistral / modeling_qwen2 /
modeling_qwen3 (transformers is not a Debian package): RMSNorm in float32, rotate-half rotary
embeddings with rope_theta and rope_scaling (linear, dynamic, llama3), repeat_kv grouped-query
attention with an additive causal + padding (+ sliding window) mask, SwiGLU MLP, tied or separate
head. Computed in float64 from the stored weights, so the expected values do not depend on this
machine's float32 kernels.

Variants:
  llama_gqa        llama, 4 heads / 2 kv heads, untied head, rope_scaling llama3, F32
  llama_bias_bf16  llama, attention_bias + mlp_bias, rope_scaling linear, BF16 weights
  llama_dynamic    llama, rope_scaling dynamic (the batch runs past max_position_embeddings), F32
  mistral_window   mistral, sliding_window 3, F16 weights in two shards + index
  qwen2_tied       qwen2 (q/k/v biases), tied head, rope_theta 1e6, F32
  qwen3_qknorm     qwen3 (per-head q/k RMSNorm), head_dim 12 != hidden / heads, untied, F32

Deterministic: rerunning reproduces the same bytes. Run with /usr/bin/python3 (Debian's torch).
"""
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_checkpoints import write_safetensors  # noqa: E402  (the hand-written safetensors writer)

OUT = os.path.join(HERE, "..", "..", "tests", "golden", "llama")

BASE = {"vocab_size": 40, "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 32,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu", "initializer_range": 0.2,
        "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2}

VARIANTS = {
    "llama_gqa": dict(model_type="llama", attention_bias=False, mlp_bias=False,
                      rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
                      _dtype=torch.float32),
    "llama_bias_bf16": dict(model_type="llama", attention_bias=True, mlp_bias=True,
                            rope_scaling={"type": "linear", "factor": 2.0}, torch_dtype="bfloat16",
                            _dtype=torch.bfloat16),
    "llama_dynamic": dict(model_type="llama", max_position_embeddings=6,
                          rope_scaling={"rope_type": "dynamic", "factor": 2.0}, _dtype=torch.float32),
    "mistral_window": dict(model_type="mistral", num_key_value_heads=1, sliding_window=3, torch_dtype="float16",
                           _dtype=torch.float16, _shards=2),
    "qwen2_tied": dict(model_type="qwen2", tie_word_embeddings=True, rope_theta=1000000.0, rms_norm_eps=1e-6,
                       use_sliding_window=False, _dtype=torch.float32),
    "qwen3_qknorm": dict(model_type="qwen3", head_dim=12, attention_bias=False, rms_norm_eps=1e-6,
                         _dtype=torch.float32),
}

IDS = [[0, 0, 5, 9, 3, 17, 22, 8, 31, 4],      # left-padded: two pads (mask 0)
       [7, 12, 3, 3, 38, 21, 6, 14, 29, 11]]
MASK = [[0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]
NEW_TOKENS = 6


def config_of(name):
    cfg = dict(BASE)
    cfg.update({k: v for k, v in VARIANTS[name].items() if not k.startswith("_")})
    cfg.setdefault("torch_dtype", "float32")
    arch = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM",
            "qwen3": "Qwen3ForCausalLM"}[cfg["model_type"]]
    cfg["architectures"] = [arch]
    return cfg


def head_dim(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def weight_shapes(cfg):
    """(name, shape) in transformers' state-dict order."""
    C, I, V, D = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], head_dim(cfg)
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    mt = cfg["model_type"]
    qkv_bias = mt == "qwen2" or cfg.get("attention_bias", False)
    o_bias = mt != "qwen2" and cfg.get("attention_bias", False)
    out = [("model.embed_tokens.weight", (V, C))]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out.append((p + "self_attn.q_proj.weight", (H * D, C)))
        if qkv_bias:
            out.append((p + "self_attn.q_proj.bias", (H * D,)))
        out.append((p + "self_attn.k_proj.weight", (Hkv * D, C)))
        if qkv_bias:
            out.append((p + "self_attn.k_proj.bias", (Hkv * D,)))
        out.append((p + "self_attn.v_proj.weight", (Hkv * D, C)))
        if qkv_bias:
            out.append((p + "self_attn.v_proj.bias", (Hkv * D,)))
        out.append((p + "self_attn.o_proj.weight", (C, H * D)))
        if o_bias:
            out.append((p + "self_attn.o_proj.bias", (C,)))
        if mt == "qwen3":
            out.append((p + "self_attn.q_norm.weight", (D,)))
            out.append((p + "self_attn.k_norm.weight", (D,)))
        out.append((p + "mlp.gate_proj.weight", (I, C)))
        if cfg.get("mlp_bias", False):
            out.append((p + "mlp.gate_proj.bias", (I,)))
        out.append((p + "mlp.up_proj.weight", (I, C)))
        if cfg.get("mlp_bias", False):
            out.append((p + "mlp.up_proj.bias", (I,)))
        out.append((p + "mlp.down_proj.weight", (C, I)))
        if cfg.get("mlp_bias", False):
            out.append((p + "mlp.down_proj.bias", (C,)))
        out.append((p + "input_layernorm.weight", (C,)))
        out.append((p + "post_attention_layernorm.weight", (C,)))
    out.append(("model.norm.weight", (C,)))
    if not cfg["tie_word_embeddings"]:
        out.append(("lm_head.weight", (V, C)))
    return out


def make_weights(cfg, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    w = {}
    for name, shape in weight_shapes(cfg):
        if name.endswith("norm.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)   # not all ones: the test sees them
        elif len(shape) == 1:
            t = 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)
        else:
            t = cfg["initializer_range"] * torch.randn(shape, generator=g, dtype=torch.float64)
        w[name] = t.to(dtype)  # stored in the variant's dtype; the reference reads them back from that
    return w


# ---- the reference forward (float64) ----

def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def inv_freq_of(cfg, seq_len):
    D = head_dim(cfg)
    base = cfg["rope_theta"]
    r = cfg.get("rope_scaling") or {}
    kind = r.get("rope_type", r.get("type", "default"))
    if kind == "dynamic" and seq_len > cfg["max_position_embeddings"]:
        f, m = r["factor"], cfg["max_position_embeddings"]
        base = base * ((f * seq_len / m) - (f - 1)) ** (D / (D - 2))
    inv = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    if kind == "linear":
        inv = inv / r["factor"]
    elif kind == "llama3":
        f, lo, hi, old = r["factor"], r["low_freq_factor"], r["high_freq_factor"], r["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / lo, old / hi
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > low_wavelen, inv / f, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / f + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def reference_logits(cfg, w, ids, mask):
    """ids, mask: (B, T) int64. Positions count real tokens (transformers' position_ids from the
    attention mask: cumsum - 1, padding clamped to 0, as generate() builds them)."""
    B, T = ids.shape
    C, D = cfg["hidden_size"], head_dim(cfg)
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    mt, eps = cfg["model_type"], cfg["rms_norm_eps"]
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    inv = inv_freq_of(cfg, int(pos.max()) + 1)
    freqs = pos.double()[..., None] * inv                       # (B, T, D/2)
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]           # (B, 1, T, D)
    i_idx = torch.arange(T)[:, None]
    j_idx = torch.arange(T)[None, :]
    allowed = (j_idx <= i_idx)
    if cfg.get("sliding_window") and mt == "mistral":
        allowed = allowed & (i_idx - j_idx < cfg["sliding_window"])
    allowed = allowed[None, None] & mask.bool()[:, None, None, :]
    bias = torch.zeros(B, 1, T, T, dtype=torch.float64).masked_fill(~allowed, float("-inf"))
    x = w["model.embed_tokens.weight"][ids]
    lin = lambda t, name: t @ w[name + ".weight"].T + (w[name + ".bias"] if name + ".bias" in w else 0)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = lin(h, p + "self_attn.q_proj").view(B, T, H, D)
        k = lin(h, p + "self_attn.k_proj").view(B, T, Hkv, D)
        v = lin(h, p + "self_attn.v_proj").view(B, T, Hkv, D).transpose(1, 2)
        if mt == "qwen3":
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // Hkv, dim=1)
        v = v.repeat_interleave(H // Hkv, dim=1)
        att = q @ k.transpose(-1, -2) / math.sqrt(D) + bias
        # A padding query sees no key: transformers leaves such rows to the softmax of -inf; the
        # values there are never used. Make them uniform so the reference stays finite.
        att = torch.where(torch.isinf(att).all(-1, keepdim=True), torch.zeros_like(att), att)
        y = torch.softmax(att, -1) @ v
        x = x + lin(y.transpose(1, 2).reshape(B, T, H * D), p + "self_attn.o_proj")
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = lin(h, p + "mlp.gate_proj")
        x = x + lin(gate * torch.sigmoid(gate) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ head.T


def greedy(cfg, w, ids, n):
    seq = list(ids)
    for _ in range(n):
        t = torch.tensor([seq])
        logits = reference_logits(cfg, w, t, torch.ones_like(t))
        seq.append(int(logits[0, -1].argmax()))
    return seq[len(ids):]


def write(name, seed):
    cfg = config_of(name)
    dtype = VARIANTS[name]["_dtype"]
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    stored = make_weights(cfg, dtype, seed)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    items = list(stored.items())
    shards = VARIANTS[name].get("_shards", 1)
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), items, {"format": "pt"})
    else:
        per = (len(items) + shards - 1) // shards
        weight_map, total = {}, 0
        for s in range(shards):
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = items[s * per:(s + 1) * per]
            total += write_safetensors(os.path.join(d, fname), part, {"format": "pt"})
            for n, _ in part:
                weight_map[n] = fname
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
            f.write("\n")
    w = {k: v.to(torch.float64) for k, v in stored.items()}
    ids, mask = torch.tensor(IDS), torch.tensor(MASK)
    logits = reference_logits(cfg, w, ids, mask)
    prompt = [i for i, m in zip(IDS[0], MASK[0]) if m]
    cont = greedy(cfg, w, prompt, NEW_TOKENS)
    write_safetensors(os.path.join(d, "expected.safetensors"),
                      [("ids", ids), ("mask", mask), ("logits", logits.to(torch.float32)),
                       ("logits_f64", logits), ("greedy", torch.tensor(cont))],
                      {"variant": name})


def main():
    for seed, name in enumerate(VARIANTS, start=1):
        write(name, seed)
        print("wrote", os.path.join(OUT, name))


if __name__ == "__main__":
    main()
