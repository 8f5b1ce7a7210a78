r"""Noise schedules: how much noise the forward process adds at each step.

A schedule is the list of variances $\beta_1, \dots, \beta_T$ of Ho et al. (2020);
everything else is derived from it. Timesteps in code are counted from 0, as in
diffusers: code index ``t`` is the paper's step $t+1$, so ``alphas_cumprod[0]`` is
$\bar\alpha_1 = 1-\beta_1$ and ``alphas_cumprod[num_train_timesteps - 1]`` is $\bar\alpha_T$.

Notation
--------
=========================  ===================================  ==============================
code                       lesson symbol                        diffusers name
=========================  ===================================  ==============================
``num_train_timesteps``    $T$                                  ``num_train_timesteps``
``betas[t]``               $\beta_t$ (noise variance of a step) ``betas``
``alphas[t]``              $\alpha_t = 1-\beta_t$               ``alphas``
``alphas_cumprod[t]``      $\bar\alpha_t = \prod_{s\le t}\alpha_s$  ``alphas_cumprod``,
                                                                ``alpha_prod_t`` in ``step``
=========================  ===================================  ==============================

The old name ``num_steps`` (keyword and property) still works and warns.

All three tensors are ``torch.float64`` on the CPU: the cumulative product of 1000
numbers close to 1 loses digits in float32 (diffusers keeps float32, and the two agree
to about 2.5e-7). Functions that use a schedule cast the coefficients they need to the
dtype and device of the images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from medai_lessons._checks import check_choice, check_int, check_real
from medai_lessons._deprecation import renamed_kwargs, warn_renamed
from medai_lessons._tensor_checks import check_finite
from medai_lessons.limits import MAX_TRAIN_TIMESTEPS, MIN_BETA

__all__ = ["MAX_TRAIN_TIMESTEPS", "NoiseSchedule"]

#: the labels a schedule may carry (and that checkpoints store)
KINDS = ("linear", "cosine", "custom")


def _check_num_train_timesteps(value: Any) -> int:
    T = check_int("num_train_timesteps", value, minimum=1)
    if T > MAX_TRAIN_TIMESTEPS:
        raise ValueError(f"`num_train_timesteps` must be <= {MAX_TRAIN_TIMESTEPS:,} (DDPM uses 1,000), got {T:,}.")
    return T


def _check_schedule_inputs(betas: object, kind: object, params: object) -> None:
    """The door of :class:`NoiseSchedule`: kinds and sizes, before anything is allocated."""
    if isinstance(betas, str | bytes) or not isinstance(betas, Sequence | torch.Tensor):
        raise TypeError(f"`betas` must be a sequence of numbers or a tensor, got {type(betas).__name__}.")
    if isinstance(betas, torch.Tensor) and (betas.is_complex() or betas.device.type == "meta"):
        raise TypeError(f"`betas` must hold real numbers on a real device, got {betas.dtype} on {betas.device}.")
    if isinstance(betas, torch.Tensor) and (betas.is_nested or betas.layout != torch.strided):
        raise TypeError("`betas` must be a dense tensor (convert it with `.to_dense()`).")
    size = betas.numel() if isinstance(betas, torch.Tensor) else len(betas)
    if size > MAX_TRAIN_TIMESTEPS:
        raise ValueError(f"`betas` must hold at most {MAX_TRAIN_TIMESTEPS:,} values (DDPM uses 1,000), got {size:,}.")
    check_choice("kind", kind, KINDS)
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"`params` must be a dict or None, got {type(params).__name__}.")


class NoiseSchedule:
    r"""The variances $\beta_t$ of the forward process and the quantities derived from them.

    Args:
        betas: one variance per step, each strictly between 0 and 1.
        kind: a label stored in checkpoints (``"linear"``, ``"cosine"`` or ``"custom"``).
        params: the arguments that rebuild the schedule from ``kind``.

    Raises:
        TypeError: ``betas`` is not a sequence of numbers or a tensor; ``kind`` is not a
            string or ``params`` not a dict.
        ValueError: empty, longer than :data:`~medai_lessons.limits.MAX_TRAIN_TIMESTEPS`, not
            one-dimensional, not finite, a value outside [1e-9, 1) (below
            :data:`~medai_lessons.limits.MIN_BETA`, $1-\bar\alpha_t$ loses its digits), or an
            unknown ``kind``.
    """

    def __init__(
        self,
        betas: Sequence[float] | torch.Tensor,
        *,
        kind: str = "custom",
        params: dict[str, Any] | None = None,
    ) -> None:
        _check_schedule_inputs(betas, kind, params)
        try:
            b = torch.as_tensor(betas, dtype=torch.float64).detach().cpu().clone()
        except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
            raise TypeError("`betas` must contain only real numbers.") from exc
        if b.ndim != 1:
            raise ValueError(f"`betas` must be one-dimensional, got shape {tuple(b.shape)}.")
        if b.numel() < 1:
            raise ValueError("`betas` must hold at least one value, got 0.")
        check_finite(b, "`betas` must not contain NaN or infinity.")
        if (b <= 0).any() or (b >= 1).any():
            bad = b[(b <= 0) | (b >= 1)][0].item()
            raise ValueError(f"`betas` must lie strictly between 0 and 1, got {bad}.")
        if (b < MIN_BETA).any():
            raise ValueError(
                f"`betas` must be >= {MIN_BETA:g} (below it 1 - alpha_bar loses its digits), got {b.min().item():g}."
            )
        self._betas = b
        self._alphas = 1.0 - b
        self._alphas_cumprod = torch.cumprod(self._alphas, dim=0)
        self.kind = kind
        self.params = dict(params or {"betas": b.tolist()})

    # -- constructors -------------------------------------------------------------------
    @classmethod
    @renamed_kwargs(num_steps="num_train_timesteps")
    def linear(
        cls, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02
    ) -> NoiseSchedule:
        r"""Betas spaced evenly from ``beta_start`` to ``beta_end`` (Ho et al. 2020, Sec. 4).

        $\beta_t = \beta_\text{start} + \frac{t}{T-1}(\beta_\text{end}-\beta_\text{start})$,
        the same as diffusers' ``beta_schedule="linear"``.

        Args:
            num_train_timesteps: $T$, at least 1 (``num_steps`` is a deprecated alias).
            beta_start: $\beta$ of the first step, in (0, 1).
            beta_end: $\beta$ of the last step, in (0, 1).
        """
        T = _check_num_train_timesteps(num_train_timesteps)
        beta_start = check_real("beta_start", beta_start)
        beta_end = check_real("beta_end", beta_end)
        for name, value in (("beta_start", beta_start), ("beta_end", beta_end)):
            if not 0.0 < value < 1.0:
                raise ValueError(f"`{name}` must lie strictly between 0 and 1, got {value}.")
            if value < MIN_BETA:
                raise ValueError(
                    f"`{name}` must be >= {MIN_BETA:g} (below it 1 - alpha_bar loses its digits), got {value}."
                )
        betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
        params = {"num_train_timesteps": T, "beta_start": beta_start, "beta_end": beta_end}
        return cls(betas, kind="linear", params=params)

    @classmethod
    @renamed_kwargs(num_steps="num_train_timesteps")
    def cosine(cls, num_train_timesteps: int = 1000, s: float = 0.008) -> NoiseSchedule:
        r"""The cosine schedule of Nichol & Dhariwal (2021), Eq. (17).

        $\bar\alpha(t) = f(t)/f(0)$ with $f(t) = \cos^2\!\big(\frac{t/T + s}{1+s}\cdot\frac{\pi}{2}\big)$
        and $\beta_t = 1 - \bar\alpha(t)/\bar\alpha(t-1)$, clipped to at most 0.999 as in
        the paper (diffusers' ``"squaredcos_cap_v2"``).

        Args:
            num_train_timesteps: $T$, at least 1 (``num_steps`` is a deprecated alias).
            s: the small offset that keeps $\beta$ of the first steps from being tiny, >= 0.
        """
        T = _check_num_train_timesteps(num_train_timesteps)
        s = check_real("s", s, non_negative=True)

        def f(u: torch.Tensor) -> torch.Tensor:
            return torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2

        u = torch.arange(T + 1, dtype=torch.float64) / T
        alpha_bar = f(u) / f(torch.zeros((), dtype=torch.float64))
        betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)  # Nichol & Dhariwal, Sec. 3.2
        if not bool(torch.isfinite(betas).all()) or bool((betas <= 0).any()):
            raise ValueError(f"`s` = {s} is too large: the betas leave (0, 1) (Nichol & Dhariwal use 0.008).")
        if bool((betas < MIN_BETA).any()):
            raise ValueError(
                f"`s` = {s} with `num_train_timesteps` = {T} makes the first beta {betas.min().item():.3g}, "
                f"below {MIN_BETA:g} (Nichol & Dhariwal use s = 0.008)."
            )
        return cls(betas, kind="cosine", params={"num_train_timesteps": T, "s": s})

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> NoiseSchedule:
        """Rebuild a schedule from :attr:`config` (as stored in a checkpoint).

        Checkpoints written before the rename store ``num_steps``; it is read as
        ``num_train_timesteps`` without a warning, so old files keep loading quietly.
        """
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict, got {type(config).__name__}.")
        kind = config.get("kind")
        params = {k: v for k, v in config.items() if k != "kind"}
        if "num_steps" in params and "num_train_timesteps" not in params:
            params["num_train_timesteps"] = params.pop("num_steps")
        allowed = {
            "linear": {"num_train_timesteps", "beta_start", "beta_end"},
            "cosine": {"num_train_timesteps", "s"},
            "custom": {"betas"},
        }
        if not isinstance(kind, str) or kind not in allowed:
            raise ValueError(f"`config` must have a `kind` of 'linear', 'cosine' or 'custom', got {kind!r}.")
        unknown = sorted(set(params) - allowed[kind])
        if unknown:
            raise ValueError(f"`config` has keys a {kind} schedule does not take: {unknown}.")
        if kind == "linear":
            return cls.linear(**params)
        if kind == "cosine":
            return cls.cosine(**params)
        if "betas" not in params:
            raise ValueError("`config` of a custom schedule must hold its `betas`.")
        return cls(params["betas"])

    # -- derived quantities -------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """JSON-able description: ``{"kind": ..., **params}``."""
        return {"kind": self.kind, **self.params}

    @property
    def num_train_timesteps(self) -> int:
        r"""$T$, the number of forward steps (diffusers' ``num_train_timesteps``)."""
        return int(self._betas.numel())

    @property
    def num_steps(self) -> int:
        """Deprecated alias of :attr:`num_train_timesteps`."""
        warn_renamed("num_steps", "num_train_timesteps", stacklevel=3)
        return self.num_train_timesteps

    @property
    def betas(self) -> torch.Tensor:
        r"""$\beta_t$ for ``t = 0 .. num_train_timesteps-1`` (float64)."""
        return self._betas

    @property
    def alphas(self) -> torch.Tensor:
        r"""$\alpha_t = 1 - \beta_t$ (float64)."""
        return self._alphas

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        r"""$\bar\alpha_t = \prod_{s=0}^{t} \alpha_s$ (float64); diffusers' ``alphas_cumprod``."""
        return self._alphas_cumprod

    @property
    def alphas_cumprod_prev(self) -> torch.Tensor:
        r"""$\bar\alpha_{t-1}$, with $\bar\alpha_{-1} = 1$ before the first step (float64)."""
        one = torch.ones(1, dtype=torch.float64)
        return torch.cat([one, self._alphas_cumprod[:-1]])

    def __len__(self) -> int:
        return self.num_train_timesteps

    def __repr__(self) -> str:
        if self.kind == "custom":
            return f"NoiseSchedule(<{self.num_train_timesteps} betas>)"
        shown = self.params
        args = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"NoiseSchedule.{self.kind}({args})"
