r"""What latent diffusion saves, measured: values, time and memory of one U-Net step.

A diffusion model calls its U-Net once per step (twice with guidance), tens of times
per image. Latent diffusion (Rombach et al. 2022) runs that loop on the VAE's latent
$z \in \mathbb{R}^{c \times H/f \times W/f}$ instead of the image $x \in
\mathbb{R}^{3 \times H \times W}$. With Stable Diffusion's $f = 8$, $c = 4$:

$$\frac{3HW}{c\,(H/f)(W/f)} = \frac{3 f^2}{c} = \frac{3 \cdot 64}{4} = 48.$$

A convolution's work grows with the number of pixel positions it slides over, so
one step of the *same* network (same widths, same blocks) costs about $f^2 = 64$
times more on the image than on the latent; self-attention grows with the square of
the positions and makes the gap larger still.

Here the same U-Net is built twice — input 3 channels for pixels, 4 for latents —
and one step is timed and its activations are counted:

* **time**: the mean wall-clock seconds of a few forward passes (no gradients),
  measured with ``torch.utils.benchmark.Timer``;
* **work**: the floating-point operations of the convolutions and matrix products,
  counted by ``torch.utils.flop_counter.FlopCounterMode`` (the same on every machine);
* **activation memory**: the bytes of every tensor that each leaf module outputs
  during one forward pass, summed with forward hooks. It is what training would
  keep for back-propagation; unlike a peak-memory reading, it is the same on every
  machine. On CUDA the peak of ``torch.cuda.max_memory_allocated`` is recorded too.

Notation:

| code               | symbol      | meaning                                  |
|--------------------|-------------|------------------------------------------|
| ``size``           | $H = W$     | image side in pixels                     |
| ``factor``         | $f$         | VAE down-sampling factor (8)             |
| ``latent_channels``| $c$         | latent channels (4)                      |
| ``value_ratio``    | 48          | values in $x$ over values in $z$         |
| ``time_ratio``     | —           | seconds per step, pixel over latent      |
| ``flop_ratio``     | —           | operations per step, pixel over latent   |
| ``memory_ratio``   | —           | activation bytes, pixel over latent      |
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch.utils.benchmark import Timer
from torch.utils.flop_counter import FlopCounterMode

from .._checks import check_int, check_seed
from ..diffusion._validate import MAX_NUMEL, check_bounded_int, check_device, check_sample_shape
from ..limits import MAX_CHANNELS, MAX_TIMING_REPEATS
from ._validate import check_dtype, check_size

__all__ = [
    "PixelLatentCost",
    "StepCost",
    "activation_bytes",
    "build_cost_unet",
    "compare_pixel_latent",
    "latent_shape",
    "measure_step",
    "value_ratio",
]


def latent_shape(height: int, width: int, *, latent_channels: int = 4, factor: int = 8) -> tuple[int, int, int]:
    """The latent's ``(c, H/f, W/f)`` for an image of ``height`` × ``width``: 512² → (4, 64, 64)."""
    factor = check_int("factor", factor, minimum=1)
    latent_channels = check_int("latent_channels", latent_channels, minimum=1)
    height = check_size("height", height, factor)
    width = check_size("width", width, factor)
    return (latent_channels, height // factor, width // factor)


def value_ratio(height: int, width: int, *, channels: int = 3, latent_channels: int = 4, factor: int = 8) -> float:
    r"""Values in the image over values in its latent: $3HW / (c\,HW/f^2) = 3f^2/c$ = 48."""
    channels = check_int("channels", channels, minimum=1)
    c, h, w = latent_shape(height, width, latent_channels=latent_channels, factor=factor)
    return (channels * height * width) / (c * h * w)


def _check_widths(block_out_channels: object) -> tuple[int, ...]:
    """``block_out_channels`` as a tuple of 1 to 8 widths, each in ``[1, MAX_CHANNELS]``."""
    if isinstance(block_out_channels, str | bytes) or not isinstance(block_out_channels, tuple | list):
        raise TypeError(f"`block_out_channels` must be a tuple of ints, got {type(block_out_channels).__name__}.")
    widths = tuple(block_out_channels)
    if not 1 <= len(widths) <= 8 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(f"`block_out_channels` must be positive integers (1 to 8 levels), got {widths}.")
    if max(widths) > MAX_CHANNELS:
        raise ValueError(f"`block_out_channels` must each be <= {MAX_CHANNELS}, got {widths}.")
    return widths


def build_cost_unet(
    in_channels: int,
    *,
    block_out_channels: tuple[int, ...] = (32, 64, 128, 128),
    layers_per_block: int = 1,
    norm_num_groups: int = 8,
    seed: int = 0,
) -> Any:
    """A convolutional U-Net (``diffusers.UNet2DModel``) of a given width, random weights.

    Only ``in_channels`` (and the equal ``out_channels``) differ between the pixel
    and the latent network, so the two measure the same work per position. It has
    no attention blocks: self-attention on every pixel of a 512×512 image would need
    a 262,144 × 262,144 attention matrix, which no machine holds (that is the point
    of the latent).
    """
    from diffusers import UNet2DModel

    in_channels = check_bounded_int("in_channels", in_channels, minimum=1, maximum=64)
    widths = _check_widths(block_out_channels)
    layers_per_block = check_bounded_int("layers_per_block", layers_per_block, minimum=1, maximum=8)
    norm_num_groups = check_int("norm_num_groups", norm_num_groups, minimum=1)
    if any(w % norm_num_groups for w in widths):
        raise ValueError(f"`norm_num_groups` must divide every width in {widths}, got {norm_num_groups}.")
    seed = check_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return UNet2DModel(
            in_channels=in_channels,
            out_channels=in_channels,
            block_out_channels=widths,
            layers_per_block=layers_per_block,
            down_block_types=("DownBlock2D",) * len(widths),
            up_block_types=("UpBlock2D",) * len(widths),
            norm_num_groups=norm_num_groups,
        ).eval()


def activation_bytes(module: torch.nn.Module, *inputs: Any, **kwargs: Any) -> int:
    """Bytes of all tensors output by ``module``'s leaf modules in one forward pass.

    Forward hooks on every module without children add up ``numel × element_size`` of
    what it returns. Deterministic: the same on every machine for the same shapes.
    """
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"`module` must be a torch.nn.Module, got {type(module).__name__}.")
    named = [(f"inputs[{i}]", v) for i, v in enumerate(inputs)] + list(kwargs.items())
    for name, value in named:
        if not isinstance(value, torch.Tensor):
            continue
        if value.device.type == "meta":
            raise ValueError(f"`{name}` (an input of `module`) must hold data on a real device, got 'meta'.")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"`{name}` (an input of `module`) must not contain NaN or infinity.")
    total = 0

    def count(_module: torch.nn.Module, _inputs: Any, output: Any) -> None:
        nonlocal total
        outputs = output if isinstance(output, tuple | list) else (output,)
        for out in outputs:
            if isinstance(out, torch.Tensor):
                total += out.numel() * out.element_size()

    leaves = [m for m in module.modules() if not any(True for _ in m.children())]
    handles = [leaf.register_forward_hook(count) for leaf in leaves]
    try:
        with torch.no_grad():
            module(*inputs, **kwargs)
    except (RuntimeError, AttributeError, TypeError) as exc:  # torch's shape/dtype errors, a non-tensor input
        raise ValueError(f"`module` cannot run on the given `inputs`: {exc}") from exc
    finally:
        for handle in handles:
            handle.remove()
    return total


