r"""The bilingual glossary: every technical term the lessons teach, in Japanese and English.

This tuple is the single source of truth. The glossary pages (``docs/glossary.ja.md`` and
``docs/glossary.en.md``) hold only an introduction and the marker
``<!-- glossary-table -->``, which the MkDocs hook ``hooks/glossary.py`` replaces with
:func:`render_glossary` for the language being built; ``tests/test_glossary.py`` checks
that every term really is used, in its language, on the lesson pages.

=================  ===================================================================
field              meaning
=================  ===================================================================
``ja``, ``en``     the term as the glossary shows it
``symbol``         LaTeX for the symbol the lessons use ("" when none)
``definition_*``   one line, written for this glossary
``first_page``     the page, inside ``docs/`` and without language, that first teaches it
``ja_variants``    other spellings that count as using the term on a Japanese page
``en_variants``    the same for English pages (matched case-insensitively)
=================  ===================================================================

``WRONG_VARIANTS`` maps spellings that must not appear in the docs to the right ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = [
    "LESSON_ORDER",
    "TERMS",
    "WRONG_VARIANTS",
    "Term",
    "render_glossary",
    "terms_on_page",
]

GD = "lessons/gradient-descent.md"
DIFFUSION = "lessons/diffusion.md"
SD = "lessons/stable-diffusion.md"

#: Pages in teaching order; the glossary is grouped in this order.
LESSON_ORDER = (GD, DIFFUSION, SD)

#: Misspellings seen in Japanese material -> the term this course uses.
WRONG_VARIANTS = {
    "連鎖率": "連鎖律",
    "グラデーションディセント": "勾配降下法",
}


@dataclass(frozen=True)
class Term:
    """One glossary entry (see the module docstring for the fields)."""

    ja: str
    en: str
    symbol: str
    definition_ja: str
    definition_en: str
    first_page: str
    ja_variants: tuple[str, ...] = ()
    en_variants: tuple[str, ...] = ()

    def forms(self, lang: str) -> tuple[str, ...]:
        """Every spelling that counts as the term on a page in ``lang``."""
        if lang == "ja":
            return (self.ja, *self.ja_variants)
        if lang == "en":
            return (self.en, *self.en_variants)
        raise ValueError(f"`lang` must be 'ja' or 'en', got {lang!r}.")

    def used_in(self, text: str, lang: str) -> bool:
        """True when ``text`` contains one of the term's forms for ``lang``."""
        if lang == "en":
            low = text.lower()
            return any(form.lower() in low for form in self.forms(lang))
        return any(form in text for form in self.forms(lang))


_ALPHA_BAR = (r"\bar\alpha_t", r"\bar{\alpha}_t", r"\bar\alpha", r"\bar{\alpha}", "alpha_bar", "ᾱ")

