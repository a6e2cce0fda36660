#!/usr/bin/env python3
"""Writes sse_fspool_fixture.json: reference outputs of the Slot Set Encoder (Andreis et al. 2021, Algorithm 2) and
FSPool (Zhang et al. 2019) computed with PyTorch, written here from the papers' equations independently of SetML.

Each set is encoded ALONE (no padding, no mask), so the C# tests also check that SetML's masked, ragged batches
reproduce the unpadded results. Run with Debian's interpreter (torch 1.13):

    /usr/bin/python3 SetML.Tests/Fixtures/make_sse_fspool_fixture.py > SetML.Tests/Fixtures/sse_fspool_fixture.json
"""
import json, math
import torch

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)  # references in double; the C# side runs in float32 (tolerance 1e-5)


def tensor_json(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1)]}


def sse_reference(X, S, ln_w, ln_b, Wq, Wk, Wv, g):
    """Algorithm 2 for one set X (n, d) and slots S (K, h); Linear layers without bias (y = x W^T)."""
    S = torch.nn.functional.layer_norm(S, (S.shape[1],), ln_w, ln_b, eps=1e-5)
    q = S @ Wq.t()                                  # (K, d_hat)
    k, v = X @ Wk.t(), X @ Wv.t()                   # (n, d_hat)
    M = (k @ q.t()) / math.sqrt(Wq.shape[0])        # (n, K)        eq. 3
    attn = torch.sigmoid(M) + 1e-8                  # line 10
    W = attn / attn.sum(dim=1, keepdim=True)        # over slots    eq. 4
    per = W.unsqueeze(-1) * v.unsqueeze(1)          # (n, K, d_hat): W_ik v_i
    if g == "Sum":
        return per.sum(0)
    if g == "Mean":
        return per.mean(0)
    if g == "Max":
        return per.max(0).values
    return per.min(0).values


def fspool_reference(x, w):
    """FSPool for one set x (n, C), weights w (C, P+1): sort descending per channel, w_c(i/(n-1)) piecewise linear."""
    n, C = x.shape
    P = w.shape[1] - 1
    xs = x.sort(dim=0, descending=True).values
    out = torch.zeros(C)
    for i in range(n):
        r = (i / (n - 1) if n > 1 else 0.0) * P
        lo = min(int(math.floor(r)), P - 1)
        frac = r - lo
        out += xs[i] * (w[:, lo] * (1 - frac) + w[:, lo + 1] * frac)
    return out


sizes = [1, 2, 5, 9]
d, K, h, d_hat = 3, 4, 8, 6
sse_cases = []
for g in ["Sum", "Mean", "Max", "Min"]:
    params = {
        "slots": torch.randn(K, h),
        "norm.weight": 1 + 0.1 * torch.randn(h),
        "norm.bias": 0.1 * torch.randn(h),
        "q.weight": torch.randn(d_hat, h) / math.sqrt(h),
        "k.weight": torch.randn(d_hat, d) / math.sqrt(d),
        "v.weight": torch.randn(d_hat, d) / math.sqrt(d),
    }
    sets = [torch.randn(n, d) for n in sizes]
    expected = [sse_reference(X, params["slots"], params["norm.weight"], params["norm.bias"],
                              params["q.weight"], params["k.weight"], params["v.weight"], g) for X in sets]
    sse_cases.append({
        "aggregation": g, "inputDimension": d, "slotCount": K, "slotDimension": h, "attentionDimension": d_hat,
        "parameters": {name: tensor_json(t) for name, t in params.items()},
        "sets": [[float(v) for v in X.reshape(-1)] for X in sets],
        "expected": [[float(v) for v in e.reshape(-1)] for e in expected],
    })

fspool_cases = []
for C, P in [(5, 20), (4, 3)]:
    w = torch.randn(C, P + 1)
    sets = [torch.randn(n, C) for n in [1, 2, 3, 7, 25]]
    fspool_cases.append({
        "features": C, "pieces": P, "weight": tensor_json(w),
        "sets": [[float(v) for v in X.reshape(-1)] for X in sets],
        "expected": [[float(v) for v in fspool_reference(X, w)] for X in sets],
    })

print(json.dumps({"generator": "SetML.Tests/Fixtures/make_sse_fspool_fixture.py", "torch": torch.__version__,
                  "sse": sse_cases, "fspool": fspool_cases}, separators=(",", ":")))
