"""The pixel-by-pixel MNIST task of `rnnlab real` rebuilt in PyTorch, to tell the LSTM's plateau from a bug:
    python3 scripts/pixel_mnist_pytorch.py lstm SEED      (or gru; needs torch and data-cache/mnist_5k.csv.gz)
Same settings as the default run: 4000 training / 1000 held-out digits of the 5000 real ones, one pixel per
step (784 steps, standardised with 0.1307 / 0.3081), hidden 64, forget-gate bias 1 (b_ih), PyTorch's default
initialisation, batch 64, Adam 5e-3, clip_grad_norm_ 1, 15 epochs, class read from the last step.
The split is a fixed permutation (not rnnlab's), so the numbers compare in kind, not digit for digit."""
import gzip, sys, time
import numpy as np
import torch

cell, seed = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
torch.manual_seed(seed)
a = np.loadtxt(gzip.open("data-cache/mnist_5k.csv.gz"), delimiter=",", dtype=np.float32)
a = a[np.random.default_rng(7).permutation(len(a))]
x, y = (a[:, :784] / 255 - 0.1307) / 0.3081, a[:, 784].astype(np.int64)
xt, yt = torch.tensor(x[:4000]).unsqueeze(-1), torch.tensor(y[:4000])
xv, yv = torch.tensor(x[4000:]).unsqueeze(-1), torch.tensor(y[4000:])
rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](1, 64, batch_first=True)
if cell == "lstm":
    with torch.no_grad():
        rnn.bias_ih_l0[64:128].fill_(1); rnn.bias_hh_l0[64:128].fill_(0)
fc = torch.nn.Linear(64, 10)
params = list(rnn.parameters()) + list(fc.parameters())
opt = torch.optim.Adam(params, lr=5e-3)
for epoch in range(1, 16):
    t0, order = time.time(), torch.randperm(4000)
    for b in range(0, 4000, 64):
        i = order[b:b + 64]
        out, _ = rnn(xt[i])
        loss = torch.nn.functional.cross_entropy(fc(out[:, -1]), yt[i])
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(params, 1.0); opt.step()
    with torch.no_grad():
        out, _ = rnn(xv)
        acc = (fc(out[:, -1]).argmax(1) == yv).float().mean().item()
    print(f"{cell} seed {seed} epoch {epoch}: held-out accuracy {acc:.3f} ({time.time() - t0:.1f} s)", flush=True)
