"""The probe's hand-written Adam against ``torch.optim.Adam`` in the same training loop: time and weights.

Both run alternately (twice each) on one synthetic workload of the default analysis's shape
(22,000 words x 2,688 neurons x 49 tags, l1 = l2 = 1e-3, proximal L1 step, 3 epochs); the
torch.optim variant recomputes Adam's denominator from its second moment for the proximal step.

    .venv/bin/python benchmarks/adam_optimizer.py [threads]      # figures: docs/benchmarks.md
"""
import sys, time
import numpy as np, torch
import neuronbook.probe as P

class TorchAdam:
    def __init__(self, W, b, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params = (W, b); self.lr = float(lr); self.eps = eps; self.beta2 = betas[1]
        self.opt = torch.optim.Adam([W, b], lr=lr, betas=betas, eps=eps, foreach=True)
        self.steps = 0; self.scratch = torch.zeros_like(W)
    def step(self, grads):
        self.steps += 1
        for p, g in zip(self.params, grads):
            p.grad = g
        self.opt.step()
    def soft_threshold(self, l1):
        W = self.params[0]
        v = self.opt.state[W]["exp_avg_sq"]
        den = (v / (1 - self.beta2 ** self.steps)).sqrt_().add_(self.eps)
        thr = torch.reciprocal(den).mul_(self.lr).mul_(l1)
        W.sub_(torch.clamp(W, min=-thr, max=thr))

rng = np.random.default_rng(0)
n, d, C = 22000, 2688, 49
X = rng.normal(size=(n, d)).astype(np.float32)
y = rng.integers(0, C, n) ; y[:C] = np.arange(C)
X[:, :50] += y[:, None] * 0.05
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
res = {}
for name, cls in [("hand", P._Adam), ("torch.optim", TorchAdam), ("hand", P._Adam), ("torch.optim", TorchAdam)]:
    P._Adam_saved = P._Adam
    orig = P._Adam
    P._Adam = cls
    t = time.perf_counter()
    p = P.ElasticNetProbe(l1=1e-3, l2=1e-3, epochs=3).fit(X, y)
    dt = time.perf_counter() - t
    P._Adam = orig
    res.setdefault(name, []).append(dt)
    print(name, f"{dt:.2f} s", "abs sum", float(np.abs(p.coef_).sum()), "nonzero", float((p.coef_ != 0).mean()), flush=True)
for k, v in res.items():
    print(k, "median", np.median(v))
