r"""CLIP's byte-pair tokenizer, offline: the real vocabulary, and a small one with one token per word.

CLIP (Radford et al. 2021, Sec. 2.4) reads text as byte-pair tokens (Sennrich et al. 2016):
the text is lower-cased, split into words, each word into its UTF-8 bytes (each byte shown
as one printable character), the last byte marked with ``</w>``, and then learnt merges
join neighbouring pieces, always the earliest-learnt merge first. A prompt becomes
``<|startoftext|>`` (id 49406), the pieces, ``<|endoftext|>`` (49407), then padding.

Two tokenizers are built here, both as ``transformers.CLIPTokenizer`` and both without any
download:

* :func:`clip_tokenizer` — the real 49,408-token vocabulary, rebuilt from
  ``bpe_simple_vocab_16e6.txt.gz`` (MIT, shipped in ``data/clip-bpe/`` with its notice).
  Its ids are the ones SD 1.x uses: "a photo of a cat" →
  ``[49406, 320, 1125, 539, 320, 2368, 49407]``.
* :func:`word_tokenizer` — the 256 byte pieces, the same with ``</w>``, the two special
  tokens, and just enough merges that each word of a given list is *one* token. The
  miniature Stable Diffusion uses it, so its text encoder needs a few hundred embedding
  rows instead of 49,408.

Notation (code name ↔ meaning ↔ transformers name):

| code              | meaning                                      | transformers              |
|-------------------|----------------------------------------------|---------------------------|
| ``byte_pieces``   | the 256 printable stand-ins for bytes        | ``bytes_to_unicode()``    |
| ``merges``        | ordered pairs; rank = position in the list   | ``merges``                |
| ``vocab``         | piece → id                                   | ``vocab`` / ``encoder``   |
| ``BOS``, ``EOS``  | ``<|startoftext|>``, ``<|endoftext|>``       | ``bos_token``, ``eos_token`` |
"""

from __future__ import annotations

import gzip
import itertools
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from .._checks import check_int

__all__ = [
    "BOS",
    "CLIP_VOCAB_SIZE",
    "EOS",
    "bpe_split",
    "byte_pieces",
    "clip_tokenizer",
    "word_merges",
    "word_tokenizer",
]

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
#: 256 byte pieces + 256 with ``</w>`` + 48,894 merges + 2 special tokens.
CLIP_VOCAB_SIZE = 49_408
_NUM_CLIP_MERGES = CLIP_VOCAB_SIZE - 2 * 256 - 2
_WORD_RE = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+", re.UNICODE)


@lru_cache(maxsize=1)
def _byte_order() -> tuple[tuple[int, ...], tuple[str, ...]]:
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in set(keep)]
    chars = [chr(b) for b in keep] + [chr(256 + n) for n in range(len(others))]
    return tuple(keep + others), tuple(chars)


def byte_pieces() -> tuple[str, ...]:
    """The printable character that stands for each byte, in CLIP's vocabulary order.

    Printable Latin-1 bytes stand for themselves and come first (``!`` .. ``~``,
    ``¡`` .. ``¬``, ``®`` .. ``ÿ``); the other 68 bytes (controls, space, ...) are given the
    characters from U+0100 on, in byte order, and come after.
    """
    return _byte_order()[1]


@lru_cache(maxsize=1)
def _byte_map() -> dict[int, str]:
    order, chars = _byte_order()
    return dict(zip(order, chars, strict=True))


def _words(text: str) -> list[str]:
    """Lower-case ``text`` and split it into CLIP's words (letters, single digits, punctuation)."""
    return _WORD_RE.findall(" ".join(text.lower().split()))


def _symbols(word: str) -> list[str]:
    pieces = [_byte_map()[b] for b in word.encode("utf-8")]
    pieces[-1] += "</w>"
    return pieces