@dataclass(frozen=True)
class StepCost:
    """The cost of one U-Net forward pass on one input shape."""

    shape: tuple[int, ...]
    num_values: int
    seconds: float
    activation_bytes: int
    flops: int  # floating-point operations of convolutions and matrix products
    peak_bytes: int | None  # torch.cuda.max_memory_allocated on CUDA, else None


def measure_step(unet: Any, shape: tuple[int, ...], *, repeats: int = 3) -> StepCost:
    """Time one forward pass of ``unet`` on standard-normal input of ``shape`` and count bytes.

    One pass counts the activations, one counts the operations; then
    ``torch.utils.benchmark.Timer`` warms up and reports the mean of ``repeats`` timed
    passes (accelerators synchronised, torch's thread count held fixed).
    """
    if not isinstance(unet, torch.nn.Module):
        raise TypeError(f"`unet` must be a torch.nn.Module, got {type(unet).__name__}.")
    param = next(unet.parameters(), None)
    if param is None:
        raise TypeError(f"`unet` must have parameters (for its device and dtype); {type(unet).__name__} has none.")
    shape = check_sample_shape(shape)
    repeats = check_bounded_int("repeats", repeats, minimum=1, maximum=MAX_TIMING_REPEATS)
    device, dtype = param.device, param.dtype
    if device.type == "meta":
        raise ValueError("`unet` must hold real weights, got a model on 'meta'.")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=generator).to(device=device, dtype=dtype)
    t = torch.tensor([500], device=device)
    try:
        act = activation_bytes(unet, x, t)
    except ValueError as exc:
        raise ValueError(f"`unet` cannot run on an input of `shape` {shape}: {exc.__cause__ or exc}") from exc
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        unet(x, t)
    flops = int(counter.get_total_flops())
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    # torch's Timer warms up, keeps the thread count fixed and synchronises accelerators.
    timer = Timer(stmt="unet(x, t)", globals={"unet": unet, "x": x, "t": t}, num_threads=torch.get_num_threads())
    with torch.no_grad():
        seconds = timer.timeit(repeats).mean
    peak = int(torch.cuda.max_memory_allocated(device)) if cuda else None
    return StepCost(tuple(shape), math.prod(shape), seconds, act, flops, peak)


