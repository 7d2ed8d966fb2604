#!/usr/bin/python3
"""Side-by-side meta-step benchmark: the authors' kind of stack in Python (Debian's python3-torch:
a functional GPT-2, a differentiable AdamW written with torch.autograd.grad(create_graph=True),
learned per-tensor rates, outer AdamW with gradient clipping) against `reckoning bench meta-step`,
same configuration, same machine, one run; prints both and their ratios (docs/PERFORMANCE.md).

Each side runs in its own process (peak memory = that process's VmHWM / ru_maxrss), one after
the other, under a resident-memory watchdog: a side that passes --max-rss-gb is killed and
reported as "killed". Run with /usr/bin/python3 (Debian's, which has torch).

  /usr/bin/python3 scripts/bench/compare_python.py --reckoning build/reckoning            # all presets
  /usr/bin/python3 scripts/bench/compare_python.py --preset tiny-512 --steps 5
  /usr/bin/python3 scripts/bench/compare_python.py --worker --layers 2 ...                # Python side only
Not here: anything the product needs (the product is C++ only).
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import threading
import time

PRESETS = {
    # name: (layers, width, heads, vocab, facts, fact_len, key_len, question_len, answer_len, inner_steps)
    "tiny-50k": (2, 128, 4, 50257, 8, 24, 4, 30, 2, 4),
    "tiny-512": (2, 128, 4, 512, 8, 24, 4, 30, 2, 4),
    "small-4x256": (4, 256, 4, 50257, 8, 24, 4, 30, 2, 4),
    "gpt2-cut": (12, 768, 12, 50257, 4, 16, 4, 14, 2, 2),
    "gpt2": (12, 768, 12, 50257, 8, 24, 4, 30, 2, 4),
}
FIELDS = ["layers", "width", "heads", "vocab", "facts", "fact_len", "key_len", "question_len",
          "answer_len", "inner_steps"]


def add_step_options(p):
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--facts", type=int, default=8)
    p.add_argument("--fact-len", type=int, default=24)
    p.add_argument("--key-len", type=int, default=4)
    p.add_argument("--question-len", type=int, default=30)
    p.add_argument("--answer-len", type=int, default=2)
    p.add_argument("--inner-steps", type=int, default=4)
    p.add_argument("--first-order", action="store_true")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)


# ----- Python side: functional GPT-2 + differentiable AdamW (what higher does) -----------------

def python_step_benchmark(a):
    import torch
    import torch.nn.functional as F
    torch.manual_seed(a.seed)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    else:
        torch.set_num_threads(os.cpu_count())
    L, C, H, V = a.layers, a.width, a.heads, a.vocab
    n_ctx = max(1024, a.fact_len, a.question_len + a.answer_len)
    D = C // H
    pdrop = 0.1

    def normal(*shape, std=0.02):
        return (torch.randn(*shape) * std).requires_grad_(True)

    names, params = [], []

    def add(name, t):
        names.append(name)
        params.append(t.requires_grad_(True))

    add("wte", normal(V, C))
    add("wpe", normal(n_ctx, C))
    for i in range(L):
        add(f"h.{i}.ln_1.weight", torch.ones(C))
        add(f"h.{i}.ln_1.bias", torch.zeros(C))
        add(f"h.{i}.attn.c_attn.weight", normal(C, 3 * C))
        add(f"h.{i}.attn.c_attn.bias", torch.zeros(3 * C))
        add(f"h.{i}.attn.c_proj.weight", normal(C, C, std=0.02 / math.sqrt(2 * L)))
        add(f"h.{i}.attn.c_proj.bias", torch.zeros(C))
        add(f"h.{i}.ln_2.weight", torch.ones(C))
        add(f"h.{i}.ln_2.bias", torch.zeros(C))
        add(f"h.{i}.mlp.c_fc.weight", normal(C, 4 * C))
        add(f"h.{i}.mlp.c_fc.bias", torch.zeros(4 * C))
        add(f"h.{i}.mlp.c_proj.weight", normal(4 * C, C, std=0.02 / math.sqrt(2 * L)))
        add(f"h.{i}.mlp.c_proj.bias", torch.zeros(C))
    add("ln_f.weight", torch.ones(C))
    add("ln_f.bias", torch.zeros(C))
    # Learned per-tensor rates: one vector of inner_steps entries per weight tensor.
    lrs = torch.full((len(params), max(1, a.inner_steps)), 1e-5, requires_grad=True)

    def hidden(w, ids):
        B, T = ids.shape
        x = w[0][ids] + w[1][torch.arange(T)]
        x = F.dropout(x, pdrop, True)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        for i in range(L):
            (l1w, l1b, aw, ab, pw, pb, l2w, l2b, fw, fb, mw, mb) = w[2 + 12 * i: 14 + 12 * i]
            h = F.layer_norm(x, (C,), l1w, l1b, 1e-5)
            q, k, v = (h @ aw + ab).split(C, 2)
            q = q.view(B, T, H, D).transpose(1, 2)
            k = k.view(B, T, H, D).transpose(1, 2)
            v = v.view(B, T, H, D).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
            att = att.masked_fill(~causal, -1e30).softmax(-1)
            att = F.dropout(att, pdrop, True)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            x = x + F.dropout(y @ pw + pb, pdrop, True)
            h = F.layer_norm(x, (C,), l2w, l2b, 1e-5)
            x = x + F.dropout(F.gelu(h @ fw + fb, approximate="tanh") @ mw + mb, pdrop, True)
        return F.layer_norm(x, (C,), w[-2], w[-1], 1e-5)

    def lm_loss(w, ids, target_mask):
        # Logits at target positions only, per-sequence mean then mean over sequences.
        h = hidden(w, ids)
        predicts = target_mask[:, 1:]
        logits = h[:, :-1][predicts] @ w[0].t()
        ce = F.cross_entropy(logits, ids[:, 1:][predicts], reduction="none")
        rows = predicts.nonzero()[:, 0]
        sums = torch.zeros(ids.shape[0]).index_add(0, rows, ce)
        return (sums / predicts.sum(1).clamp_min(1)).mean()

    def safe_sqrt(x):
        pos = x > 0
        return torch.where(pos, x, torch.ones_like(x)).sqrt() * pos.to(x.dtype)

    def inner_loop(w, ids, tmask):
        fast = list(w)
        m = [torch.zeros_like(p) for p in fast]
        v = [torch.zeros_like(p) for p in fast]
        b1, b2, eps, wd = 0.9, 0.999, 1e-8, 0.01
        for k in range(a.inner_steps):
            loss = lm_loss(fast, ids, tmask)
            grads = torch.autograd.grad(loss, fast, create_graph=not a.first_order, allow_unused=True)
            new = []
            for j, (p, g) in enumerate(zip(fast, grads)):
                g = torch.zeros_like(p) if g is None else g
                if a.first_order:
                    g = g.detach()
                lr = lrs[j, k]
                p = p * (1 - lr * wd)
                m[j] = m[j] * b1 + g * (1 - b1)
                v[j] = v[j] * b2 + g * g * (1 - b2)
                denom = safe_sqrt(v[j]) / math.sqrt(1 - b2 ** (k + 1)) + eps
                new.append(p - (lr / (1 - b1 ** (k + 1))) * (m[j] / denom))
            fast = new
        return fast

    fact_ids = torch.randint(V, (a.facts, a.fact_len))
    fact_mask = torch.zeros(a.facts, a.fact_len, dtype=torch.bool)
    fact_mask[:, a.key_len:] = True
    q_ids = torch.randint(V, (1, a.question_len + a.answer_len))
    q_mask = torch.zeros(1, a.question_len + a.answer_len, dtype=torch.bool)
    q_mask[:, a.question_len:] = True
    all_params = params + [lrs]
    opt = torch.optim.AdamW(all_params, lr=1e-5, weight_decay=0.01)
    times = []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        adapted = inner_loop(params, fact_ids, fact_mask)
        loss = lm_loss(adapted, q_ids, q_mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(all_params, 1.0)
        opt.step()
        value = loss.item()
        del adapted, loss
        if s >= a.warmup:
            times.append(time.perf_counter() - t0)
    return {"side": "python", "torch": torch.__version__, "threads": torch.get_num_threads(),
            "seconds_median": statistics.median(times), "seconds_min": min(times),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "loss": value}


# ----- Driver ----------------------------------------------------------------------------------

def run_watched(cmd, max_rss_bytes, timeout):
    """Runs cmd, kills it if its resident memory passes max_rss_bytes; returns (json|None, why)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = []

    def watch():
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:") and int(line.split()[1]) * 1024 > max_rss_bytes:
                            killed.append("rss")
                            proc.kill()
            except OSError:
                pass
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, "timeout"
    if killed:
        return None, f"killed above {max_rss_bytes / 2**30:.1f} GiB"
    if proc.returncode != 0:
        return None, f"exit {proc.returncode}: {err.strip()[-300:]}"
    return json.loads(out.strip().splitlines()[-1]), ""


