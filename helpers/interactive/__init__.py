"""Interactive figures as Vega-Lite specs: sliders that recompute in the reader's browser.

Every builder returns an Altair chart whose parameters are bound to labelled
controls (range sliders). Everything that moves is computed *in the spec*, from a
closed form written as a Vega expression or from data precomputed here on a grid;
no Python runs when the reader moves a control, so the same chart works on the
static web page, in JupyterLab and in a downloaded notebook.

The closed forms used in the specs are also available as plain Python functions
(:func:`naive_coverage`, :func:`variance_shares`, :func:`var_y_given_x`,
:func:`pooled_estimates`; the shrinkage weight is
:func:`helpers.widgets.shrinkage_point`), and the tests evaluate the spec's
expressions against them.

Display. Importing this module registers an Altair renderer ``"book"`` and
enables it unless another renderer was chosen. Its output carries

* ``application/vnd.vegalite.v5+json``: the spec, which JupyterLab (and Notebook 7)
  renders live with the copy of Vega it ships (no network);
* ``text/plain``: the chart's description.

There is deliberately no ``text/html``: JupyterLab ranks HTML above Vega-Lite and
would show the (sanitised, script-less) HTML instead of the live chart. On the
book's pages the MyST-NB plugin :class:`MystNbLabSpec` turns the Vega-Lite output
into the page's HTML (:func:`chart_html`): the spec in a ``<div class="book-vega">``
with a text fallback, drawn by the site's own copies of vega, vega-lite and
vega-embed (``book/_ext/vegacharts.py``).

Where each piece is (one module per chapter; the shared pieces apart):

* :mod:`~helpers.interactive.ch01` design effect (``design_effect_chart``, ``naive_coverage``);
  :mod:`~helpers.interactive.ch02` no-pooling funnel; :mod:`~helpers.interactive.ch03`
  random intercepts (and ``variance_shares``); :mod:`~helpers.interactive.ch04` random
  slopes (and ``var_y_given_x``) and the simple slopes of a cross-level interaction
  (``simple_slope_chart``); :mod:`~helpers.interactive.ch05` shrinkage and pooling
  (and ``pooled_estimates``); :mod:`~helpers.interactive.ch06` the raw slope as a blend of
  within and between slopes (``within_between_blend``); :mod:`~helpers.interactive.ch07` the
  correlation of a person's occasions (``occasion_correlation``); :mod:`~helpers.interactive.ch08` power at a budget
  (``cluster_trial_power``, ``optimal_group_size``); :mod:`~helpers.interactive.ch09`
  the conditional mode of a binary-outcome group (``eb_logit_mode``);
  :mod:`~helpers.interactive.ch10` the variance shares and intraclass correlations
  of three levels (``three_level_iccs``).
* ``_shared``: sizes and colours, input checks, :func:`slider`, :func:`on_grid`,
  computed text, the finishing touches every chart gets.
* ``_display``: the ``"book"`` renderer, :func:`chart_html`, :class:`MystNbLabSpec`.

A chapter module imports ``_shared`` (and :mod:`helpers.plots`, and for chapter 5
:mod:`helpers.shrinkage`); nothing else of ``helpers`` imports this package.
Every public name is re-exported here: ``helpers.interactive.slider`` and
``hp.interactive.pooling_chart`` work as before the split.
"""

from __future__ import annotations

# The display pieces and the constants are public too (not in __all__), as before the split.
from ._display import LAB_MIME as LAB_MIME
from ._display import MystNbLabSpec as MystNbLabSpec
from ._display import book_renderer as book_renderer
from ._display import chart_html as chart_html
from ._display import spec_for_lab as spec_for_lab
from ._shared import FONT as FONT
from ._shared import TEXT as TEXT
from ._shared import WIDTH as WIDTH
from ._shared import Z975 as Z975
from ._shared import on_grid, slider
from .ch01 import design_effect_chart, naive_coverage
from .ch02 import no_pooling_funnel_chart
from .ch03 import random_intercepts_chart, variance_shares
from .ch04 import random_slopes_chart, simple_slope_chart, var_y_given_x
from .ch05 import pooled_estimates, pooling_chart, shrinkage_chart
from .ch06 import within_between_blend, within_between_chart
from .ch07 import occasion_correlation, occasion_correlation_chart
from .ch08 import cluster_trial_power, optimal_group_size, power_budget_chart
from .ch09 import NEWTON_CLAMP as NEWTON_CLAMP
from .ch09 import NEWTON_STEPS as NEWTON_STEPS
from .ch09 import eb_logit_mode, log_odds_shrinkage_chart
from .ch10 import three_level_chart, three_level_iccs

__all__ = [
    "cluster_trial_power",
    "design_effect_chart",
    "eb_logit_mode",
    "log_odds_shrinkage_chart",
    "naive_coverage",
    "no_pooling_funnel_chart",
    "occasion_correlation",
    "occasion_correlation_chart",
    "on_grid",
    "optimal_group_size",
    "pooled_estimates",
    "pooling_chart",
    "power_budget_chart",
    "random_intercepts_chart",
    "random_slopes_chart",
    "shrinkage_chart",
    "simple_slope_chart",
    "slider",
    "three_level_chart",
    "three_level_iccs",
    "var_y_given_x",
    "variance_shares",
    "within_between_blend",
    "within_between_chart",
]
