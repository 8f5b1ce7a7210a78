r"""A small U-Net that predicts the added noise, $\varepsilon_\theta(x_t, t)$.

The network sees a noisy image $x_t$ and the step $t$ and returns a tensor of the same
shape: its guess of the noise $\varepsilon$ that was mixed in (Ho et al. 2020, Sec. 3.2).
The step enters through a sinusoidal embedding (Vaswani et al. 2017, Sec. 3.5) that is
added to every residual block, so one set of weights serves every noise level.

Layout for ``channels=(32, 64)`` on 8x8 digits (the default is ``(32, 32)``)::

    x_t 1x8x8 -> conv -> [res 32] 8x8 --down--> [res 64] 4x4 -> [mid 64]
                          |                       `-- skip --> [res 64] 4x4 --up--+
                          `------------------------- skip -------> [res 32] 8x8 <-+ -> conv -> eps

Notation
--------
==================  ========================================  =============================
code                lesson symbol                             diffusers name
==================  ========================================  =============================
``UNet``            $\varepsilon_\theta$                      ``UNet2DModel``
``forward(x_t, t)`` $\varepsilon_\theta(x_t, t)$              ``unet(sample, timestep).sample``
``channels``        feature maps per resolution level         ``block_out_channels``
``time_dim``        size of the step embedding                ``time_embedding_dim``
==================  ========================================  =============================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 (PyTorch's usual alias)

from medai_lessons import limits
from medai_lessons._checks import check_int, check_real
from medai_lessons._tensor_checks import check_finite
from medai_lessons.diffusion._validate import check_finite_result

__all__ = ["UNet", "timestep_embedding"]


#: Steps above 2**24 are not exact in float32, where the embedding is computed.
MAX_TIMESTEP = 2**24
#: Widest step embedding :func:`timestep_embedding` makes (and :class:`UNet` accepts), the
#: same bound as ``TrainConfig``'s ``time_dim``.
MAX_DIM = 8192


def _check_steps_tensor(t: object, batch: int | None, *, allow_float: bool = False) -> torch.Tensor:
    """``t`` as a 1-D tensor of steps in ``[0, 2**24]`` (one per image when ``batch``).

    Integer steps come back as int64; real-valued steps (``allow_float``) keep their dtype.
    """
    if isinstance(t, bool) or (isinstance(t, torch.Tensor) and t.dtype == torch.bool):
        raise TypeError("`t` must be an int or an integer tensor, got bool.")
    if isinstance(t, Integral):
        if not 0 <= int(t) <= MAX_TIMESTEP:
            raise ValueError(f"`t` must lie in [0, {MAX_TIMESTEP}] (2**24, exact in float32), got {int(t)}.")
        return torch.full((batch or 1,), int(t), dtype=torch.int64)
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"`t` must be an int or an integer tensor, got {type(t).__name__}.")
    if t.is_complex() or (t.is_floating_point() and not allow_float):
        raise TypeError(f"`t` must hold integers, got dtype {t.dtype}.")
    if t.device.type == "meta":
        raise ValueError("`t` must hold data on a real device, got a tensor on 'meta'.")
    if t.is_nested or t.layout != torch.strided:
        raise TypeError("`t` must be a dense tensor (convert it with `.to_dense()`).")
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ValueError("`t` must not contain NaN or infinity.")
    if t.ndim == 0:
        t = t.reshape(1) if batch is None else t.expand(batch)
    if t.ndim != 1 or (batch is not None and t.numel() != batch):
        want = f"one step per image ({batch})" if batch is not None else "one step per row"
        raise ValueError(f"`t` must be a scalar or a 1-D tensor with {want}, got shape {tuple(t.shape)}.")
    if t.numel() and (float(t.min()) < 0 or float(t.max()) > MAX_TIMESTEP):
        raise ValueError(f"`t` must lie in [0, {MAX_TIMESTEP}] (2**24, exact in float32), got {t.tolist()[:4]}.")
    return t if t.is_floating_point() else t.to(torch.int64)


def _check_embedding_dim(name: str, value: object) -> int:
    """The width of a step embedding (``dim``, ``time_dim``): an even int in ``[2, MAX_DIM]``."""
    out = check_int(name, value, minimum=2)
    if out % 2:
        raise ValueError(f"`{name}` must be even, got {out}.")
    if out > MAX_DIM:
        raise ValueError(f"`{name}` must be <= {MAX_DIM}, got {out}.")
    return out


def timestep_embedding(t: torch.Tensor | int, dim: int, *, max_period: float = 10_000.0) -> torch.Tensor:
    r"""Sinusoidal features of integer steps: $[\sin(t\omega_k), \cos(t\omega_k)]_k$.

    $\omega_k = \text{max\_period}^{-k/(d/2)}$ for $k = 0, \dots, d/2-1$ (Vaswani et al.
    2017, Sec. 3.5). Nearby steps get similar vectors, far-apart steps different ones.

    Args:
        t: steps, a tensor of shape ``(batch,)`` (integers, or reals for continuous time)
            or one int (a batch of one), each in ``[0, 2**24]``.
        dim: $d$, an even number in ``[2, 8192]``.
        max_period: the longest wavelength, > 1.

    Returns:
        A float32 tensor of shape ``(batch, dim)`` on ``t``'s device.
    """
    t = _check_steps_tensor(t, None, allow_float=True)
    dim = _check_embedding_dim("dim", dim)
    if t.numel() * dim > limits.MAX_NUMEL:
        raise ValueError(
            f"`t` ({t.numel():,} steps) times `dim` ({dim}) asks for {t.numel() * dim:,} values; "
            f"at most {limits.MAX_NUMEL:,} (2**27) are allowed."
        )
    max_period = check_real("max_period", max_period)
    if max_period <= 1:
        raise ValueError(f"`max_period` must be > 1, got {max_period}.")
    half = dim // 2
    k = torch.arange(half, device=t.device, dtype=torch.float32)
    omega = torch.exp(-math.log(max_period) * k / half)
    angles = t.to(torch.float32)[:, None] * omega[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection; the step embedding is added between."""

    def __init__(self, c_in: int, c_out: int, time_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(math.gcd(groups, c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(time_dim, c_out)
        self.norm2 = nn.GroupNorm(math.gcd(groups, c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


#: Largest image side :meth:`UNet.feature_shapes` runs (the same as ``ddpm sample``'s).
MAX_FEATURE_SIDE = limits.MAX_FEATURE_SIDE

#: Largest network :class:`UNet` builds: 10**8 weights (400 MB in float32). The default
#: has 142,401; a bigger request is refused before any memory is taken.
MAX_PARAMETERS = limits.MAX_UNET_PARAMETERS


def _res_block_weights(c_in: int, c_out: int, time_dim: int) -> int:
    return 9 * c_in * c_out + 9 * c_out * c_out + time_dim * c_out + (c_in * c_out if c_in != c_out else 0)


def _approx_parameters(in_channels: int, channels: tuple[int, ...], time_dim: int) -> int:
    """The weights (biases and norms left out) of a :class:`UNet`, counted from its arguments."""
    total = 2 * time_dim * time_dim + 2 * 9 * in_channels * channels[0]
    c_prev = channels[0]
    for i, c in enumerate(channels):
        total += (9 * c_prev * c_prev if i > 0 else 0) + _res_block_weights(c_prev, c, time_dim)
        c_prev = c
    total += _res_block_weights(c_prev, c_prev, time_dim)
    for i, c in reversed(list(enumerate(channels))):
        total += _res_block_weights(c_prev + c, c, time_dim)
        c_prev = c
        if i > 0:
            total += 9 * c * channels[i - 1]
            c_prev = channels[i - 1]
    return total


def _check_unet_inputs(
    in_channels: object, channels: object, time_dim: object, groups: object
) -> tuple[int, tuple[int, ...], int, int]:
    """:class:`UNet`'s door: the four arguments as ints, and a network of at most :data:`MAX_PARAMETERS`."""
    in_channels = check_int("in_channels", in_channels, minimum=1)
    if isinstance(channels, str | bytes) or not isinstance(channels, Sequence):
        raise TypeError(f"`channels` must be a sequence of integers, got {type(channels).__name__}.")
    if not channels:
        raise ValueError("`channels` must hold at least one width, got ().")
    if len(channels) > limits.MAX_UNET_LEVELS:
        raise ValueError(
            f"`channels` must hold at most {limits.MAX_UNET_LEVELS} widths (one per level; "
            f"the digits use 2), got {len(channels):,}."
        )
    widths = tuple(check_int("channels", c, minimum=1) for c in channels)
    time_dim = _check_embedding_dim("time_dim", time_dim)
    groups = check_int("groups", groups, minimum=1)
    size = _approx_parameters(in_channels, widths, time_dim)
    # Shapes only on the meta device take no memory (checkpoint.py counts weights that way).
    if size > MAX_PARAMETERS and torch.get_default_device().type != "meta":
        raise ValueError(
            f"`channels` {list(widths)} (with `in_channels`={in_channels}, `time_dim`={time_dim}) would build "
            f"about {size:,} weights; at most {MAX_PARAMETERS:,} (400 MB in float32) are allowed."
        )
    return in_channels, widths, time_dim, groups


class UNet(nn.Module):
    r"""A small U-Net for $\varepsilon$-prediction.

    Args:
        in_channels: image channels (1 for grey-scale).
        channels: feature maps at each resolution; the image is halved between levels,
            so height and width must be divisible by ``2 ** (len(channels) - 1)``.
        time_dim: size of the step embedding (even).
        groups: GroupNorm groups (reduced to a divisor of each width).

    The default, ``channels=(32, 32)`` with ``time_dim=32``, has 142,401 parameters and
    suits 8x8 digits.
    """

    def __init__(
        self,
        in_channels: int = 1,
        channels: Sequence[int] = (32, 32),
        time_dim: int = 32,
        groups: int = 8,
    ) -> None:
        super().__init__()
        in_channels, channels, time_dim, groups = _check_unet_inputs(in_channels, channels, time_dim, groups)
        self.config: dict[str, Any] = {
            "in_channels": in_channels,
            "channels": list(channels),
            "time_dim": time_dim,
            "groups": groups,
        }
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.conv_in = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c_prev = channels[0]
        for i, c in enumerate(channels):
            if i > 0:
                self.downsample.append(nn.Conv2d(c_prev, c_prev, 3, stride=2, padding=1))
            self.down.append(ResBlock(c_prev, c, time_dim, groups))
            c_prev = c
        self.mid = ResBlock(c_prev, c_prev, time_dim, groups)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, c in reversed(list(enumerate(channels))):
            self.up.append(ResBlock(c_prev + c, c, time_dim, groups))
            c_prev = c
            if i > 0:
                self.upsample.append(nn.Conv2d(c, channels[i - 1], 3, padding=1))
                c_prev = channels[i - 1]
        self.norm_out = nn.GroupNorm(math.gcd(groups, channels[0]), channels[0])
        self.conv_out = nn.Conv2d(channels[0], in_channels, 3, padding=1)
        self.levels = len(channels)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        r"""$\varepsilon_\theta(x_t, t)$: the predicted noise, shaped like ``x_t``.

        Args:
            x_t: noisy images ``(batch, in_channels, height, width)``.
            t: steps, an int or an integer tensor of shape ``(batch,)``.
        """
        if not isinstance(x_t, torch.Tensor):
            raise TypeError(f"`x_t` must be a torch.Tensor, got {type(x_t).__name__}.")
        if x_t.is_nested or x_t.layout != torch.strided:
            raise TypeError("`x_t` must be a dense tensor (convert it with `.to_dense()`).")
        if x_t.is_inference() and torch.is_grad_enabled() and not torch.is_inference_mode_enabled():
            raise TypeError(
                "`x_t` was made under torch.inference_mode(), so autograd cannot use it: "
                "pass `x_t.clone()`, or call the model under torch.no_grad()."
            )
        if x_t.ndim != 4:
            raise ValueError(f"`x_t` must be shaped (batch, channels, height, width), got {tuple(x_t.shape)}.")
        weight = self.conv_in.weight
        if x_t.dtype != weight.dtype:
            raise TypeError(
                f"`x_t` must have the model's dtype {weight.dtype}, got {x_t.dtype} "
                f"(convert one of them: `x_t.to(model.conv_in.weight.dtype)` or `model.to(x_t.dtype)`)."
            )
        if x_t.device != weight.device:
            raise ValueError(f"`x_t` must be on the model's device {weight.device}, got {x_t.device}.")
        check_finite(x_t, "`x_t` must not contain NaN or infinity.")
        c = self.config["in_channels"]
        factor = 2 ** (self.levels - 1)
        if x_t.shape[1] != c or x_t.shape[2] % factor or x_t.shape[3] % factor:
            raise ValueError(
                f"`x_t` must have {c} channel(s) and a height and width divisible by {factor}, "
                f"got shape {tuple(x_t.shape)}."
            )
        t = _check_steps_tensor(t, x_t.shape[0])
        emb = self.time_mlp(timestep_embedding(t.to(x_t.device), self.config["time_dim"]))
        emb = emb.to(x_t.dtype)
        h = self.conv_in(x_t)
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                h = self.downsample[i - 1](h)
            h = block(h, emb)
            skips.append(h)
        h = self.mid(h, emb)
        for j, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
            if j < len(self.upsample):
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
                h = self.upsample[j](h)
        out = self.conv_out(F.silu(self.norm_out(h)))
        if bool(torch.isfinite(out).all()):
            return out
        largest = max(float(p.detach().abs().max()) for p in self.parameters())
        if bool(x_t.abs().max() <= 1e3):  # ordinary images: the weights drove the result out of range
            raise ValueError(
                f"the result is not finite (NaN or infinity); the U-Net's weights are too large "
                f"(largest |weight| {largest:.3g}), so `model` cannot be used as it is."
            )
        return check_finite_result(out, "`x_t` is too large for the network: images belong in about [-1, 1]")

    def num_parameters(self) -> int:
        """Number of trainable weights."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def feature_shapes(self, height: int = 8, width: int = 8) -> dict[str, tuple[int, ...]]:
        """The ``(channels, height, width)`` of one image at each stage of :meth:`forward`, measured.

        An all-zero image of the given size runs through the network once, and forward hooks
        record what leaves each part (``"up.0.in"``: what enters ``up.0``, the upsampled
        path concatenated with its skip connection). ``"time_emb"`` is the step embedding
        after ``time_mlp``, ``(time_dim,)``; it is added inside every residual block.
        Keys follow :meth:`forward`'s order and the names of ``named_modules()``.
        """
        factor = 2 ** (self.levels - 1)
        size = {"height": check_int("height", height, minimum=1), "width": check_int("width", width, minimum=1)}
        for name, value in size.items():
            if value % factor:
                raise ValueError(f"`{name}` must be divisible by {factor} (one halving per level), got {value}.")
            if value > MAX_FEATURE_SIDE:
                raise ValueError(f"`{name}` must be <= {MAX_FEATURE_SIDE}, got {value}.")
        shapes: dict[str, tuple[int, ...]] = {"input": (self.config["in_channels"], height, width)}

        def record(name: str, *, entering: bool = False) -> Any:
            def hook(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
                if entering:
                    shapes[f"{name}.in"] = tuple(args[0].shape[1:])
                shapes[name] = tuple(out.shape[1:])

            return hook

        parts = [("time_emb", self.time_mlp), ("conv_in", self.conv_in)]
        for i, block in enumerate(self.down):
            if i > 0:
                parts.append((f"downsample.{i - 1}", self.downsample[i - 1]))
            parts.append((f"down.{i}", block))
        parts.append(("mid", self.mid))
        for j, block in enumerate(self.up):
            parts.append((f"up.{j}", block))
            if j < len(self.upsample):
                parts.append((f"upsample.{j}", self.upsample[j]))
        parts.append(("conv_out", self.conv_out))
        handles = [m.register_forward_hook(record(n, entering=n.startswith("up."))) for n, m in parts]
        weight = self.conv_in.weight
        try:
            with torch.no_grad():
                self(torch.zeros(1, self.config["in_channels"], height, width, dtype=weight.dtype,
                                 device=weight.device), 0)
        finally:
            for handle in handles:
                handle.remove()
        order = ["input"]
        for name, _ in parts:
            order += [f"{name}.in", name] if name.startswith("up.") else [name]
        return {name: shapes[name] for name in order}