def step_args(values, a):
    args = []
    for field, value in zip(FIELDS, values):
        args += ["--" + field.replace("_", "-"), str(value)]
    args += ["--threads", str(a.threads), "--warmup", str(a.warmup), "--steps", str(a.steps), "--seed", str(a.seed)]
    if a.first_order:
        args.append("--first-order")
    return args


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_step_options(p)
    p.add_argument("--worker", action="store_true", help="run the Python side once and print its JSON")
    p.add_argument("--reckoning", default="build/reckoning", help="the reckoning executable")
    p.add_argument("--preset", action="append", choices=sorted(PRESETS),
                   help="configurations to compare (repeatable; default: all but gpt2)")
    p.add_argument("--max-rss-gb", type=float, default=20.0)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--matmul-dtype", choices=["float32", "bfloat16"], default="float32",
                   help="our side's matrix products (bfloat16 = mixed precision); the Python side is float32")
    a = p.parse_args()
    if a.worker:
        print(json.dumps(python_step_benchmark(a)), flush=True)
        return
    presets = a.preset or ["tiny-50k", "tiny-512", "small-4x256", "gpt2-cut"]
    limit = int(a.max_rss_gb * 2**30)
    if a.matmul_dtype != "float32":
        print(f"ours: matrix products in {a.matmul_dtype}; Python: float32")
    print(f"{'preset':12} {'python s':>9} {'ours s':>9} {'speedup':>8} {'python GB':>10} {'ours GB':>8} {'mem ratio':>9}")
    for name in presets:
        args = step_args(PRESETS[name], a)
        py, py_why = run_watched([sys.executable, os.path.abspath(__file__), "--worker"] + args, limit, a.timeout)
        ours, ours_why = run_watched([a.reckoning, "bench", "meta-step", "--lr-mode", "per-tensor",
                                      "--matmul-dtype", a.matmul_dtype] + args, limit, a.timeout)
        row = {"preset": name, "python": py or py_why, "reckoning": ours or ours_why}
        if py and ours:
            row["speedup"] = py["seconds_median"] / ours["seconds_median"]
            row["memory_ratio"] = ours["peak_rss_bytes"] / py["peak_rss_bytes"]
        def fmt(side, key, scale=1.0):
            return f"{side[key] / scale:.3f}" if side else "-"
        print(f"{name:12} {fmt(py, 'seconds_median'):>9} {fmt(ours, 'seconds_median'):>9} "
              f"{row.get('speedup', float('nan')):8.2f} {fmt(py, 'peak_rss_bytes', 1e9):>10} "
              f"{fmt(ours, 'peak_rss_bytes', 1e9):>8} {row.get('memory_ratio', float('nan')):9.3f}"
              + ("" if py and ours else f"   python: {py_why or 'ok'}; reckoning: {ours_why or 'ok'}"), flush=True)
        print(json.dumps(row), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
