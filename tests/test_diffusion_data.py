"""Bundled data, the quality metric and the lesson's figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medai_lessons.diffusion import (
    load_ct_slice,
    load_digits_images,
    load_mr_slice,
    quality_report,
    real_digits_report,
)


def test_digits_are_scaled_to_minus_one_one():
    """load_digits gives 1797 images of 8x8 mapped from 0..16 onto [-1, 1], with labels."""
    x0, y = load_digits_images(return_labels=True)
    assert x0.shape == (1797, 1, 8, 8) and x0.dtype == torch.float32
    assert x0.min() == -1 and x0.max() == 1
    assert torch.equal(torch.unique(y), torch.arange(10))


def test_ct_slice_loads_offline_from_the_pydicom_wheel(monkeypatch):
    """CT_small.dcm comes from pydicom's own files, never from the network (sockets blocked)."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    ct = load_ct_slice()
    assert ct.shape == (1, 1, 128, 128)
    assert ct.min() == -1 and ct.max() == 1
    assert load_mr_slice().shape == (1, 1, 64, 64)


def test_ct_window_maps_center_to_zero():
    """A window centred on a pixel's HU value maps that pixel to 0."""
    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = float(ds.pixel_array[64, 64]) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert load_ct_slice(center=hu, width=400)[0, 0, 64, 64].item() == pytest.approx(0.0, abs=1e-6)


def test_ct_window_validation():
    """A window width must be positive."""
    with pytest.raises(ValueError, match="`width` must be > 0"):
        load_ct_slice(width=0)


def test_quality_of_real_digits_is_high_and_balanced():
    """Held-out real digits: about 84 % confident and near-uniform classes (the ceiling)."""
    real = real_digits_report()
    assert real.n == 360
    assert 0.75 < real.confident_share < 0.95
    assert real.class_entropy > 0.99


def test_quality_detects_collapse_and_noise():
    """Copies of one digit give entropy 0; pure noise is rarely recognised with confidence."""
    x0 = load_digits_images()
    one_digit = x0[:1].expand(50, 1, 8, 8)
    rep = quality_report(one_digit)
    assert rep.class_entropy == 0.0 and sum(rep.class_counts) == 50
    noise = torch.rand(200, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert quality_report(noise).confident_share < 0.3
    assert quality_report(x0[:100].numpy().reshape(100, 64)).confident_share > 0.7


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: quality_report(torch.zeros(3, 1, 4, 4)),
            ValueError,
            r"`images` must be a batch of 8x8",
        ),
        (lambda: quality_report(torch.zeros(0, 64)), ValueError, r"at least one image"),
        (lambda: quality_report([[0.0] * 64]), TypeError, r"`images` must be a tensor or an array"),
        (
            lambda: quality_report(np.zeros((2, 64)), threshold=1.5),
            ValueError,
            r"`threshold` must be <= 1",
        ),
        (
            lambda: quality_report(np.zeros((2, 64)), threshold=0),
            ValueError,
            r"`threshold` must be > 0",
        ),
    ],
)
def test_quality_validation(call, error, match):
    """Bad inputs to the quality metric raise errors naming the argument."""
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("name", ["forward-strip", "alpha-bar", "loss-curve", "reverse-strip", "samples-grid"])
def test_figures_render_in_both_languages(name):
    """Every lesson-2 figure renders to PNG or SVG bytes in ja and en."""
    from site_tools.figures import render
    from site_tools.lesson_figures import discover

    spec = next(s for s in discover() if s.module == "diffusion" and s.name == name)
    for lang in ("ja", "en"):
        data = render(spec, lang)
        assert data[:4] == b"\x89PNG" if spec.fmt == "png" else b"<svg" in data[:400]


def test_ct_window_narrower_than_a_micro_hu_is_refused():
    """A width of 5e-324 HU would halve to 0 and turn the slice into NaN: refused by name."""
    with pytest.raises(ValueError, match="`width` must be >= 1 HU"):
        load_ct_slice(width=5e-324)
