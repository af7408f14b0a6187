"""Controls that need Python: a model refitted live in a notebook (ipywidgets).

What a closed form can show is drawn by the Vega-Lite charts of
:mod:`helpers.interactive`, which work on the static site and in a notebook alike
(the shrinkage explorer is :func:`helpers.interactive.shrinkage_chart`). What needs
a new fit — drop a class, subsample it, add or remove a random slope, switch
between ML and REML — is :class:`RefitExplorer`, which needs a running kernel.
:func:`shrinkage_point` and :func:`draw_shrinkage` give the explorer's geometry
and a static matplotlib drawing of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .plots import OKABE_ITO

__all__ = ["RefitExplorer", "draw_shrinkage", "refit_explorer", "shrinkage_point"]


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


class RefitExplorer:
    """Refit a two-level model as the reader changes the data or the model.

    Controls (``controls``): the class in focus; how many of its pupils to keep (a
    seeded subsample); whether to drop it; a random slope for ``predictor`` or
    not; ML or REML. Every change refits with :func:`helpers.fit_lmm` and redraws
    the table in ``output``; the current fit is ``fit`` and the rows used are
    ``data_used``. Display the explorer (``display(ex)`` or as a cell's last value)
    in a live notebook; on a static page it would be a dead control.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        outcome: str = "popular",
        predictor: str = "extrav",
        group: str = "class",
        focus=None,
        seed: int = 1,
    ):
        import ipywidgets as w

        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}.")
        missing = [c for c in (outcome, predictor, group) if c not in data.columns]
        if missing:
            raise ValueError(
                f"Column(s) {missing} not in the data; available: {list(data.columns)}. "
                "Pass outcome=, predictor= and group= naming existing columns."
            )
        self.data, self.outcome, self.predictor, self.group = data, outcome, predictor, group
        self.seed = seed
        sizes = data.groupby(group, observed=True).size()
        if len(sizes) < 3:
            raise ValueError(f"Need at least 3 groups in {group!r} to refit, found {len(sizes)}.")
        labels = list(sizes.index)
        if focus is None:
            focus = sizes.idxmin()
        if focus not in labels:
            raise ValueError(f"focus={focus!r} is not a group of {group!r}.")
        self._sizes = sizes
        style = {"description_width": "initial"}
        self.controls = {
            "focus": w.Dropdown(options=labels, value=focus, description="class", style=style),
            "keep": w.IntSlider(
                value=int(sizes[focus]),
                min=1,
                max=int(sizes[focus]),
                step=1,
                description="pupils kept",
                style=style,
            ),
            "drop": w.Checkbox(value=False, description="drop this class"),
            "slope": w.Checkbox(value=False, description=f"random slope for {predictor}"),
            "method": w.ToggleButtons(options=["REML", "ML"], value="REML", description="fit by"),
        }
        self.output = w.Output()
        self.fit = None
        self.data_used = None
        self.controls["focus"].observe(self._new_focus, names="value")
        for key in ("keep", "drop", "slope", "method"):
            self.controls[key].observe(lambda _change: self.refit(), names="value")
        c = self.controls
        self.widget = w.VBox(
            [
                w.HBox([c["focus"], c["keep"], c["drop"]]),
                w.HBox([c["slope"], c["method"]]),
                self.output,
            ]
        )
        self.refit()

    @property
    def formula(self) -> str:
        random = f"1 + {self.predictor}" if self.controls["slope"].value else "1"
        return f"{self.outcome} ~ {self.predictor} + ({random} | {self.group})"

    def _new_focus(self, change):
        n = int(self._sizes[change["new"]])
        keep = self.controls["keep"]
        with keep.hold_trait_notifications():
            keep.max = max(n, keep.min)
            keep.value = n
        self.refit()

    def _rows(self) -> pd.DataFrame:
        c = self.controls
        focus = c["focus"].value
        in_focus = (self.data[self.group] == focus).to_numpy()
        if c["drop"].value:
            return self.data.loc[~in_focus]
        idx = np.flatnonzero(in_focus)
        rng = np.random.default_rng(self.seed)
        kept = np.sort(rng.choice(idx, size=c["keep"].value, replace=False))
        mask = ~in_focus
        mask[kept] = True
        return self.data.loc[mask]

    def summary(self) -> pd.DataFrame:
        """Fixed effects and variance components of the current fit, one row each."""
        m = self.fit
        rows = {f"fixed: {t}": m.fixed.loc[t, "estimate"] for t in m.fixed.index}
        for i, a in enumerate(m.tau.index):
            for b in m.tau.index[: i + 1]:
                name = f"var({a})" if a == b else f"cov({b}, {a})"
                rows[f"random: {name}"] = m.tau.loc[a, b]
        rows["residual variance"] = m.sigma2
        rows["deviance" + (" (REML criterion)" if m.reml else "")] = m.deviance
        return pd.DataFrame({"estimate": rows})

    def refit(self):
        """Fit the model to the current rows and redraw the table."""
        import warnings

        from IPython.display import HTML, display

        from .lmm import fit_lmm

        data = self._rows()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = fit_lmm(self.formula, data, reml=self.controls["method"].value == "REML")
        self.fit, self.data_used = fit, data
        focus = self.controls["focus"].value
        if self.controls["drop"].value:
            note = f"class {focus} left out: {fit.n_groups} classes, {fit.n_obs} pupils."
        else:
            coef = fit.coef().loc[focus]
            lam = fit.reliability().loc[focus]
            note = (
                f"class {focus}: {self.controls['keep'].value} pupils kept; predicted "
                + ", ".join(f"{t} {coef[t]:.3f} (reliability {lam[t]:.2f})" for t in lam.index)
            )
        with self.output:
            self.output.clear_output(wait=True)
            display(HTML(f"<p><code>{self.formula}</code>, {self.controls['method'].value}</p>"))
            display(self.summary().style.format("{:.4f}"))
            display(HTML(f"<p>{note}</p>"))
            for wmsg in caught:
                display(HTML(f"<p><strong>Warning:</strong> {wmsg.message}</p>"))
        return fit

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def refit_explorer(data: pd.DataFrame, **options) -> RefitExplorer:
    """A :class:`RefitExplorer` on ``data`` (keyword options as for the class)."""
    return RefitExplorer(data, **options)
