"""The shrinkage explorer: live in a notebook, small multiples on the static site.

:func:`shrinkage_explorer` needs a running Jupyter kernel (ipywidgets sliders).
:func:`shrinkage_panels` draws the same picture for a grid of settings as an
ordinary figure, which the book's static pages show instead of a dead control.
"""

from __future__ import annotations

import numpy as np

from .plots import OKABE_ITO

__all__ = ["shrinkage_point", "shrinkage_explorer", "shrinkage_panels", "draw_shrinkage"]


def shrinkage_point(n: float, tau00: float, sigma2: float, distance: float) -> dict:
    """Reliability and EB position of a class whose own mean lies ``distance`` from the overall one.

    ``lambda = tau00 / (tau00 + sigma2 / n)``; the EB estimate lies at
    ``lambda * distance`` (the overall mean at 0), pulled by ``(1 - lambda) * distance``.
    """
    for name, v in (("n", n), ("tau00", tau00), ("sigma2", sigma2)):
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a non-negative number, not {v!r}.")
    if n <= 0 or sigma2 <= 0:
        raise ValueError("n and sigma2 must be positive.")
    lam = tau00 / (tau00 + sigma2 / n)
    return {"reliability": lam, "own": distance, "eb": lam * distance, "pull": (1 - lam) * distance}


def draw_shrinkage(ax, n, tau00, sigma2, distance, title=True):
    """One panel: the overall mean, the class's own mean, its EB estimate, and the arrow."""
    p = shrinkage_point(n, tau00, sigma2, distance)
    c = OKABE_ITO
    span = max(abs(distance), 1.0) * 1.25
    ax.axhline(0, color="#999999", lw=1)
    ax.plot([0], [0], "s", color="black", ms=7, label="overall mean")
    ax.plot([p["own"]], [0], "o", color=c["vermillion"], ms=8, label="class's own mean")
    ax.plot([p["eb"]], [0], "o", color=c["blue"], ms=8, label="EB estimate")
    if abs(p["pull"]) > 1e-9:
        ax.annotate(
            "",
            xy=(p["eb"], 0.25),
            xytext=(p["own"], 0.25),
            arrowprops={"arrowstyle": "->", "color": c["blue"], "lw": 1.5},
        )
    ax.set(xlim=(-span, span), ylim=(-0.6, 0.8), yticks=[])
    if title:
        ax.set_title(f"n = {n:g}, λ = {p['reliability']:.2f}", fontsize=10)
    return p


def shrinkage_panels(sizes=(2, 5, 20, 80), ratios=(0.1, 0.5, 2.0), distance=1.5, sigma2=1.0):
    """Small multiples of :func:`draw_shrinkage`: rows are tau00 / sigma2, columns class sizes."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(ratios),
        len(sizes),
        figsize=(2.0 * len(sizes) + 0.8, 1.35 * len(ratios) + 0.6),
        sharex=True,
        squeeze=False,
    )
    for i, ratio in enumerate(ratios):
        for k, n in enumerate(sizes):
            draw_shrinkage(axes[i, k], n, ratio * sigma2, sigma2, distance)
        axes[i, 0].set_ylabel(f"τ/σ² = {ratio:g}", rotation=0, ha="right", va="center")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def shrinkage_explorer():  # pragma: no cover - needs a live kernel and a browser
    """Sliders for n_j, sigma2_u0, sigma2_e and the distance; run in a live notebook."""
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    n = w.IntSlider(value=10, min=1, max=100, description="n_j")
    tau = w.FloatLogSlider(value=0.45, base=10, min=-2, max=1, description="σ²_u0")
    s2 = w.FloatLogSlider(value=0.55, base=10, min=-2, max=1, description="σ²_e")
    dist = w.FloatSlider(value=1.5, min=-3, max=3, step=0.1, description="distance")
    out = w.Output()

    def update(*_):
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6, 1.8))
            p = draw_shrinkage(ax, n.value, tau.value, s2.value, dist.value)
            ax.legend(loc="upper left", ncol=3, fontsize=8, frameon=False)
            plt.show()
            print(
                f"reliability λ = {p['reliability']:.3f}; own mean {p['own']:+.2f}, "
                f"EB {p['eb']:+.2f}, pulled by {p['pull']:+.2f} ({1 - p['reliability']:.0%})"
            )

    for s in (n, tau, s2, dist):
        s.observe(update, names="value")
    update()
    display(w.VBox([w.HBox([n, tau]), w.HBox([s2, dist]), out]))
