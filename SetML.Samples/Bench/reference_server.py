#!/usr/bin/env python3
"""Long-lived PyTorch reference for SetML's `bench` command (alternating A B A B pairs).

Imports the team's ../shared/bench/reference_pytorch.py (models, deterministic weights and data) and times one
config per request, so that the bench can run SetML and the reference alternately without paying Python's and
torch's start-up per pair. Protocol: one JSON object per line on stdin, one JSON object per line on stdout.

  request:  {"config": "st_train_step", "threads": 1, "reps": 5, "warmup": 1, "B": 10, "n": 300}
  answer:   {"times_ms": [...], "setup_ms": 12.3, "extra": {...}}        or {"error": "..."}

Configs (shapes from the request, defaults those of reference_pytorch.py):
  st_train_step, st_forward (B, n)   Set Transformer amortized clustering (ISAB16x2 -> PMA4 -> SAB -> Linear)
  st_scaling (enc = isab|sab, B, n)  forward only, eval mode, no_grad
  dspn_sum (B, N)                    DSPN auto-encoder training step (T 10, eta 800), sum pooling
  slot (n, chunk, din)               Slot Set Encoder K 32, 128-d: encode n elements in chunks, no_grad
  gemm (m, k, n, inner)              `inner` float32 products [m, k] x [k, n] (the BLAS under every Linear layer)
Models are built (deterministic weights) on the first request of a (config, shape) and kept; only the calls
themselves are timed (time.perf_counter around each), never the build, the warm-up or the interpreter start.
"""
import json, math, os, sys, time

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
import reference_pytorch as ref  # noqa: E402
import torch  # noqa: E402

M = ref.build_models(torch)
STATE = {}


def build(cfg, r):
    if cfg in ("st_train_step", "st_forward"):
        B, n = r.get("B", 10), r.get("n", 300)
        model = M["SetTransformer"]("isab"); ref.det_init(torch, model)
        X = ref.st_data(torch, B, n)
        with torch.no_grad():
            loss0 = ref.mog_nll(torch, model(X), X).item()
        if cfg == "st_forward":
            def fwd():
                with torch.no_grad():
                    model(X)
            return fwd, dict(loss_at_init=loss0)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad()
            ref.mog_nll(torch, model(X), X).backward()
            opt.step()
        return step, dict(loss_at_init=loss0)
    if cfg == "st_scaling":
        B, n, enc = r.get("B", 10), r.get("n", 300), r.get("enc", "isab")
        model = M["SetTransformer"](enc); ref.det_init(torch, model); model.eval()
        X = ref.st_data(torch, B, n)

        def fwd():
            with torch.no_grad():
                model(X)
        return fwd, {}
    if cfg == "dspn_sum":
        B, N = r.get("B", 32), r.get("N", 342)
        model = M["DSPN"](N=N, pool="sum"); ref.det_init(torch, model)
        x, m = ref.dspn_data(torch, B, N)
        tgt = torch.cat([x, m.unsqueeze(-1)], -1)
        opt = torch.optim.Adam(model.parameters(), lr=3e-4)

        def step():
            opt.zero_grad()
            outs, _ = model(x, m)
            loss = sum(ref.chamfer(torch, torch.cat([Y, Mk.unsqueeze(-1)], -1), tgt) for Y, Mk in outs) / len(outs)
            loss.backward()
            opt.step()
        return step, {}
    if cfg == "slot":
        n, chunk, din = r.get("n", 100_000), r.get("chunk", 1_000), r.get("din", 5)
        model = M["SlotSetEncoder"](din=din); ref.det_init(torch, model); model.eval()
        X = ref.det_uniform(torch, n * din, 7).view(1, n, din) * 2 - 1

        def enc():
            with torch.no_grad():
                S = torch.zeros(1, 32, 128)
                for i in range(0, n, chunk):
                    S += model(X[:, i:i + chunk])
            return S
        return enc, {}
    if cfg == "gemm":
        m, k, n, inner = r.get("m", 3000), r.get("k", 128), r.get("n", 128), r.get("inner", 20)
        a, b = torch.ones(m, k) * 0.5, torch.ones(k, n) * 0.25

        def mm():
            for _ in range(inner):
                torch.matmul(a, b)
        return mm, {}
    raise ValueError("unknown config " + cfg)


def serve(r):
    cfg = r["config"]
    torch.set_num_threads(int(r.get("threads", 1)))
    key = json.dumps({k: v for k, v in r.items() if k not in ("threads", "reps", "warmup")}, sort_keys=True)
    setup_ms = 0.0
    if key not in STATE:
        t0 = time.perf_counter()
        STATE[key] = build(cfg, r)
        setup_ms = (time.perf_counter() - t0) * 1e3
    fn, extra = STATE[key]
    for _ in range(int(r.get("warmup", 0))):
        fn()
    times = []
    for _ in range(int(r.get("reps", 1))):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return dict(times_ms=times, setup_ms=setup_ms, threads=torch.get_num_threads(), torch=torch.__version__, extra=extra)


def main():
    print(json.dumps(dict(ready=True, torch=torch.__version__)), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = serve(json.loads(line))
        except Exception as e:  # the bench reports it and carries on without the reference
            answer = dict(error="%s: %s" % (type(e).__name__, e))
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