TERMS: tuple[Term, ...] = (
    # ------------------------------------------------------------------ lesson 1
    Term(
        "微分", "derivative", r"\frac{df}{dx}",
        "入力をごくわずか動かしたとき、出力がその何倍動くか。その点での瞬間の傾き。",
        "The instantaneous slope at a point: how many times as far the output moves "
        "when the input moves a tiny amount.",
        GD,
    ),
    Term(
        "導関数", "derivative function", r"f'(x)",
        "各点での微分の値を、その点の関数として書いたもの。$x^2$ なら $2x$。",
        "The derivative written as a function of the point; for $x^2$ it is $2x$.",
        GD,
    ),
    Term(
        "接線", "tangent", "",
        "曲線に一点で触れる直線。その傾きが、その点での微分に等しい。",
        "The straight line that touches a curve at one point; its slope equals the derivative there.",
        GD,
    ),
    Term(
        "割線", "secant", r"\frac{f(b)-f(a)}{b-a}",
        "曲線上の2点を結ぶ直線。傾きは2点のあいだの平均変化率で、幅を縮めると接線の傾きに近づく。",
        "The line through two points of a curve; its slope is the average rate of change "
        "between them, and it tends to the tangent's slope as the gap shrinks.",
        GD,
        ja_variants=("平均変化率",),
        en_variants=("average rate of change",),
    ),
    Term(
        "中心差分", "central difference", r"\frac{f(x+h)-f(x-h)}{2h}",
        "左右に同じ幅 $h$ をとった割線の傾きで微分を近似する方法。誤差はおよそ $h^2$ に比例する。",
        "Estimating the derivative by the slope between $x-h$ and $x+h$; "
        "the error shrinks roughly like $h^2$.",
        GD,
    ),
    Term(
        "偏微分", "partial derivative", r"\frac{\partial L}{\partial w_i}",
        "ほかの変数をすべて固定し、1つの変数だけを動かしたときの傾き。",
        "The slope along one variable while every other variable is held fixed.",
        GD,
    ),
    Term(
        "勾配", "gradient", r"\nabla L",
        "すべての変数についての偏微分を並べたベクトル。関数が最も急に増える向きを指す。",
        "The vector of all partial derivatives; it points where the function rises fastest.",
        GD,
    ),
    Term(
        "損失関数", "loss function", "L",
        "予測と正解のずれを1つの数にまとめる関数。学習はこの値を小さくすることを目指す。",
        "A function that scores the mismatch between predictions and the truth as one number; "
        "training tries to make it small.",
        GD,
        ja_variants=("損失",),
        en_variants=("loss",),
    ),
    Term(
        "平均二乗誤差", "mean squared error", r"\frac{1}{N}\sum_i (\hat y_i - y_i)^2",
        "予測と実測の差を2乗して平均した損失(MSE)。大きなずれほど重く数える。",
        "The loss that averages the squared differences between predictions and "
        "measurements (MSE); large misses count heavily.",
        GD,
        ja_variants=("MSE",),
        en_variants=("MSE",),
    ),
    Term(
        "パラメータ", "parameter", r"w,\ b,\ \theta",
        "モデルの中にあり、学習によって値が決まる数。調整つまみにたとえられる。",
        "A number inside the model whose value is set by training; a dial that learning turns.",
        GD,
    ),
    Term(
        "重み", "weight", "w",
        "入力に掛け算されるパラメータ。直線 $\\hat y = wx + b$ では傾き。",
        "A parameter that multiplies an input, such as the slope $w$ of the line $\\hat y = wx + b$.",
        GD,
    ),
    Term(
        "バイアス", "bias", "b",
        "入力によらずに足されるパラメータ。直線 $\\hat y = wx + b$ では切片。",
        "A parameter added whatever the input, such as the intercept $b$ of the line $\\hat y = wx + b$.",
        GD,
    ),
    Term(
        "勾配降下法", "gradient descent", r"\mathbf{w} \leftarrow \mathbf{w} - \eta \nabla L",
        "勾配の逆向きに少しずつパラメータを動かすことを繰り返し、損失を下げていく方法。",
        "Lowering the loss by moving the parameters a small step against the gradient, again and again.",
        GD,
    ),
    Term(
        "学習率", "learning rate", r"\eta",
        "勾配降下法の一歩の大きさを決める係数。大きすぎると振動や発散が起きる。",
        "The factor that sets the size of each gradient-descent step; "
        "too large and training oscillates or diverges.",
        GD,
    ),
    Term(
        "ハイパーパラメータ", "hyperparameter", "",
        "学習では決まらず、人が前もって決める設定値。学習率やエポック数など。",
        "A setting people choose before training instead of learning it, "
        "such as the learning rate or the number of epochs.",
        GD,
    ),
    Term(
        "エポック", "epoch", "",
        "学習データ全体を1回ずつ使い切る学習の単位。直線の当てはめでは更新1回にあたる。",
        "One pass of training over the whole data set; in the line fit of lesson 1 it is one update.",
        GD,
    ),
    Term(
        "連鎖律", "chain rule", r"\frac{dy}{dx} = \frac{dy}{du}\,\frac{du}{dx}",
        "合成関数の微分は各段の局所的な傾きの積になる、という規則(「連鎖率」と書くのは誤記)。",
        "The derivative of functions applied in a chain is the product of each stage's local slope.",
        GD,
    ),
    Term(
        "誤差逆伝播法", "backpropagation", "",
        "連鎖律を損失の側から入力の側へ順に当てはめ、全パラメータの勾配を一度の逆向き計算でそろえる方法。",
        "Applying the chain rule from the loss back towards the input, which yields the gradient "
        "of every parameter in one backward pass.",
        GD,
        ja_variants=("逆伝播",),
    ),
    Term(
        "計算グラフ", "computational graph", "",
        "計算の各段を節点、値の流れを矢印で描いた図。逆伝播はこれを逆向きにたどる。",
        "A diagram of a computation with a node for each stage and arrows for the values; "
        "backpropagation walks it backwards.",
        GD,
        en_variants=("computation graph",),
    ),
    Term(
        "自動微分", "automatic differentiation", "",
        "プログラムが行った計算を記録し、連鎖律で勾配を自動で求める仕組み(PyTorch の autograd など)。",
        "Recording the operations a program performs and getting gradients from them by the "
        "chain rule, as PyTorch's autograd does.",
        GD,
        ja_variants=("autograd",),
        en_variants=("autograd",),
    ),
    Term(
        "最小二乗法", "least squares", "",
        "二乗誤差の和を最小にするパラメータを、連立一次方程式を解いて一度に求める方法。",
        "Finding the parameters that minimise the sum of squared errors in one go, "
        "by solving linear equations.",
        GD,
        ja_variants=("最小二乗",),
        en_variants=("least-squares",),
    ),
    Term(
        "ヘッセ行列", "Hessian", "H",
        "2階の偏微分を並べた行列。損失の面の曲がり具合を表し、最大固有値が学習率の上限を決める。",
        "The matrix of second partial derivatives: how the loss surface curves. "
        "Its largest eigenvalue caps the learning rate.",
        GD,
    ),
    Term(
        "収束", "convergence", "",
        "更新を繰り返すうちに、値がある一点(ここでは最小点)に近づいていくこと。",
        "Iterates settling towards one point, here the minimum, as the updates repeat.",
        GD,
        en_variants=("converge",),
    ),
    Term(
        "振動", "oscillation", "",
        "一歩ごとに最小点を飛び越え、反対側との間を行き来すること。振れ幅が縮めば収束する。",
        "Overshooting the minimum at every step and jumping from side to side; "
        "it still converges if the swings shrink.",
        GD,
        en_variants=("oscillat",),
    ),
    Term(
        "発散", "divergence", "",
        "更新のたびに最小点から遠ざかり、値や損失が際限なく大きくなること。",
        "Iterates moving further from the minimum at every update, "
        "so that values and the loss grow without bound.",
        GD,
        en_variants=("diverge",),
    ),
    # ------------------------------------------------------------------ lesson 2: DDPM
    Term(
        "拡散モデル", "diffusion model", "",
        "データに少しずつノイズを加える過程を逆にたどることを学び、ノイズから新しいデータを作る生成モデル。",
        "A generative model that learns to undo a gradual noising process, "
        "so that it can turn pure noise into new data.",
        DIFFUSION,
    ),
    Term(
        "拡散過程", "forward process", r"q(x_t \mid x_{t-1})",
        "決まった手順で画像にガウスノイズを少しずつ加え、最後はほぼ純粋なノイズにする過程。学習は要らない。",
        "The fixed procedure that adds Gaussian noise step by step until the image is almost "
        "pure noise; nothing in it is learned.",
        DIFFUSION,
        ja_variants=("順過程", "前向き過程", "前方過程"),
        en_variants=("forward diffusion", "noising process"),
    ),
    Term(
        "復元過程", "reverse process", r"p_\theta(x_{t-1} \mid x_t)",
        "ノイズを1段ずつ取り除いてデータへ戻す過程。ニューラルネットワークが学ぶのはこちら。",
        "Removing the noise one step at a time to get back to data; "
        "this is the part the neural network learns.",
        DIFFUSION,
        ja_variants=("逆過程", "逆拡散過程", "逆拡散"),
        en_variants=("reverse diffusion", "denoising process"),
    ),
    Term(
        "ノイズスケジュール", "noise schedule", r"\beta_t",
        "各時刻に加えるノイズの分散 $\\beta_t$ を並べたもの。線形スケジュールなら $10^{-4}$ から 0.02 まで。",
        "The list of variances $\\beta_t$ saying how much noise each step adds; "
        "the linear schedule runs from $10^{-4}$ to 0.02.",
        DIFFUSION,
        en_variants=("beta schedule",),
    ),
    Term(
        "ᾱ_t(アルファバー)", "ᾱ_t (alpha-bar)", r"\bar\alpha_t = \prod_{s=1}^{t} (1-\beta_s)",
        "時刻 $t$ までに元の画像の信号が何割残るか(分散の割合)。1 から 0 へ単調に減る。",
        "The share of the original image's signal (as variance) left at step $t$; "
        "it falls steadily from 1 towards 0.",
        DIFFUSION,
        ja_variants=_ALPHA_BAR,
        en_variants=_ALPHA_BAR,
    ),
    Term(
        "ガウスノイズ", "Gaussian noise", r"\varepsilon \sim \mathcal{N}(0, I)",
        "平均 0・分散 1 の正規分布から、画素ごとに独立に引いた乱数。",
        "Random numbers drawn independently for every pixel from a normal distribution "
        "with mean 0 and variance 1.",
        DIFFUSION,
        ja_variants=("ガウス雑音",),
    ),
    Term(
        "DDPM", "DDPM", r"\varepsilon_\theta(x_t, t)",
        "Ho ら(2020)の拡散モデル。加えたノイズ $\\varepsilon$ を当てるように学習し、祖先サンプリングで生成する。",
        "The denoising diffusion probabilistic model of Ho et al. (2020): trained to predict the "
        "added noise $\\varepsilon$ and sampled by ancestral sampling.",
        DIFFUSION,
    ),
    Term(
        "DDIM", "DDIM", r"\tau",
        "DDPM と同じ学習済みネットワークで時刻を飛ばし、少ない段数で生成するサンプラー(Song ら 2021)。",
        "A sampler (Song et al. 2021) that reuses a DDPM-trained network but skips steps, "
        "so far fewer network calls are needed.",
        DIFFUSION,
    ),
    Term(
        "U-Net", "U-Net", "",
        "解像度を下げて全体をとらえ、上げながら細部を戻す、スキップ接続つきの画像用ネットワーク。ノイズの予測に使う。",
        "An image network that shrinks the image to see context and enlarges it again to restore "
        "detail, with skip connections; here it predicts the noise.",
        DIFFUSION,
        ja_variants=("UNet",),
        en_variants=("UNet",),
    ),
    Term(
        "時刻埋め込み", "time embedding", "",
        "時刻 $t$ をベクトルに変えてネットワークに渡し、入力にどれだけノイズが乗っているかを知らせる仕組み。",
        "Turning the step $t$ into a vector the network reads, "
        "so that it knows how noisy its input is.",
        DIFFUSION,
        ja_variants=("タイムステップ埋め込み", "時間埋め込み", "時刻の埋め込み"),
        en_variants=("timestep embedding", "time-step embedding"),
    ),
    Term(
        "祖先サンプリング", "ancestral sampling", "",
        "学習した復元過程の分布から、$x_T, x_{T-1}, \\ldots, x_0$ と1段ずつ乱数を引いて生成する方法。",
        "Generating by drawing $x_T, x_{T-1}, \\ldots, x_0$ one step at a time "
        "from the learned reverse distributions.",
        DIFFUSION,
        ja_variants=("祖先的サンプリング",),
    ),
    Term(
        "EMA", "EMA", r"\bar\theta \leftarrow d\,\bar\theta + (1-d)\,\theta",
        "学習中の重みの指数移動平均。これを使って生成すると画像が安定しやすい。",
        "An exponential moving average of the weights during training; "
        "samples drawn with it are usually cleaner.",
        DIFFUSION,
        ja_variants=("指数移動平均",),
        en_variants=("exponential moving average",),
    ),
    # ------------------------------------------------------------------ lesson 2: Stable Diffusion
    Term(
        "潜在空間", "latent space", "z",
        "画像を小さな数値の配列に圧縮した先の空間。Stable Diffusion はこの中で拡散を行う。",
        "The space of small arrays that images are compressed into; "
        "Stable Diffusion runs its diffusion there.",
        SD,
    ),
    Term(
        "潜在拡散", "latent diffusion", "",
        "画素ではなく潜在空間で拡散モデルを動かし、計算量を大きく減らす方法(Rombach ら 2022)。",
        "Running the diffusion model in latent space instead of on pixels, "
        "which cuts the computation sharply (Rombach et al. 2022).",
        SD,
    ),
    Term(
        "VAE(変分オートエンコーダ)", "VAE (variational autoencoder)", "",
        "画像を潜在表現に圧縮するエンコーダと、潜在表現から画像に戻すデコーダの組。",
        "A pair of networks: an encoder that compresses images into latents "
        "and a decoder that turns latents back into images.",
        SD,
        ja_variants=("VAE", "変分オートエンコーダ"),
        en_variants=("VAE", "variational autoencoder"),
    ),
    Term(
        "CLIP", "CLIP", "",
        "画像と文章を同じ空間に写すよう学習したモデル。Stable Diffusion はそのテキストエンコーダを使う。",
        "A model trained to map images and text into one shared space; "
        "Stable Diffusion uses its text encoder.",
        SD,
    ),
    Term(
        "テキストエンコーダ", "text encoder", "",
        "プロンプトのトークン列を、U-Net が参照する埋め込みベクトルの列に変えるネットワーク。",
        "The network that turns the prompt's tokens into a sequence of embedding vectors "
        "for the U-Net to consult.",
        SD,
        ja_variants=("テキストエンコーダー",),
        en_variants=("text_encoder",),
    ),
    Term(
        "トークン", "token", "",
        "文章を区切った単位。単語や単語の一部に番号を振ったもの。",
        "A unit of text, a word or a piece of one, identified by an integer id.",
        SD,
    ),
    Term(
        "プロンプト", "prompt", "",
        "作りたい画像を文章で伝える入力。",
        "The text that describes the image to generate.",
        SD,
    ),
    Term(
        "クロスアテンション", "cross-attention", "",
        "U-Net の各位置が、プロンプトのどのトークンの埋め込みをどれだけ取り込むかを重みづけする層。",
        "The layer through which each position of the U-Net weighs the prompt's token "
        "embeddings and takes in what it needs.",
        SD,
        ja_variants=("クロス・アテンション", "交差注意"),
        en_variants=("cross attention",),
    ),
    Term(
        "分類器なしガイダンス", "classifier-free guidance",
        r"\hat\epsilon = \epsilon_u + s\,(\epsilon_c - \epsilon_u)",
        "条件なしと条件ありのノイズ予測の差を拡大し、プロンプトへの忠実さを強める方法。",
        "Pushing the noise prediction beyond the unconditional one, towards and past the "
        "prompt-conditioned one, so that the image follows the prompt more closely.",
        SD,
        ja_variants=("classifier-free guidance",),
        en_variants=("classifier free guidance",),
    ),
    Term(
        "ガイダンススケール", "guidance scale", "s",
        "分類器なしガイダンスで、条件ありと条件なしの差を何倍に広げるかを決める係数。",
        "The factor by which classifier-free guidance scales the difference between the "
        "conditional and the unconditional prediction.",
        SD,
        ja_variants=("guidance_scale",),
        en_variants=("guidance_scale",),
    ),
)


