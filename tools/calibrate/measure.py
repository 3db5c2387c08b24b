#!/usr/bin/env python3
"""Microbenchmarks that ground a chip's compute model in measurements.

Times, with CUDA events after warm-up, on the GPU this runs on:
  1. BF16 and FP8 GEMMs over the shapes a transformer layer produces: the QKV, output,
     MLP up/down and logits GEMMs of Llama 3 8B/70B/405B and GPT-3 175B at TP 1/2/4/8,
     each as its forward, input-gradient (dgrad) and weight-gradient (wgrad) GEMM, in the
     operand layouts training uses, over micro-batch x sequence of 2k to 32k tokens;
  2. causal attention (scaled_dot_product_attention, flash backend, and cuDNN's where
     PyTorch has it) forward and backward at those models' heads per TP rank;
  3. memory-bound operators (a copy, RMSNorm, LayerNorm, SwiGLU, GeLU, residual add,
     softmax, the AdamW step) over sizes;
  4. full training steps (forward, backward, AdamW) of a Llama-style model of about 1.2B
     parameters (Llama 3.2 1B's shape) at sequence 4096 on one GPU, with tokens/s.

Writes one JSON document (schema fathom.measurements/1) holding the raw times and shapes,
the device, driver, library versions and clocks. `fathom calibrate import FILE` turns it
into a chip calibration: the FLOP and byte counts of each case are Fathom's own, so this
script records what it ran and how long it took, and derives nothing.

Usage:
    python3 tools/calibrate/measure.py --out measurements.json [--budget 300]
    python3 tools/calibrate/measure.py --dry-run     # list the cases, no GPU needed

Sections run in order of importance, each within its share of --budget seconds; a
section past its share stops at the case it reached, and the document says so. The file
is rewritten after every section, so a run cut short leaves what it measured.
"""
import argparse
import datetime
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import traceback

SCHEMA = "fathom.measurements/1"

# The models whose layer shapes are measured: hidden, query heads, key/value heads, head
# dim, MLP width, vocabulary, gated MLP (SwiGLU's up projection is gate and up fused).
# Values as in the catalog's data/models files.
MODELS = {
    "llama3-8b": dict(hidden=4096, heads=32, kv_heads=8, head_dim=128, ffn=14336,
                      vocab=128256, gated=True),
    "llama3-70b": dict(hidden=8192, heads=64, kv_heads=8, head_dim=128, ffn=28672,
                       vocab=128256, gated=True),
    "llama3-405b": dict(hidden=16384, heads=128, kv_heads=8, head_dim=128, ffn=53248,
                        vocab=128256, gated=True),
    "gpt3-175b": dict(hidden=12288, heads=96, kv_heads=96, head_dim=128, ffn=49152,
                      vocab=51200, gated=False),
}
# The single-GPU training step's model: Llama 3.2 1B's shape (16 layers, hidden 2048,
# 32 heads of 64, 8 KV heads, SwiGLU 8192, vocab 128256, tied embeddings).
STEP_MODEL = dict(name="llama3.2-1b", layers=16, hidden=2048, heads=32, kv_heads=8,
                  head_dim=64, ffn=8192, vocab=128256, gated=True, tied=True,
                  rope_theta=500000.0, norm_eps=1e-5)
STEP_SEQ = 4096
STEP_MICRO_BATCHES = (1, 2, 4)

TPS = (1, 2, 4, 8)
GEMM_TOKENS = (2048, 8192, 32768)  # 1x2k, 1x8k (or 2x4k), 4x8k
FP8_TOKENS = (8192, 32768)
# Attention: (micro-batch, sequence).
ATTENTION_BS = ((1, 2048), (1, 4096), (1, 8192), (2, 8192), (4, 8192))

# Share of the budget each section may use, in the order they run.
SECTIONS = (
    ("ceilings", 0.04),
    ("gemm_bf16", 0.26),
    ("attention_flash", 0.12),
    ("training_step", 0.14),
    ("memory", 0.08),
    ("gemm_fp8", 0.16),
    ("attention_cudnn", 0.08),
    ("profile", 0.05),
    ("gemm_load", 0.12),
)


