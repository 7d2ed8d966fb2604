#!/usr/bin/python3
"""Side-by-side meta-step benchmark: the authors' kind of stack in Python (Debian's python3-torch:
a functional GPT-2, a differentiable AdamW written with torch.autograd.grad(create_graph=True),
learned per-tensor rates, outer AdamW with gradient clipping) against `reckoning bench meta-step`,
same configuration, same machine, one run; prints both and their ratios (docs/PERFORMANCE.md).

Each side runs in its own process (peak memory = that process's VmHWM / ru_maxrss), one after
the other, under a resident-memory watchdog: a side that passes --max-rss-gb is killed and
reported as "killed". Run with /usr/bin/python3 (Debian's, which has torch).

Many tasks per step: --tasks N gives each task its own random facts and question; the step's loss
is the tasks' mean. Our side batches the tasks unless --sequential. The Python side, by
--python-batching: `loop` (default; the authors' way) runs one task after another, each task's
loss / N backwarded before the next; `vmap` runs one per-task function (base weights, facts,
question -> outer loss, its inner gradient from functorch.grad) under functorch.vmap over the
stacked tasks, then the mean and a regular .backward() for the meta-gradient (Debian's torch 1.13
has functorch, not torch.func). Two functorch 1.13 limits, worked around in the vmapped path only:
  - F.layer_norm under vmap gives wrong second-order terms for the norm's weight, silently (about
    40% off in a one-layer test; the batched native_layer_norm_backward, cf. functorch issue 534):
    the vmapped path writes the layer norm out (mean, variance, rsqrt), which is exact;
  - F.dropout inside functorch.grad inside vmap is refused ("Cannot ask for different inplace
    randomness on an unbatched tensor"): the vmapped path writes dropout out (rand_like mask).
No op of the step falls back to a per-task loop (the worker lists any as "vmap_fallbacks"); a step
functorch refuses is reported as an "error" field, not a crash. The hidden worker flag --check-equal
runs both in float64 without dropout on the same seed and prints the max abs differences of the
loss and of every meta-gradient (they agree to ~1e-14).

  /usr/bin/python3 scripts/bench/compare_python.py --reckoning build/reckoning            # all presets
  /usr/bin/python3 scripts/bench/compare_python.py --preset tiny-512 --steps 5
  /usr/bin/python3 scripts/bench/compare_python.py --preset tiny-512 --tasks 4 --python-batching vmap
  /usr/bin/python3 scripts/bench/compare_python.py --worker --layers 2 ...                # Python side only
Not here: anything the product needs (the product is C++ only).
"""
import argparse
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
import warnings

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
    p.add_argument("--tasks", type=int, default=1,
                   help="tasks per step, each its own random facts and question; the step's loss is their mean")
    p.add_argument("--first-order", action="store_true")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)


# ----- Python side: functional GPT-2 + differentiable AdamW (what higher does) -----------------

