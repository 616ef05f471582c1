"""The PyTorch side of ``pytorch_reference.py``: the same networks, losses and updates.

Weights and images come from the NumPy files the project side exported (identical VGG-19
weights, ImageNet mean/std input). Used by the benchmark only, never by the package.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCKS = [2, 2, 4, 4, 4]
CHANNELS = [64, 128, 256, 512, 512]


def vgg19(weights: dict, last: str) -> tuple[nn.Sequential, list[str]]:
    """The VGG-19 feature layers up to ``last``, frozen, and their names."""
    layers, names, c_in = [], [], 3
    for b, (n, c) in enumerate(zip(BLOCKS, CHANNELS), start=1):
        for i in range(1, n + 1):
            conv = nn.Conv2d(c_in, c, 3, padding=1)
            conv.weight.data = torch.from_numpy(weights[f"conv{b}_{i}.weight"])
            conv.bias.data = torch.from_numpy(weights[f"conv{b}_{i}.bias"])
            layers += [conv, nn.ReLU()]
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
            c_in = c
        layers.append(nn.MaxPool2d(2))
        names.append(f"pool{b}")
    cut = names.index(last) + 1
    net = nn.Sequential(*layers[:cut]).requires_grad_(False)
    return net, names[:cut]


def features(net, names, x, wanted) -> dict:
    """The ``wanted`` layers' outputs, running the network only as deep as they go."""
    out = {}
    for layer, name in zip(net, names):
        x = layer(x)
        if name in wanted:
            out[name] = x
            if len(out) == len(wanted):
                break
    return out


def gram(x):
    n, c, h, w = x.shape
    f = x.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def tv(x):
    return 0.5 * ((x[:, :, 1:] - x[:, :, :-1]).abs().mean()
                  + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean())


def gatys_objective(folder: Path):
    """stylize's default objective (content relu4_2, Gram relu1_1 ... relu5_1, TV 10)."""
    weights = dict(np.load(folder / "vgg19.npz"))
    images = np.load(folder / "images.npz")
    content, style = torch.from_numpy(images["content"]), torch.from_numpy(images["style"])
    style_layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    net, names = vgg19(weights, "relu5_1")
    wanted = set(style_layers) | {"relu4_2"}
    with torch.no_grad():
        target = features(net, names, content, wanted)["relu4_2"]
        grams = {k: gram(v) for k, v in features(net, names, style, wanted).items()
                 if k in style_layers}
    layer_w = {k: 1e3 / g.shape[-1] ** 2 for k, g in grams.items()}

    def loss(x):
        f = features(net, names, x, wanted)
        s = sum(layer_w[k] * ((gram(f[k]) - grams[k]) ** 2).mean() for k in style_layers)
        return ((f["relu4_2"] - target) ** 2).mean() + s + 10.0 * tv(x)
    return loss, content.clone()


def time_gatys(folder: Path, steps: int) -> float:
    loss, x = gatys_objective(folder)
    x.requires_grad_(True)
    seconds = []
    for _ in range(steps):
        tic = time.perf_counter()
        total = loss(x)
        total.backward()
        with torch.no_grad():
            x -= 0.03 * x.grad / (x.grad.abs().mean() + 1e-8)
        x.grad = None
        seconds.append(time.perf_counter() - tic)
    return statistics.median(seconds[1:])


def time_lbfgs(folder: Path, steps: int) -> float:
    loss, x = gatys_objective(folder)
    x.requires_grad_(True)
    opt = torch.optim.LBFGS([x], max_iter=steps, tolerance_grad=0, tolerance_change=0)
    stamps = []

    def closure():
        opt.zero_grad()
        total = loss(x)
        total.backward()
        stamps.append(time.perf_counter())
        return total
    opt.step(closure)
    return statistics.median(b - a for a, b in zip(stamps[1:], stamps[2:]))


class ConditionalInstanceNorm(nn.Module):
    """Instance norm with one (gamma, beta) per style, mixed by (N, S) weights."""

    def __init__(self, channels, num_styles):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.gamma = nn.Parameter(torch.ones(num_styles, channels))
        self.beta = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x, mix):
        g, b = (mix @ p for p in (self.gamma, self.beta))
        return self.norm(x) * g[:, :, None, None] + b[:, :, None, None]