@dataclass(frozen=True)
class PixelLatentCost:
    """One U-Net step on a ``size``×``size`` image against its latent, same network width."""

    size: int
    pixel: StepCost
    latent: StepCost

    @property
    def value_ratio(self) -> float:
        """Values in the image input over values in the latent input (48 for f = 8, c = 4)."""
        return self.pixel.num_values / self.latent.num_values

    @property
    def time_ratio(self) -> float:
        """Seconds per step on pixels over seconds per step on latents."""
        return self.pixel.seconds / self.latent.seconds

    @property
    def flop_ratio(self) -> float:
        """Floating-point operations on pixels over those on latents (machine-independent)."""
        return self.pixel.flops / self.latent.flops

    @property
    def memory_ratio(self) -> float:
        """Activation bytes on pixels over activation bytes on latents."""
        return self.pixel.activation_bytes / self.latent.activation_bytes

    def as_dict(self) -> dict[str, Any]:
        """Everything, ratios included, as plain numbers (for JSON)."""
        out = asdict(self)
        out.update(
            value_ratio=self.value_ratio,
            time_ratio=self.time_ratio,
            flop_ratio=self.flop_ratio,
            memory_ratio=self.memory_ratio,
        )
        return out


def compare_pixel_latent(
    size: int = 256,
    *,
    block_out_channels: tuple[int, ...] = (32, 64, 128, 128),
    factor: int = 8,
    latent_channels: int = 4,
    repeats: int = 3,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> PixelLatentCost:
    """Measure one step of the same U-Net on ``(1, 3, S, S)`` and on ``(1, 4, S/8, S/8)``.

    Args:
        size: image side $S$, a multiple of ``factor`` × 2**(levels - 1) so that the
            latent still halves cleanly at every level.
        block_out_channels: the network width, identical for both inputs.
        repeats: timed passes per input (their mean is reported).
        device: where to run; on CUDA the peak allocated memory is recorded.
        dtype: the floating-point type of the network and its inputs.
    """
    factor = check_bounded_int("factor", factor, minimum=1, maximum=64)
    size = check_size("size", size, factor)
    if (3 * size * size) > MAX_NUMEL:
        raise ValueError(f"`size` {size} is too large for one step on this machine's budget of {MAX_NUMEL:,} values.")
    latent_channels = check_bounded_int("latent_channels", latent_channels, minimum=1, maximum=64)
    device = check_device(device)
    dtype = check_dtype(dtype)
    levels = len(_check_widths(block_out_channels))
    need = factor * 2 ** (levels - 1)
    if size % need:
        raise ValueError(f"`size` must be a multiple of {need} for {levels} resolution levels, got {size}.")
    nets = []
    for channels in (3, latent_channels):
        net = build_cost_unet(channels, block_out_channels=block_out_channels).to(device)
        nets.append(net if dtype == torch.float32 else net.to(dtype=dtype))
    pixel_net, latent_net = nets
    c, h, w = latent_shape(size, size, latent_channels=latent_channels, factor=factor)
    pixel = measure_step(pixel_net, (1, 3, size, size), repeats=repeats)
    latent = measure_step(latent_net, (1, c, h, w), repeats=repeats)
    return PixelLatentCost(size, pixel, latent)