def bpe_split(word: str, merges: Sequence[tuple[str, str]]) -> list[str]:
    """Apply byte-pair merges to one word: repeatedly join the adjacent pair merged earliest.

    This is the rule of Sennrich et al. (2016) as CLIP uses it; it is written out here to
    build :func:`word_merges` and to check a vocabulary without a tokenizer library.
    """
    if not isinstance(word, str) or not word:
        raise TypeError(f"`word` must be a non-empty string, got {type(word).__name__}.")
    if isinstance(merges, str) or not isinstance(merges, Sequence) or not all(
        isinstance(m, tuple | list) and len(m) == 2 and all(isinstance(p, str) for p in m) for m in merges
    ):
        raise TypeError("`merges` must be a sequence of (str, str) pairs.")
    rank = {pair: i for i, pair in enumerate(merges)}
    pieces = _symbols(word)
    while len(pieces) > 1:
        pairs = [(rank.get(pair, len(rank)), i) for i, pair in enumerate(itertools.pairwise(pieces))]
        best, _ = min(pairs)
        if best == len(rank):
            break
        first, second = merges[best]
        out: list[str] = []
        i = 0
        while i < len(pieces):
            if i + 1 < len(pieces) and pieces[i] == first and pieces[i + 1] == second:
                out.append(first + second)
                i += 2
            else:
                out.append(pieces[i])
                i += 1
        pieces = out
    return pieces


def word_merges(words: Iterable[str]) -> list[tuple[str, str]]:
    """The fewest merges (added left to right) after which every word in ``words`` is one token.

    For each word, BPE is run with the merges so far; while the word is still in more than
    one piece, the merge of its first two pieces is appended. A merge added for one word
    can fire inside a later one, so each word is re-split until it is whole.
    """
    if isinstance(words, str) or not isinstance(words, Iterable):
        raise TypeError(f"`words` must be a sequence of strings, got {type(words).__name__}.")
    words = list(words)
    if not all(isinstance(w, str) for w in words):
        raise TypeError("`words` must hold only strings.")
    merges: list[tuple[str, str]] = []
    for text in words:
        for word in _words(text):
            while len(pieces := bpe_split(word, merges)) > 1:
                merges.append((pieces[0], pieces[1]))
    # a later merge may have broken an earlier word: check them all again
    for text in words:
        for word in _words(text):
            if len(bpe_split(word, merges)) != 1:  # pragma: no cover - guarded by the tests
                raise ValueError(f"`words`: {word!r} does not end as one token; reorder the list.")
    return merges


def _vocab(merges: Sequence[tuple[str, str]]) -> dict[str, int]:
    pieces = list(byte_pieces())
    tokens = pieces + [p + "</w>" for p in pieces] + ["".join(m) for m in merges] + [BOS, EOS]
    vocab: dict[str, int] = {}
    for token in tokens:
        vocab.setdefault(token, len(vocab))
    return vocab


def _make(merges: list[tuple[str, str]], model_max_length: int) -> Any:
    from transformers import CLIPTokenizer

    return CLIPTokenizer(
        vocab=_vocab(merges),
        merges=merges,
        model_max_length=model_max_length,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=EOS,
        pad_token=EOS,
    )


@lru_cache(maxsize=1)
def _clip_merges() -> list[tuple[str, str]]:
    path = resources.files("medai_lessons.stable_diffusion").joinpath("data/clip-bpe/bpe_simple_vocab_16e6.txt.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")[1 : _NUM_CLIP_MERGES + 1]  # line 0 is a version header
    return [tuple(line.split()) for line in lines]  # type: ignore[misc]


@lru_cache(maxsize=1)
def clip_tokenizer() -> Any:
    """The real CLIP tokenizer of SD 1.x (49,408 tokens), rebuilt offline from the shipped merges.

    Returns:
        A ``transformers.CLIPTokenizer`` with ``model_max_length=77``; cached.
    """
    tokenizer = _make(_clip_merges(), 77)
    if len(tokenizer) != CLIP_VOCAB_SIZE:  # pragma: no cover - the file is pinned by sha256
        raise ValueError(f"the CLIP merges gave {len(tokenizer)} tokens, expected {CLIP_VOCAB_SIZE}.")
    return tokenizer


def word_tokenizer(words: Sequence[str], *, model_max_length: int = 32) -> Any:
    """A byte-level CLIP tokenizer in which each word of ``words`` is a single token.

    Args:
        words: texts whose words must each become one token (e.g. the training prompts).
        model_max_length: positions the text encoder reads (bos + tokens + eos + padding).

    Returns:
        A ``transformers.CLIPTokenizer``; save it with ``save_pretrained``.
    """
    if isinstance(words, str) or not isinstance(words, Sequence):
        raise TypeError(f"`words` must be a sequence of strings, got {type(words).__name__}.")
    if not words or not all(isinstance(w, str) and w.strip() for w in words):
        raise ValueError("`words` must be a non-empty sequence of non-empty strings.")
    check_int("model_max_length", model_max_length, minimum=3, maximum=77, why="CLIP's context of 77 positions")
    return _make(word_merges(words), model_max_length)