class ConvLayer(nn.Module):
    def __init__(self, c_in, c_out, k, stride=1, norm=True, relu=True, num_styles=0):
        super().__init__()
        self.pad = nn.ReflectionPad2d(k // 2)
        self.conv = nn.Conv2d(c_in, c_out, k, stride)
        self.norm = None if not norm else (ConditionalInstanceNorm(c_out, num_styles)
                                           if num_styles else nn.InstanceNorm2d(c_out, affine=True))
        self.relu = relu

    def forward(self, x, mix=None):
        x = self.conv(self.pad(x))
        if self.norm is not None:
            x = self.norm(x) if mix is None else self.norm(x, mix)
        return F.relu(x) if self.relu else x


class TransformNet(nn.Module):
    """Johnson et al.'s network as johnson.TransformNet builds it (instance norm, resize);
    with ``num_styles``, conditional instance norm (kind 'cin')."""

    def __init__(self, num_styles=0):
        super().__init__()
        kw = dict(num_styles=num_styles)
        self.down = nn.ModuleList([ConvLayer(3, 32, 9, **kw), ConvLayer(32, 64, 3, 2, **kw),
                                   ConvLayer(64, 128, 3, 2, **kw)])
        self.res = nn.ModuleList([nn.ModuleList([ConvLayer(128, 128, 3, **kw),
                                                 ConvLayer(128, 128, 3, relu=False, **kw)])
                                  for _ in range(5)])
        self.up = nn.ModuleList([ConvLayer(128, 64, 3, **kw), ConvLayer(64, 32, 3, **kw)])
        self.out = ConvLayer(32, 3, 9, norm=False, relu=False)

    def forward(self, x, mix=None):
        for layer in self.down:
            x = layer(x, mix)
        for a, b in self.res:
            x = x + b(a(x, mix), mix)
        for layer in self.up:
            x = layer(F.interpolate(x, scale_factor=2, mode="nearest"), mix)
        return self.out(x)


def time_johnson(folder: Path, steps: int, num_styles: int = 0) -> float:
    """Johnson et al.'s step; with ``num_styles``, the CIN step (one style drawn per step)."""
    weights = dict(np.load(folder / "vgg19.npz"))
    style = torch.from_numpy(np.load(folder / "images.npz")["style"])
    style_layers = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    net, names = vgg19(weights, "relu4_3")
    with torch.no_grad():
        grams = {k: gram(v) for k, v in features(net, names, style, set(style_layers)).items()}
    layer_w = {k: 1.0 / g.shape[-1] ** 2 for k, g in grams.items()}
    model = TransformNet(num_styles)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    seconds = []
    for _ in range(steps):
        x = torch.from_numpy(rng.normal(size=(4, 3, 128, 128)).astype(np.float32))
        tic = time.perf_counter()
        if num_styles:
            mix = F.one_hot(torch.full((4,), int(rng.integers(num_styles))), num_styles).float()
            y = model(x, mix)
        else:
            y = model(x)
        f = features(net, names, y, set(style_layers))
        with torch.no_grad():
            photo = features(net, names, x, {"relu2_2"})["relu2_2"]
        s = sum(layer_w[k] * ((gram(f[k]) - grams[k]) ** 2).mean() for k in style_layers)
        total = ((f["relu2_2"] - photo) ** 2).mean() + s + 10.0 * tv(y)
        opt.zero_grad()
        total.backward()
        opt.step()
        seconds.append(time.perf_counter() - tic)
    return statistics.median(seconds[2:])


def decoder() -> nn.Sequential:
    """adain.Decoder: relu4_1 (512 channels) back to an image, nearest upsampling where
    VGG-19 pools, reflection-padded 3x3 convolutions with ReLU, the last without."""
    spec = [(256, False), (256, True), (256, False), (256, False), (128, False), (128, True),
            (64, False), (64, True), (64, False)]
    layers, c_in = [], 512
    for c, up in spec:
        if up:
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(c_in, c, 3), nn.ReLU()]
        c_in = c
    return nn.Sequential(*layers, nn.ReflectionPad2d(1), nn.Conv2d(c_in, 3, 3))


def channel_stats(x):
    return x.mean(dim=(2, 3)), (x.var(dim=(2, 3), unbiased=False) + 1e-5).sqrt()


def time_adain(folder: Path, steps: int) -> float:
    """Huang and Belongie's step: encoder to relu4_1, AdaIN, decoder, content + mean/std."""
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
    net, names = vgg19(dict(np.load(folder / "vgg19.npz")), "relu4_1")
    model = decoder()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)
    seconds = []
    for _ in range(steps):
        x, s = (torch.from_numpy(rng.normal(size=(4, 3, 128, 128)).astype(np.float32))
                for _ in range(2))
        tic = time.perf_counter()
        with torch.no_grad():
            fs = features(net, names, s, set(layers))
            fc = features(net, names, x, {"relu4_1"})["relu4_1"]
            (mc, sc), (ms, ss) = channel_stats(fc), channel_stats(fs["relu4_1"])
            t = (fc - mc[:, :, None, None]) / sc[:, :, None, None] * ss[:, :, None, None] \
                + ms[:, :, None, None]
        f = features(net, names, model(t), set(layers))
        style = 0.0
        for k in layers:
            (m, sd), (mt, st) = channel_stats(f[k]), channel_stats(fs[k])
            style = style + ((m - mt) ** 2).mean() + ((sd - st) ** 2).mean()
        total = ((f["relu4_1"] - t) ** 2).mean() + style
        opt.zero_grad()
        total.backward()
        opt.step()
        seconds.append(time.perf_counter() - tic)
    return statistics.median(seconds[2:])


def measure(what: str, folder: Path, steps: int) -> float:
    torch.set_num_threads(int(__import__("os").environ.get("OMP_NUM_THREADS", "2")))
    if what == "cin":
        return time_johnson(folder, steps, num_styles=2)
    return {"gatys": time_gatys, "lbfgs": time_lbfgs, "johnson": time_johnson,
            "adain": time_adain}[what](folder, steps)