def layer_gemms(name, c, tp):
    """The linear layers of one transformer layer (and the logits) on one TP rank, as
    (op, in_features k, out_features n), following Fathom's step graph: a fused QKV with
    K/V heads split over min(tp, kv_heads) ranks, gate and up fused."""
    q = c["heads"] * c["head_dim"]
    kv = c["kv_heads"] * c["head_dim"]
    kv_local = kv * max(1, tp // c["kv_heads"]) // tp if tp > c["kv_heads"] else kv // tp
    up = (2 if c["gated"] else 1) * c["ffn"]
    return (
        ("qkv", c["hidden"], q // tp + 2 * kv_local),
        ("attn_out", q // tp, c["hidden"]),
        ("mlp_up", c["hidden"], up // tp),
        ("mlp_down", c["ffn"] // tp, c["hidden"]),
        ("logits", c["hidden"], c["vocab"] // tp),
    )


def gemm_cases(tokens_list, passes=("fwd", "dgrad", "wgrad"), with_step_model=True):
    """Unique GEMMs (m, n, k, pass) in Fathom's convention, each with the uses it stands
    for. fwd: [tok, k] x [k, n]; dgrad: m = tok, n = k, k = n; wgrad: m = k, n = n,
    k = tok."""
    cases = {}

    def add(model, tp, tok, op, k, n):
        for p in passes:
            if p == "fwd":
                shape = (tok, n, k)
            elif p == "dgrad":
                shape = (tok, k, n)
            else:
                shape = (k, n, tok)
            key = shape + (p,)
            cases.setdefault(key, []).append(f"{model} tp{tp} {tok} {op} {p}")

    for model, c in MODELS.items():
        for tp in TPS:
            for tok in tokens_list:
                for op, k, n in layer_gemms(model, c, tp):
                    add(model, tp, tok, op, k, n)
    if with_step_model:
        c = STEP_MODEL
        for mb in STEP_MICRO_BATCHES:
            for op, k, n in layer_gemms(c["name"], c, 1):
                add(c["name"], 1, mb * STEP_SEQ, op, k, n)
    return [dict(m=k[0], n=k[1], k=k[2], pass_=k[3], uses=v) for k, v in cases.items()]


def attention_cases():
    """Unique (batch, seq, heads, head_dim) of the models' attention per TP rank."""
    seen = {}
    for model, c in MODELS.items():
        for tp in TPS:
            h = c["heads"] // tp
            for b, s in ATTENTION_BS:
                key = (b, s, h, c["head_dim"])
                seen.setdefault(key, []).append(f"{model} tp{tp} {b}x{s}")
    c = STEP_MODEL
    for mb in STEP_MICRO_BATCHES:
        key = (mb, STEP_SEQ, c["heads"], c["head_dim"])
        seen.setdefault(key, []).append(f"{c['name']} tp1 {mb}x{STEP_SEQ}")
    return [dict(batch=k[0], seq=k[1], heads=k[2], head_dim=k[3], uses=v)
            for k, v in sorted(seen.items())]


# Memory-bound operators: name, elements of the main tensor, row width.
MEMORY_SIZES = (4 << 20, 16 << 20, 64 << 20, 256 << 20)
MEMORY_OPS = ("copy", "add", "rmsnorm", "layernorm", "swiglu", "gelu", "softmax")
ADAM_PARAMS = (16 << 20, 64 << 20, 256 << 20)


def dry_run():
    g = gemm_cases(GEMM_TOKENS)
    f = [x for x in gemm_cases(FP8_TOKENS) if x["n"] % 16 == 0 and x["k"] % 16 == 0]
    a = attention_cases()
    flops = sum(2 * x["m"] * x["n"] * x["k"] for x in g)
    print(f"bf16 GEMMs: {len(g)} shapes, {flops / 1e12:.0f} TFLOP")
    print(f"fp8 GEMMs: {len(f)} shapes")
    print(f"attention: {len(a)} shapes")
    print(f"memory: {len(MEMORY_OPS) * len(MEMORY_SIZES) + len(ADAM_PARAMS)} cases")
    print(f"training steps: {len(STEP_MICRO_BATCHES)} micro-batches x 2 precisions")


# --------------------------------------------------------------------------------------
# Everything below needs PyTorch and a CUDA GPU.


class Clock:
    """The run's budget: each section gets its share of what is left."""

    def __init__(self, budget):
        self.start = time.monotonic()
        self.budget = budget

    def elapsed(self):
        return time.monotonic() - self.start

    def section_deadline(self, share):
        return time.monotonic() + self.budget * share


def run_cmd(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:  # noqa: BLE001 - recorded, not fatal
        return f"error: {e}"


def smi_state():
    q = ("name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,"
         "power.draw,power.limit,temperature.gpu,pstate")
    out = run_cmd(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader,nounits"])
    fields = q.split(",")
    vals = [v.strip() for v in out.split(",")]
    if len(vals) != len(fields):
        return {"raw": out}
    return dict(zip(fields, vals))


def device_info(torch):
    p = torch.cuda.get_device_properties(0)
    info = {
        "name": p.name,
        "compute_capability": f"{p.major}.{p.minor}",
        "multiprocessors": p.multi_processor_count,
        "memory_bytes": p.total_memory,
        "l2_cache_bytes": getattr(p, "L2_cache_size", None),
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "python": platform.python_version(),
        "host": platform.node(),
        "nvidia_smi": smi_state(),
    }
    try:
        import triton
        info["triton"] = triton.__version__
    except Exception:  # noqa: BLE001
        info["triton"] = None
    nv = run_cmd(["nvidia-smi", "-q", "-d", "CLOCK,POWER,PERFORMANCE"])
    info["nvidia_smi_q"] = nv[:6000]
    return info


def timer(torch, fn, target=0.01, max_reps=64, trials=3):
    """Median time of one call of fn(i): one warm-up call, one call to size the batch,
    then `trials` batches of calls timed with CUDA events, each batch near `target`
    seconds. Returns (median, min, reps)."""
    fn(0)
    torch.cuda.synchronize()
    s = torch.cuda.Event(enable_timing=True)
    e = torch.cuda.Event(enable_timing=True)
    s.record()
    fn(1)
    e.record()
    e.synchronize()
    one = s.elapsed_time(e) / 1e3
    reps = max(1, min(max_reps, int(target / max(one, 1e-7))))
    if one > 0.1:
        trials = 2
    times = []
    for t in range(trials):
        s.record()
        for i in range(reps):
            fn(2 + t * reps + i)
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e) / 1e3 / reps)
    return statistics.median(times), min(times), reps


def rotations(bytes_per_set, floor=256 << 20, cap=8):
    """Input sets to cycle through so that repeated calls don't run from L2."""
    return max(1, min(cap, math.ceil(floor / max(bytes_per_set, 1))))


def section_ceilings(torch, doc, deadline):
    out = []
    n = 1 << 30  # 2 GiB of bf16
    x = torch.randn(n, device="cuda", dtype=torch.bfloat16)
    y = torch.empty_like(x)
    med, mn, reps = timer(torch, lambda i: y.copy_(x))
    out.append(dict(op="copy", elements=n, element_bytes=2, time_s=med, min_time_s=mn,
                    reps=reps))
    del x, y
    for size in (8192, 16384):
        a = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
        c = torch.empty(size, size, device="cuda", dtype=torch.bfloat16)
        med, mn, reps = timer(torch, lambda i: torch.matmul(a, b, out=c))
        out.append(dict(op="gemm_bf16", m=size, n=size, k=size, time_s=med, min_time_s=mn,
                        reps=reps))
        del a, b, c
    doc["ceilings"] = out
    torch.cuda.empty_cache()


def make_gemm_bf16(torch, m, n, k, p):
    """Operands in training's layouts: fwd X[tok,k] @ W[n,k]^T; dgrad dY[tok,n'] @ W[n',k'];
    wgrad dY[tok,n]^T @ X[tok,k] (computed as [n, m]: the same FLOPs)."""
    bf = torch.bfloat16
    elems = (m * k + k * n + m * n)
    r = rotations(2 * elems)
    sets = []
    for _ in range(r):
        if p == "fwd":
            a = torch.randn(m, k, device="cuda", dtype=bf)
            w = torch.randn(n, k, device="cuda", dtype=bf)
            sets.append((a, w.t(), torch.empty(m, n, device="cuda", dtype=bf)))
        elif p == "dgrad":
            a = torch.randn(m, k, device="cuda", dtype=bf)   # dY [tok, n_fwd]
            w = torch.randn(k, n, device="cuda", dtype=bf)   # W [n_fwd, k_fwd]
            sets.append((a, w, torch.empty(m, n, device="cuda", dtype=bf)))
        else:
            dy = torch.randn(k, n, device="cuda", dtype=bf)  # [tok, n_fwd]
            x = torch.randn(k, m, device="cuda", dtype=bf)   # [tok, k_fwd]
            sets.append((dy.t(), x, torch.empty(n, m, device="cuda", dtype=bf)))
    return sets, r


def section_gemm_bf16(torch, doc, deadline):
    cases = gemm_cases(GEMM_TOKENS)
    # In a fixed random order: a run cut short by its budget drops a sample of every size.
    random.Random(0).shuffle(cases)
    out = []
    doc["gemm"] = out
    for c in cases:
        if time.monotonic() > deadline:
            doc.setdefault("skipped", []).append(
                f"gemm_bf16: {len(cases) - len(out)} of {len(cases)} shapes (budget)")
            break
        sets, r = make_gemm_bf16(torch, c["m"], c["n"], c["k"], c["pass_"])

        def fn(i, sets=sets):
            a, b, o = sets[i % len(sets)]
            torch.matmul(a, b, out=o)

        med, mn, reps = timer(torch, fn)
        out.append(dict(precision="bf16", m=c["m"], n=c["n"], k=c["k"], pass_kind=c["pass_"],
                        time_s=med, min_time_s=mn, reps=reps, input_sets=r, uses=c["uses"]))
        del sets
        if c["m"] * c["n"] * c["k"] > (1 << 38):
            torch.cuda.empty_cache()


def section_gemm_fp8(torch, doc, deadline):
    if not hasattr(torch, "_scaled_mm"):
        doc.setdefault("skipped", []).append("gemm_fp8: torch._scaled_mm missing")
        return
    f8 = torch.float8_e4m3fn
    cases = [x for x in gemm_cases(FP8_TOKENS, with_step_model=False)
             if x["n"] % 16 == 0 and x["k"] % 16 == 0 and x["m"] % 16 == 0]
    random.Random(1).shuffle(cases)
    one = torch.ones((), device="cuda", dtype=torch.float32)
    out = []
    doc.setdefault("gemm", [])
    for c in cases:
        if time.monotonic() > deadline:
            doc.setdefault("skipped", []).append(
                f"gemm_fp8: {len(cases) - len(out)} of {len(cases)} shapes (budget)")
            break
        m, n, k = c["m"], c["n"], c["k"]
        r = rotations(m * k + k * n + 2 * m * n)
        sets = []
        for _ in range(r):
            a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16).to(f8)
            b = torch.randn(n, k, device="cuda", dtype=torch.bfloat16).to(f8).t()
            sets.append((a, b))
        # Transformer Engine's recipe: fast accumulation in forward, a split (more
        # precise) accumulator for the gradients.
        fast = c["pass_"] == "fwd"

        def fn(i, sets=sets, fast=fast):
            a, b = sets[i % len(sets)]
            torch._scaled_mm(a, b, one, one, out_dtype=torch.bfloat16, use_fast_accum=fast)

        med, mn, reps = timer(torch, fn)
        rec = dict(precision="fp8", m=m, n=n, k=k, pass_kind=c["pass_"], time_s=med,
                   min_time_s=mn, reps=reps, input_sets=r, uses=c["uses"],
                   fast_accumulation=fast)
        out.append(rec)
        doc["gemm"].append(rec)
        del sets
        if m * n * k > (1 << 38):
            torch.cuda.empty_cache()


def section_attention(torch, doc, deadline, backend_name):
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backend = {"flash": SDPBackend.FLASH_ATTENTION,
               "cudnn": getattr(SDPBackend, "CUDNN_ATTENTION", None)}[backend_name]
    if backend is None:
        doc.setdefault("skipped", []).append(f"attention_{backend_name}: no such backend")
        return
    cases = attention_cases()
    cases.sort(key=lambda x: x["batch"] * x["seq"] ** 2 * x["heads"])
    out = doc.setdefault("attention", [])
    done = 0
    for c in cases:
        if time.monotonic() > deadline:
            doc.setdefault("skipped", []).append(
                f"attention_{backend_name}: {len(cases) - done} of {len(cases)} shapes "
                "(budget)")
            break
        b, s, h, d = c["batch"], c["seq"], c["heads"], c["head_dim"]
        shape = (b, h, s, d)
        r = rotations(4 * 2 * b * h * s * d, cap=4)
        sets = []
        for _ in range(r):
            q, k, v = (torch.randn(shape, device="cuda", dtype=torch.bfloat16,
                                   requires_grad=True) for _ in range(3))
            go = torch.randn(shape, device="cuda", dtype=torch.bfloat16)
            sets.append((q, k, v, go))
        rec = dict(backend=backend_name, batch=b, seq=s, heads=h, kv_heads=h, head_dim=d,
                   causal=True, uses=c["uses"])
        try:
            with sdpa_kernel([backend]):
                def fwd(i, sets=sets):
                    q, k, v, _ = sets[i % len(sets)]
                    with torch.no_grad():
                        F.scaled_dot_product_attention(q, k, v, is_causal=True)

                def fwd_bwd(i, sets=sets):
                    q, k, v, go = sets[i % len(sets)]
                    o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                    torch.autograd.grad(o, (q, k, v), go)

                f_med, f_min, f_reps = timer(torch, fwd)
                fb_med, fb_min, fb_reps = timer(torch, fwd_bwd)
            rec.update(forward_time_s=f_med, forward_min_time_s=f_min,
                       forward_backward_time_s=fb_med, forward_backward_min_time_s=fb_min,
                       backward_time_s=fb_med - f_med, reps=f_reps)
        except Exception as e:  # noqa: BLE001 - a shape the backend refuses is recorded
            rec.update(error=f"{type(e).__name__}: {str(e)[:300]}")
        out.append(rec)
        done += 1
        del sets
    torch.cuda.empty_cache()


def section_memory(torch, doc, deadline):
    import torch.nn.functional as F
    bf = torch.bfloat16
    out = []
    doc["memory"] = out
    for n in MEMORY_SIZES:
        for op in MEMORY_OPS:
            if time.monotonic() > deadline:
                doc.setdefault("skipped", []).append(f"memory: from {op} at {n} (budget)")
                return
            width = 4096
            rows = n // width
            r = rotations(2 * 3 * n, cap=6)
            sets = []
            for _ in range(r):
                x = torch.randn(rows, width, device="cuda", dtype=bf)
                y = torch.randn(rows, width, device="cuda", dtype=bf)
                sets.append((x, y, torch.empty_like(x)))
            w = torch.randn(width, device="cuda", dtype=bf)
            bias = torch.randn(width, device="cuda", dtype=bf)
            if op == "copy":
                fn = lambda i: sets[i % r][2].copy_(sets[i % r][0])  # noqa: E731
                moved = 2 * 2 * n
            elif op == "add":
                fn = lambda i: torch.add(sets[i % r][0], sets[i % r][1], out=sets[i % r][2])  # noqa: E731
                moved = 3 * 2 * n
            elif op == "rmsnorm":
                fn = lambda i: F.rms_norm(sets[i % r][0], (width,), w, 1e-5)  # noqa: E731
                moved = 2 * 2 * n
            elif op == "layernorm":
                fn = lambda i: F.layer_norm(sets[i % r][0], (width,), w, bias, 1e-5)  # noqa: E731
                moved = 2 * 2 * n
            elif op == "swiglu":
                fn = lambda i: F.silu(sets[i % r][0]) * sets[i % r][1]  # noqa: E731
                moved = 3 * 2 * n
            elif op == "gelu":
                fn = lambda i: F.gelu(sets[i % r][0], approximate="tanh")  # noqa: E731
                moved = 2 * 2 * n
            else:
                fn = lambda i: torch.softmax(sets[i % r][0], dim=-1)  # noqa: E731
                moved = 2 * 2 * n
            med, mn, reps = timer(torch, fn)
            out.append(dict(op=op, elements=n, row_width=width, element_bytes=2,
                            min_bytes=moved, time_s=med, min_time_s=mn, reps=reps,
                            input_sets=r))
            del sets
    for p in ADAM_PARAMS:
        if time.monotonic() > deadline:
            doc.setdefault("skipped", []).append(f"memory: adamw at {p} (budget)")
            return
        chunks = 8
        params = [torch.nn.Parameter(torch.randn(p // chunks, device="cuda")) for _ in range(chunks)]
        for q in params:
            q.grad = torch.randn_like(q)
        opt = torch.optim.AdamW(params, lr=1e-4, fused=True)
        opt.step()  # creates the states
        med, mn, reps = timer(torch, lambda i: opt.step())
        # fp32 parameter, gradient, first and second moment read; parameter and moments
        # written.
        out.append(dict(op="adamw", elements=p, element_bytes=4, min_bytes=28 * p,
                        time_s=med, min_time_s=mn, reps=reps, input_sets=1,
                        row_width=None))
        del opt, params
    torch.cuda.empty_cache()


def section_gemm_load(torch, doc, deadline):
    """The training step's GEMMs (the step model, micro-batch 2) under four loads, with the
    SM clock and power sampled by nvidia-smi: each shape alone back to back (as the gemm
    section times them); the step's sequence of GEMMs back to back; that sequence with a
    memory-bound copy after each GEMM (the share of time a step spends outside GEMMs);
    and the sequence on nn.Linear-scaled weights. Tells whether a GEMM runs at the rate
    measured alone when it is one kernel of a step."""
    c = STEP_MODEL
    mb = 2
    tok = mb * STEP_SEQ
    seq = []  # (m, n, k, pass, count per step)
    for op, k, n in layer_gemms(c["name"], c, 1):
        count = 1 if op == "logits" else c["layers"]
        seq += [((tok, n, k), "fwd", count), ((tok, k, n), "dgrad", count),
                ((k, n, tok), "wgrad", count)]
    try:
        smi = subprocess.Popen(
            ["nvidia-smi", "--query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu",
             "--format=csv,noheader,nounits", "-lms", "50"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        smi = None
    windows = {}
    out = {"model": c["name"], "micro_batch": mb, "seq": STEP_SEQ, "modes": {}}
    doc["gemm_load"] = out
    try:
        sets = {}
        for (m, n, k), p, _ in seq:
            sets[(m, n, k, p)] = make_gemm_bf16(torch, m, n, k, p)[0][:2]
        flops_step = sum(2 * m * n * k * cnt for (m, n, k), _, cnt in seq)
        # 1. Each shape alone, back to back.
        t0 = time.time()
        alone = 0.0
        per_shape = []
        for (m, n, k), p, cnt in seq:
            ss = sets[(m, n, k, p)]

            def fn(i, ss=ss):
                a, b, o = ss[i % len(ss)]
                torch.matmul(a, b, out=o)

            med, _, _ = timer(torch, fn, target=0.05)
            alone += med * cnt
            per_shape.append(dict(m=m, n=n, k=k, pass_kind=p, count=cnt, time_s=med))
        windows["alone"] = (t0, time.time())
        out["modes"]["alone"] = dict(gemm_time_s=alone, tflops_per_s=flops_step / alone / 1e12,
                                     shapes=per_shape)
        big = torch.empty(256 << 20, device="cuda", dtype=torch.bfloat16)
        big2 = torch.empty_like(big)

        def run_sequence(with_copies, weights_scale=None, seconds=4.0):
            ev = []
            t_start = time.time()
            reps = 0
            gemm_s = 0.0
            while time.time() - t_start < seconds or reps < 2:
                ev.clear()
                for (m, n, k), p, cnt in seq:
                    ss = sets[(m, n, k, p)]
                    for i in range(cnt):
                        a, b, o = ss[i % len(ss)]
                        s0 = torch.cuda.Event(enable_timing=True)
                        s1 = torch.cuda.Event(enable_timing=True)
                        s0.record()
                        torch.matmul(a, b, out=o)
                        s1.record()
                        ev.append((s0, s1))
                        if with_copies:
                            big2.copy_(big)
                torch.cuda.synchronize()
                if reps > 0:  # the first pass warms up
                    gemm_s += sum(a.elapsed_time(b) for a, b in ev) / 1e3
                reps += 1
            return gemm_s / max(1, reps - 1), reps - 1, (t_start, time.time())

        g, n_rep, w = run_sequence(False)
        windows["sequence"] = w
        out["modes"]["sequence"] = dict(gemm_time_s=g, tflops_per_s=flops_step / g / 1e12,
                                        passes=n_rep)
        g, n_rep, w = run_sequence(True)
        windows["sequence_with_copies"] = w
        out["modes"]["sequence_with_copies"] = dict(
            gemm_time_s=g, tflops_per_s=flops_step / g / 1e12, passes=n_rep,
            copy_bytes=4 * big.numel())
        # nn.Linear's initial weights: uniform within 1/sqrt(in_features).
        for key, ss in sets.items():
            for a, b, o in ss:
                b.uniform_(-1 / math.sqrt(key[2]), 1 / math.sqrt(key[2]))
        g, n_rep, w = run_sequence(True)
        windows["sequence_with_copies_linear_init"] = w
        out["modes"]["sequence_with_copies_linear_init"] = dict(
            gemm_time_s=g, tflops_per_s=flops_step / g / 1e12, passes=n_rep)
    finally:
        log = ""
        if smi is not None:
            smi.terminate()
            try:
                log = smi.communicate(timeout=5)[0]
            except Exception:  # noqa: BLE001
                pass
    samples = []
    for line in log.splitlines():
        f = [x.strip() for x in line.split(",")]
        if len(f) != 4:
            continue
        try:
            ts = datetime.datetime.strptime(f[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
            samples.append((ts, float(f[1]), float(f[2]), float(f[3])))
        except ValueError:
            continue
    out["clock_samples"] = len(samples)
    # nvidia-smi's timestamps are local time, as time.time() is UTC: align on the offset.
    offset = round((time.time() - (samples[-1][0] if samples else time.time())) / 3600) * 3600
    for mode, (a, b) in windows.items():
        inside = [s for s in samples if a <= s[0] + offset <= b]
        if inside and mode in out["modes"]:
            out["modes"][mode].update(
                sm_clock_mhz_median=statistics.median(s[1] for s in inside),
                power_w_median=statistics.median(s[2] for s in inside),
                temperature_c_max=max(s[3] for s in inside), clock_samples=len(inside))
    del sets
    torch.cuda.empty_cache()


def build_step_model(torch, c, gqa_native):
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            h, d = c["hidden"], c["head_dim"]
            self.attn_norm = nn.RMSNorm(h, eps=c["norm_eps"])
            self.qkv = nn.Linear(h, (c["heads"] + 2 * c["kv_heads"]) * d, bias=False)
            self.attn_out = nn.Linear(c["heads"] * d, h, bias=False)
            self.mlp_norm = nn.RMSNorm(h, eps=c["norm_eps"])
            self.mlp_up = nn.Linear(h, 2 * c["ffn"], bias=False)
            self.mlp_down = nn.Linear(c["ffn"], h, bias=False)

        def forward(self, x, cos, sin):
            b, t, _ = x.shape
            hq, hk, d = c["heads"], c["kv_heads"], c["head_dim"]
            q, k, v = self.qkv(self.attn_norm(x)).split([hq * d, hk * d, hk * d], dim=-1)
            q = q.view(b, t, hq, d).transpose(1, 2)
            k = k.view(b, t, hk, d).transpose(1, 2)
            v = v.view(b, t, hk, d).transpose(1, 2)
            cos, sin = cos.to(q.dtype), sin.to(q.dtype)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if gqa_native:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            else:
                k = k.repeat_interleave(hq // hk, dim=1)
                v = v.repeat_interleave(hq // hk, dim=1)
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn_out(y.transpose(1, 2).reshape(b, t, hq * d))
            g, u = self.mlp_up(self.mlp_norm(x)).chunk(2, dim=-1)
            return x + self.mlp_down(F.silu(g) * u)

    def rotate_half(x):
        a, b = x.chunk(2, dim=-1)
        return torch.cat((-b, a), dim=-1)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(c["vocab"], c["hidden"])
            self.blocks = nn.ModuleList(Block() for _ in range(c["layers"]))
            self.norm = nn.RMSNorm(c["hidden"], eps=c["norm_eps"])
            d = c["head_dim"]
            inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2).float() / d))
            t = torch.arange(STEP_SEQ).float()
            f = torch.outer(t, inv)
            emb = torch.cat((f, f), dim=-1)
            self.register_buffer("cos", emb.cos()[None, None], persistent=False)
            self.register_buffer("sin", emb.sin()[None, None], persistent=False)

        def forward(self, tokens, targets):
            x = self.embed(tokens)
            for blk in self.blocks:
                x = blk(x, self.cos, self.sin)
            logits = F.linear(self.norm(x), self.embed.weight)
            return F.cross_entropy(logits.float().view(-1, c["vocab"]), targets.view(-1))

    return Model()


def gqa_supported(torch):
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    try:
        q = torch.randn(1, 8, 256, 64, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(1, 2, 256, 64, device="cuda", dtype=torch.bfloat16)
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            F.scaled_dot_product_attention(q, k, k, is_causal=True, enable_gqa=True)
        torch.cuda.synchronize()
        return True
    except Exception:  # noqa: BLE001
        return False


def section_training_step(torch, doc, deadline, compiled=False):
    c = STEP_MODEL
    gqa = gqa_supported(torch)
    out = doc.setdefault("training_step", [])
    variants = (("amp_bf16_fp32_master", True), ("bf16", False))
    if compiled:
        variants = (("amp_bf16_fp32_master", True),)
    for variant, amp in variants:
        for mb in STEP_MICRO_BATCHES:
            if time.monotonic() > deadline:
                doc.setdefault("skipped", []).append(
                    f"training_step: {variant} micro-batch {mb}{' compiled' if compiled else ''}"
                    " (budget)")
                continue
            torch.manual_seed(0)
            with torch.device("cuda"):
                model = build_step_model(torch, c, gqa)
            if not amp:
                model = model.to(torch.bfloat16)
            params = sum(p.numel() for p in model.parameters())
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
            fwd = torch.compile(model) if compiled else model
            tokens = torch.randint(0, c["vocab"], (mb, STEP_SEQ), device="cuda")
            targets = torch.randint(0, c["vocab"], (mb, STEP_SEQ), device="cuda")

            def step():
                if amp:
                    with torch.autocast("cuda", dtype=torch.bfloat16):
                        loss = fwd(tokens, targets)
                else:
                    loss = fwd(tokens, targets)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                return loss

            rec = dict(model=c["name"], parameters=params, layers=c["layers"],
                       hidden=c["hidden"], heads=c["heads"], kv_heads=c["kv_heads"],
                       head_dim=c["head_dim"], ffn=c["ffn"], vocab=c["vocab"],
                       tied_embeddings=True, seq=STEP_SEQ, micro_batch=mb,
                       variant=variant, compiled=compiled, gqa_native=gqa,
                       attention_backend="PyTorch's default SDPA choice (the profile "
                       "section names its kernels)",
                       optimizer="AdamW fused")
            try:
                t0 = time.monotonic()
                for _ in range(3):
                    step()
                torch.cuda.synchronize()
                rec["warmup_s"] = time.monotonic() - t0
                torch.cuda.reset_peak_memory_stats()
                times = []
                s = torch.cuda.Event(enable_timing=True)
                e = torch.cuda.Event(enable_timing=True)
                steps = 10
                for _ in range(steps):
                    if time.monotonic() > deadline + 30:
                        break
                    s.record()
                    loss = step()
                    e.record()
                    e.synchronize()
                    times.append(s.elapsed_time(e) / 1e3)
                med = statistics.median(times)
                rec.update(step_time_s=med, min_step_time_s=min(times),
                           max_step_time_s=max(times), steps=len(times),
                           tokens_per_s=mb * STEP_SEQ / med,
                           peak_memory_bytes=torch.cuda.max_memory_allocated(),
                           loss=float(loss.detach()))
            except Exception as e:  # noqa: BLE001
                rec["error"] = f"{type(e).__name__}: {str(e)[:300]}"
            out.append(rec)
            del model, opt, fwd
            torch.cuda.empty_cache()


def section_profile(torch, doc, deadline):
    """Kernel time of one training step (amp, micro-batch 2) by kind, to explain the
    step's time: GEMM, attention, and everything else."""
    from torch.profiler import ProfilerActivity, profile
    c = STEP_MODEL
    with torch.device("cuda"):
        model = build_step_model(torch, c, gqa_supported(torch))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    mb = 2
    tokens = torch.randint(0, c["vocab"], (mb, STEP_SEQ), device="cuda")
    targets = torch.randint(0, c["vocab"], (mb, STEP_SEQ), device="cuda")

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(tokens, targets)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize()
    kernels = {}
    for ev in prof.key_averages():
        t = getattr(ev, "device_time_total", None)
        if t is None:
            t = getattr(ev, "cuda_time_total", 0)
        if t <= 0:
            continue
        kernels[ev.key] = kernels.get(ev.key, 0.0) + t / 1e6
    # Only kernels: the profiler's CPU-side ops also carry device totals, so keep the
    # events whose names look like kernels (no "aten::" prefix).
    rows = [(k, v) for k, v in kernels.items() if not k.startswith(("aten::", "autograd::",
                                                                     "Optimizer", "cuda"))]
    rows.sort(key=lambda kv: -kv[1])

    def kind(name):
        n = name.lower()
        if any(s in n for s in ("flash", "fmha", "attention", "sdpa")):
            return "attention"
        if any(s in n for s in ("gemm", "nvjet", "cutlass", "sm90_xmma", "cublas", "matmul")):
            return "gemm"
        if "adam" in n:
            return "optimizer"
        return "other"

    by_kind = {}
    for k, v in rows:
        by_kind[kind(k)] = by_kind.get(kind(k), 0.0) + v
    doc["profile"] = dict(model=c["name"], micro_batch=mb, seq=STEP_SEQ,
                          variant="amp_bf16_fp32_master",
                          kernel_time_by_kind_s=by_kind,
                          top_kernels=[dict(name=k[:160], time_s=v, kind=kind(k))
                                       for k, v in rows[:40]])
    del model, opt
    torch.cuda.empty_cache()


def write(doc, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, default=str)
        f.write("\n")
    os.replace(tmp, path)


def summary(doc):
    """A short table for the end of the log."""
    print("\n== summary ==")
    for c in doc.get("ceilings", []):
        if c["op"] == "copy":
            print(f"copy: {2 * c['elements'] * c['element_bytes'] / c['time_s'] / 1e12:.2f} TB/s")
        else:
            print(f"gemm {c['m']}^3 bf16: {2 * c['m'] ** 3 / c['time_s'] / 1e12:.0f} TFLOP/s")
    for prec in ("bf16", "fp8"):
        g = [x for x in doc.get("gemm", []) if x["precision"] == prec]
        if g:
            rates = sorted(2 * x["m"] * x["n"] * x["k"] / x["time_s"] / 1e12 for x in g)
            print(f"gemm {prec}: {len(g)} shapes, TFLOP/s min {rates[0]:.0f} "
                  f"median {rates[len(rates) // 2]:.0f} max {rates[-1]:.0f}")
    for be in ("flash", "cudnn"):
        a = [x for x in doc.get("attention", []) if x["backend"] == be and "error" not in x]
        if a:
            f = sorted(2 * x["batch"] * x["seq"] ** 2 * x["heads"] * x["head_dim"] / x["forward_time_s"] / 1e12 for x in a)
            print(f"attention {be}: {len(a)} shapes, causal fwd TFLOP/s median {f[len(f) // 2]:.0f} max {f[-1]:.0f}")
    for m in doc.get("memory", []):
        if m["elements"] == MEMORY_SIZES[-1] or m["op"] == "adamw":
            print(f"{m['op']} {m['elements']}: {m['min_bytes'] / m['time_s'] / 1e12:.2f} TB/s")
    for t in doc.get("training_step", []):
        if "error" in t:
            print(f"step {t['variant']} mb{t['micro_batch']}: {t['error']}")
        else:
            print(f"step {t['variant']}{' compiled' if t['compiled'] else ''} mb{t['micro_batch']}: "
                  f"{t['step_time_s'] * 1e3:.1f} ms, {t['tokens_per_s']:.0f} tokens/s, "
                  f"{t['peak_memory_bytes'] / 2**30:.1f} GiB")
    if "profile" in doc:
        print("profile:", {k: round(v * 1e3, 1) for k, v in doc["profile"]["kernel_time_by_kind_s"].items()}, "ms")
    for mode, r in doc.get("gemm_load", {}).get("modes", {}).items():
        print(f"gemm load {mode}: {r['gemm_time_s'] * 1e3:.1f} ms, {r['tflops_per_s']:.0f} TFLOP/s, "
              f"SM {r.get('sm_clock_mhz_median', '?')} MHz, {r.get('power_w_median', '?')} W")
    for s in doc.get("skipped", []):
        print("skipped:", s)
    for e in doc.get("errors", []):
        print("error:", e.splitlines()[-1] if e else e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="measurements.json")
    ap.add_argument("--budget", type=float, default=300.0,
                    help="seconds the sections share (default 300)")
    ap.add_argument("--dry-run", action="store_true", help="list the cases and exit")
    ap.add_argument("--sections", default="",
                    help="comma-separated sections to run (default: all)")
    ap.add_argument("--compile-step", action="store_true",
                    help="also time the step under torch.compile when budget is left")
    args = ap.parse_args()
    if args.dry_run:
        dry_run()
        return 0
    import torch
    if not torch.cuda.is_available():
        print("error: no CUDA device", file=sys.stderr)
        return 1
    torch.backends.cuda.matmul.allow_tf32 = False
    clock = Clock(args.budget)
    doc = {
        "schema": SCHEMA,
        "taken": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": "tools/calibrate/measure.py",
        "method": ("CUDA events around batches of back-to-back calls after one warm-up "
                   "call; time_s is the median per-call time of 3 batches (2 for calls "
                   "over 0.1 s), min_time_s the fastest batch; inputs drawn from a normal "
                   "distribution and cycled over enough sets to exceed 256 MiB so that "
                   "repeated calls do not run from L2; TF32 off; clocks and power left "
                   "as found"),
        "device": device_info(torch),
        "budget_s": args.budget,
    }
    print(f"device: {doc['device']['name']}, torch {doc['device']['torch']}, "
          f"CUDA {doc['device']['cuda_runtime']}, cuDNN {doc['device']['cudnn']}")
    fns = {
        "ceilings": lambda d: section_ceilings(torch, doc, d),
        "gemm_bf16": lambda d: section_gemm_bf16(torch, doc, d),
        "attention_flash": lambda d: section_attention(torch, doc, d, "flash"),
        "training_step": lambda d: section_training_step(torch, doc, d),
        "memory": lambda d: section_memory(torch, doc, d),
        "gemm_fp8": lambda d: section_gemm_fp8(torch, doc, d),
        "attention_cudnn": lambda d: section_attention(torch, doc, d, "cudnn"),
        "profile": lambda d: section_profile(torch, doc, d),
        "gemm_load": lambda d: section_gemm_load(torch, doc, d),
    }
    if args.sections:
        wanted = args.sections.split(",")
        unknown = [w for w in wanted if w not in fns]
        if unknown:
            print(f"error: unknown section {unknown[0]}; sections: {', '.join(fns)}",
                  file=sys.stderr)
            return 2
    doc["sections_s"] = {}
    for name, share in SECTIONS:
        if args.sections and name not in args.sections.split(","):
            continue
        t0 = time.monotonic()
        deadline = clock.section_deadline(share)
        print(f"[{clock.elapsed():6.1f} s] {name} ...", flush=True)
        try:
            fns[name](deadline)
        except Exception:  # noqa: BLE001 - one section's failure leaves the others
            doc.setdefault("errors", []).append(f"{name}: {traceback.format_exc()[-1500:]}")
            print(doc["errors"][-1], flush=True)
            torch.cuda.empty_cache()
        doc["sections_s"][name] = time.monotonic() - t0
        write(doc, args.out)
    if args.compile_step and clock.elapsed() < args.budget - 60:
        print(f"[{clock.elapsed():6.1f} s] training_step compiled ...", flush=True)
        t0 = time.monotonic()
        try:
            section_training_step(torch, doc, time.monotonic() + 45, compiled=True)
        except Exception:  # noqa: BLE001
            doc.setdefault("errors", []).append(f"compiled: {traceback.format_exc()[-1500:]}")
        doc["sections_s"]["training_step_compiled"] = time.monotonic() - t0
    doc["device"]["nvidia_smi_after"] = smi_state()
    doc["total_s"] = clock.elapsed()
    write(doc, args.out)
    summary(doc)
    print(f"wrote {args.out} in {clock.elapsed():.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