def python_setup(a, dtype=None, dropout=True):
    """The model, its learned rates, one step's tasks and the per-task loss functions, seeded by a.seed."""
    import torch
    import torch.nn.functional as F
    if dtype is not None:
        torch.set_default_dtype(dtype)
    torch.manual_seed(a.seed)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    else:
        torch.set_num_threads(os.cpu_count())
    L, C, H, V = a.layers, a.width, a.heads, a.vocab
    n_ctx = max(1024, a.fact_len, a.question_len + a.answer_len)
    D = C // H
    pdrop = 0.1 if dropout else 0.0

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

    def layer_norm(x, weight, bias):
        return F.layer_norm(x, (C,), weight, bias, 1e-5)

    def dropout(x):
        return F.dropout(x, pdrop, True)

    # The same two ops written out in plain ops, for the vmapped path (functorch 1.13, see the top):
    # F.layer_norm's second-order terms for its weight come out wrong under vmap (silently), and
    # F.dropout inside functorch.grad inside vmap is refused ("different inplace randomness on an
    # unbatched tensor").
    def layer_norm_written_out(x, weight, bias):
        d = x - x.mean(-1, keepdim=True)
        return d * torch.rsqrt((d * d).mean(-1, keepdim=True) + 1e-5) * weight + bias

    def dropout_written_out(x):
        if pdrop == 0:
            return x
        return x * (torch.rand_like(x) >= pdrop).to(x.dtype) * (1.0 / (1 - pdrop))

    def hidden(w, ids, written_out=False):
        norm = layer_norm_written_out if written_out else layer_norm
        drop = dropout_written_out if written_out else dropout
        B, T = ids.shape
        x = w[0][ids] + w[1][torch.arange(T)]
        x = drop(x)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        for i in range(L):
            (l1w, l1b, aw, ab, pw, pb, l2w, l2b, fw, fb, mw, mb) = w[2 + 12 * i: 14 + 12 * i]
            h = norm(x, l1w, l1b)
            q, k, v = (h @ aw + ab).split(C, -1)
            q = q.reshape(B, T, H, D).transpose(1, 2)
            k = k.reshape(B, T, H, D).transpose(1, 2)
            v = v.reshape(B, T, H, D).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
            att = att.masked_fill(~causal, -1e30).softmax(-1)
            att = drop(att)
            y = (att @ v).transpose(1, 2).reshape(B, T, C)
            x = x + drop(y @ pw + pb)
            h = norm(x, l2w, l2b)
            x = x + drop(F.gelu(h @ fw + fb, approximate="tanh") @ mw + mb)
        return norm(x, w[-2], w[-1])

    def lm_loss(w, ids, target_mask):
        # Logits at target positions only, per-sequence mean then mean over sequences.
        h = hidden(w, ids)
        predicts = target_mask[:, 1:]
        logits = h[:, :-1][predicts] @ w[0].t()
        ce = F.cross_entropy(logits, ids[:, 1:][predicts], reduction="none")
        rows = predicts.nonzero()[:, 0]
        sums = torch.zeros(ids.shape[0]).index_add(0, rows, ce)
        return (sums / predicts.sum(1).clamp_min(1)).mean()

    def targets_of(target_mask):
        # lm_loss's boolean selection as fixed integer positions and weights (1 / (row's targets x
        # rows)): the same sum, with no data-dependent shapes, so it runs under vmap. The mask is the
        # same for every task of the step (not vmapped), so the logits are still computed at the
        # target positions only: the same products as lm_loss.
        predicts = target_mask[:, 1:]
        rows, cols = predicts.nonzero().unbind(1)
        per_row = predicts.sum(1).clamp_min(1).to(torch.get_default_dtype()) * predicts.shape[0]
        return rows, cols, 1.0 / per_row[rows]

    def lm_loss_fixed(w, ids, targets):
        rows, cols, weights = targets
        h = hidden(w, ids, written_out=True)
        logits = h[:, :-1][rows, cols] @ w[0].t()
        ce = F.cross_entropy(logits, ids[:, 1:][rows, cols], reduction="none")
        return (ce * weights).sum()

    def safe_sqrt(x):
        pos = x > 0
        return torch.where(pos, x, torch.ones_like(x)).sqrt() * pos.to(x.dtype)

    def adamw(fast, grads, m, v, k):
        b1, b2, eps, wd = 0.9, 0.999, 1e-8, 0.01
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
        return new

    def inner_loop(w, ids, tmask):
        fast = list(w)
        m = [torch.zeros_like(p) for p in fast]
        v = [torch.zeros_like(p) for p in fast]
        for k in range(a.inner_steps):
            loss = lm_loss(fast, ids, tmask)
            grads = torch.autograd.grad(loss, fast, create_graph=not a.first_order, allow_unused=True)
            fast = adamw(fast, grads, m, v, k)
        return fast

    def task_loss(fact_ids, q_ids):
        """One task's outer loss, torch.autograd all the way (the authors' way)."""
        return lm_loss(inner_loop(params, fact_ids, fact_mask), q_ids, q_mask)

    def task_loss_functional(w, fact_ids, fact_targets, q_ids, q_targets):
        """One task's outer loss with the inner gradient from functorch.grad, so that it can be vmapped.
        w: the base weights; *_targets: targets_of(mask), shared by the tasks."""
        import functorch
        inner_grad = functorch.grad(lambda fast: lm_loss_fixed(fast, fact_ids, fact_targets))
        fast = list(w)
        m = [torch.zeros_like(p) for p in fast]
        v = [torch.zeros_like(p) for p in fast]
        for k in range(a.inner_steps):
            fast = adamw(fast, inner_grad(fast), m, v, k)
        return lm_loss_fixed(fast, q_ids, q_targets)

    # Tasks: each its own random facts and question (task 0 draws what the one-task step drew).
    facts, questions = [], []
    for _ in range(a.tasks):
        facts.append(torch.randint(V, (a.facts, a.fact_len)))
        questions.append(torch.randint(V, (1, a.question_len + a.answer_len)))
    fact_ids, q_ids = torch.stack(facts), torch.stack(questions)
    fact_mask = torch.zeros(a.facts, a.fact_len, dtype=torch.bool)
    fact_mask[:, a.key_len:] = True
    q_mask = torch.zeros(1, a.question_len + a.answer_len, dtype=torch.bool)
    q_mask[:, a.question_len:] = True

    def step_loop():
        """The step's loss, tasks one after another, each's loss / tasks backwarded before the next."""
        total = 0.0
        for t in range(a.tasks):
            one = task_loss(fact_ids[t], q_ids[t]) / a.tasks
            one.backward()
            total += one.item()
        return total

    vmapped = {}

    def step_vmap():
        """The step's loss, the tasks vmapped (functorch) over their stacked facts and questions; mean,
        then a regular backward to the base weights and the rates."""
        import functorch
        if not vmapped:
            vmapped["f"] = functorch.vmap(task_loss_functional, in_dims=(None, 0, None, 0, None),
                                          randomness="different" if dropout else "error")
            vmapped["targets"] = (targets_of(fact_mask), targets_of(q_mask))
        ft, qt = vmapped["targets"]
        loss = vmapped["f"](params, fact_ids, ft, q_ids, qt).mean()
        loss.backward()
        return loss.item()

    return {"torch": torch, "names": names, "params": params, "lrs": lrs,
            "steps": {"loop": step_loop, "vmap": step_vmap}}


