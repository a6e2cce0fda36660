#!/usr/bin/env python3
"""Numeric fixture for SetML's Set Transformer blocks (MAB, SAB, ISAB, PMA, SAB+PMA encoder).

Written from the paper's equations (Lee et al. 2019, eq. 6-12) with SetML's documented choices:
  MAB(X, Y) = LN(H + ReLU(H W + b)),  H = LN(X W_q + concat_j softmax(Q_j K_j^T / sqrt(d/h)) V_j W^O)
  SAB(X) = MAB(X, X);  ISAB_m(X) = MAB(X, MAB(I, X));  PMA_k(Z) = MAB(S, ReLU(Z W + b));
  encoder = flatten(SAB(PMA_k(SAB(SAB(X))))).
Every reference output is computed on each set ALONE (no padding, no mask), so the fixture also checks that
SetML's masked, padded batches give the unpadded results. Parameter names match SetML's TorchSharp modules.
Run with Debian's PyTorch (torch 1.13):  /usr/bin/python3 make_set_transformer_fixture.py > set_transformer_fixture.json
"""
import json, math, sys
import torch
import torch.nn as nn

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)  # references in double; SetML compares in float32 to 1e-5


class MAB(nn.Module):
    def __init__(self, dq, dk, d, h, ln):
        super().__init__()
        self.h, self.d = h, d
        self.fc_q, self.fc_k, self.fc_v = nn.Linear(dq, d), nn.Linear(dk, d), nn.Linear(dk, d)
        self.fc_o, self.rff = nn.Linear(d, d), nn.Linear(d, d)
        if ln:
            self.ln_h, self.ln_out = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ln = ln

    def forward(self, X, Y):  # X (nq, dq), Y (nk, dk): one set, no padding
        nq, nk, h, dh = X.shape[0], Y.shape[0], self.h, self.d // self.h
        Q = self.fc_q(X)
        Qh = Q.view(nq, h, dh).transpose(0, 1)
        Kh = self.fc_k(Y).view(nk, h, dh).transpose(0, 1)
        Vh = self.fc_v(Y).view(nk, h, dh).transpose(0, 1)
        A = torch.softmax(Qh @ Kh.transpose(1, 2) / math.sqrt(dh), -1)
        O = (A @ Vh).transpose(0, 1).reshape(nq, self.d)
        H = Q + self.fc_o(O)
        if self.ln:
            H = self.ln_h(H)
        out = H + torch.relu(self.rff(H))
        return self.ln_out(out) if self.ln else out


class SAB(nn.Module):
    def __init__(self, din, d, h, ln):
        super().__init__()
        self.mab = MAB(din, din, d, h, ln)

    def forward(self, X):
        return self.mab(X, X)


class ISAB(nn.Module):
    def __init__(self, din, d, h, m, ln):
        super().__init__()
        self.inducing_points = nn.Parameter(torch.randn(1, m, d))
        self.mab_induced, self.mab_elements = MAB(d, din, d, h, ln), MAB(din, d, d, h, ln)

    def forward(self, X):
        return self.mab_elements(X, self.mab_induced(self.inducing_points[0], X))


class PMA(nn.Module):
    def __init__(self, d, h, k, ln):
        super().__init__()
        self.seeds = nn.Parameter(torch.randn(1, k, d))
        self.rff = nn.Linear(d, d)
        self.mab = MAB(d, d, d, h, ln)

    def forward(self, Z):
        return self.mab(self.seeds[0], torch.relu(self.rff(Z)))


class Encoder(nn.Module):  # SetTransformerEncoder(layers=2, SAB, seeds=k, decoder SAB)
    def __init__(self, din, d, h, k, ln):
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.blocks = nn.ModuleList([SAB(din, d, h, ln), SAB(d, d, h, ln)])
        self.pma = PMA(d, h, k, ln)
        self.decoder_sab = SAB(d, d, h, ln)

    def forward(self, X):
        Z = self.encoder.blocks[1](self.encoder.blocks[0](X))
        return self.decoder_sab(self.pma(Z)).reshape(-1)


def randomize(module):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("ln_h.weight") or name.endswith("ln_out.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.5 * torch.randn_like(p))


def dump_params(module):
    return {name: {"shape": list(p.shape), "values": p.detach().reshape(-1).tolist()} for name, p in module.named_parameters()}


def padded(sets, d):
    N = max(len(s) for s in sets)
    x = torch.zeros(len(sets), N, d)
    mask = torch.zeros(len(sets), N, dtype=torch.bool)
    for i, s in enumerate(sets):
        x[i, :len(s)] = s
        mask[i, :len(s)] = True
    return x, mask


cases = []
sizes = [5, 3, 1]


def case(name, module, din, fn, config, per_element=True):
    randomize(module)
    sets = [torch.randn(n, din) for n in sizes]
    x, mask = padded(sets, din)
    with torch.no_grad():
        outs = [fn(s) for s in sets]
    if per_element:  # one output row per element: pad with zeros
        out = torch.zeros(len(sets), x.shape[1], outs[0].shape[-1])
        for i, o in enumerate(outs):
            out[i, :o.shape[0]] = o
    else:
        out = torch.stack(outs)
    cases.append(dict(name=name, config=config, x_shape=list(x.shape), x=x.reshape(-1).tolist(),
                      mask=mask.reshape(-1).tolist(), output_shape=list(out.shape), output=out.reshape(-1).tolist(),
                      params=dump_params(module)))


# MAB with LayerNorm: queries = a fixed 4-element set (no padding), keys = the ragged sets (masked)
mab = MAB(3, 5, 8, 2, True)
randomize(mab)
qx = torch.randn(4, 3)
kv_sets = [torch.randn(n, 5) for n in sizes]
kx, kmask = padded(kv_sets, 5)
with torch.no_grad():
    mab_out = torch.stack([mab(qx, s) for s in kv_sets])
cases.append(dict(name="mab", config=dict(dq=3, dk=5, width=8, heads=2, layer_norm=True),
                  query_shape=[3, 4, 3], query=qx.unsqueeze(0).expand(3, 4, 3).reshape(-1).tolist(),
                  x_shape=list(kx.shape), x=kx.reshape(-1).tolist(), mask=kmask.reshape(-1).tolist(),
                  output_shape=list(mab_out.shape), output=mab_out.reshape(-1).tolist(), params=dump_params(mab)))

sab = SAB(3, 8, 2, False)
case("sab", sab, 3, sab, dict(din=3, width=8, heads=2, layer_norm=False))
isab = ISAB(3, 8, 2, 3, True)
case("isab", isab, 3, isab, dict(din=3, width=8, heads=2, inducing_points=3, layer_norm=True))
pma = PMA(8, 2, 2, False)
case("pma", pma, 8, pma, dict(width=8, heads=2, seeds=2, layer_norm=False), per_element=False)
enc = Encoder(3, 8, 2, 2, True)
case("encoder", enc, 3, enc, dict(din=3, width=8, heads=2, layers=2, seeds=2, layer_norm=True), per_element=False)

json.dump(dict(generator="make_set_transformer_fixture.py", torch=torch.__version__, sizes=sizes, cases=cases),
          sys.stdout, separators=(",", ":"))