# --------------------------------------------------------------------- rendering

_HEAD = {
    "ja": ("用語", "English", "記号", "意味", "初出"),
    "en": ("Term", "日本語", "Symbol", "Meaning", "First taught in"),
}
_PENDING = {"ja": "準備中", "en": "in preparation"}


def terms_on_page(page: str) -> list[Term]:
    """The terms first taught on ``page`` (e.g. ``"lessons/gradient-descent.md"``)."""
    return [t for t in TERMS if t.first_page == page]


def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


def render_glossary(
    lang: str,
    *,
    title_of: Callable[[str], str | None] = lambda page: None,
    link_prefix: str = "",
    pages: Iterable[str] = LESSON_ORDER,
) -> str:
    """The glossary as Markdown: one table per lesson, in teaching order.

    Args:
        lang: ``"ja"`` or ``"en"``: the language of the page being built.
        title_of: Returns a page's title in ``lang``, or None when the page does not exist
            yet; such a page is named "in preparation" and not linked (a link to a missing
            page would fail the strict build).
        link_prefix: Prepended to ``first_page`` to link it from the glossary page.
        pages: The pages to include, in order.
    """
    if lang not in _HEAD:
        raise ValueError(f"`lang` must be 'ja' or 'en', got {lang!r}.")
    out: list[str] = []
    for page in pages:
        terms = terms_on_page(page)
        if not terms:
            continue
        title = title_of(page)
        name = page.rsplit("/", 1)[-1].removesuffix(".md")
        heading = title or f"{name} ({_PENDING[lang]})"
        # The heading carries the full title; the column repeats only its first part.
        short = title.split(" — ")[0].strip() if title else ""
        link = f"[{_cell(short)}]({link_prefix}{page})" if title else _cell(heading)
        out += [f"## {heading}", "", "| " + " | ".join(_HEAD[lang]) + " |", "|---|---|---|---|---|"]
        for t in terms:
            first, other = (t.ja, t.en) if lang == "ja" else (t.en, t.ja)
            symbol = f"${t.symbol}$" if t.symbol else "—"
            definition = t.definition_ja if lang == "ja" else t.definition_en
            out.append(
                f"| **{_cell(first)}** | {_cell(other)} | {_cell(symbol)} "
                f"| {_cell(definition)} | {link} |"
            )
        out.append("")
    return "\n".join(out)


def page_title(markdown: str) -> str | None:
    """The first level-1 heading of a Markdown page, without attribute lists."""
    m = re.search(r"^# (.+?)\s*(?:\{[^}]*\})?\s*$", markdown, re.M)
    return m.group(1).strip() if m else None