def python_step_benchmark(a):
    s = python_setup(a)
    torch, params, lrs = s["torch"], s["params"], s["lrs"]
    step = s["steps"][a.python_batching]
    all_params = params + [lrs]
    opt = torch.optim.AdamW(all_params, lr=1e-5, weight_decay=0.01)
    out = {"side": "python", "torch": torch.__version__, "threads": torch.get_num_threads(),
           "tasks": a.tasks, "python_batching": a.python_batching}
    times = []
    vmap = a.python_batching == "vmap"
    if vmap:  # ops without a batching rule (a slow per-task fallback) warn; they are listed
        torch._C._functorch._set_vmap_fallback_warning_enabled(True)
    with warnings.catch_warnings(record=vmap) as caught:
        if vmap:
            warnings.simplefilter("always")
        try:
            for k in range(a.warmup + a.steps):
                t0 = time.perf_counter()
                opt.zero_grad()
                value = step()
                torch.nn.utils.clip_grad_norm_(all_params, 1.0)
                opt.step()
                if k >= a.warmup:
                    times.append(time.perf_counter() - t0)
        except Exception as e:  # functorch cannot compose this step (reported, not a crash)
            out["error"] = f"{a.python_batching}: {type(e).__name__}: {str(e).strip()[:500]}"
            return out
    if vmap:
        out["vmap_fallbacks"] = sorted({re.sub(r".*batching rule for (\S+?)\..*", r"\1", str(w.message), flags=re.S)
                                        for w in caught if "batching rule" in str(w.message)})
    median = statistics.median(times)
    out.update({"seconds_median": median, "seconds_min": min(times), "tasks_per_second": a.tasks / median,
                "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "loss": value})
    return out


def python_check_equal(a):
    """Loop and vmap on the same seed in float64 without dropout: max abs differences of the outer
    loss and of every meta-gradient (base weights and rates)."""
    import torch
    results = {}
    for how in ("loop", "vmap"):
        s = python_setup(a, dtype=torch.float64, dropout=False)
        loss = s["steps"][how]()
        results[how] = (loss, [p.grad.detach().clone() for p in s["params"] + [s["lrs"]]], s["names"] + ["lrs"])
    (l1, g1, names), (l2, g2, _) = results["loop"], results["vmap"]
    diffs = {n: (x - y).abs().max().item() for n, x, y in zip(names, g1, g2)}
    scale = {n: x.abs().max().item() for n, x in zip(names, g1)}
    return {"check_equal": True, "tasks": a.tasks, "dtype": "float64", "loss_loop": l1, "loss_vmap": l2,
            "loss_abs_diff": abs(l1 - l2), "grad_max_abs_diff": max(diffs.values()),
            "grad_abs_diff": diffs, "grad_max_abs": scale}


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
    args += ["--tasks", str(a.tasks), "--threads", str(a.threads), "--warmup", str(a.warmup), "--steps", str(a.steps),
             "--seed", str(a.seed)]
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
    p.add_argument("--sequential", action="store_true",
                   help="with --tasks: our side runs the tasks one after another (default: task-batched)")
    p.add_argument("--python-batching", choices=["loop", "vmap"], default="loop",
                   help="with --tasks, the Python side: loop = one task after another, each backwarded before "
                        "the next (the authors' way); vmap = functorch.vmap over the tasks")
    p.add_argument("--check-equal", action="store_true", help=argparse.SUPPRESS)  # worker: loop vs vmap, float64
    a = p.parse_args()
    if a.tasks < 1:
        p.error("--tasks: at least 1")
    if a.worker:
        print(json.dumps(python_check_equal(a) if a.check_equal else python_step_benchmark(a)), flush=True)
        return
    presets = a.preset or ["tiny-50k", "tiny-512", "small-4x256", "gpt2-cut"]
    limit = int(a.max_rss_gb * 2**30)
    if a.matmul_dtype != "float32":
        print(f"ours: matrix products in {a.matmul_dtype}; Python: float32")
    print(f"{'preset':12} {'python s':>9} {'ours s':>9} {'speedup':>8} {'python GB':>10} {'ours GB':>8} {'mem ratio':>9}")
    for name in presets:
        args = step_args(PRESETS[name], a)
        py, py_why = run_watched([sys.executable, os.path.abspath(__file__), "--worker",
                                  "--python-batching", a.python_batching] + args, limit, a.timeout)
        if py and "error" in py:
            py, py_why = None, py["error"]
        ours, ours_why = run_watched([a.reckoning, "bench", "meta-step", "--lr-mode", "per-tensor",
                                      "--matmul-dtype", a.matmul_dtype] + args
                                     + (["--sequential"] if a.sequential else []), limit, a.timeout)
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
