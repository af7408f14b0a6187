"""Time one update of the shrinkage explorer (compute and redraw), as a slider change does.

Usage: ``.venv/bin/python benchmarks/bench_widget.py``. The explorer's target is under
100 ms per change; this prints the median over repeated updates at varied settings.
"""

from __future__ import annotations

import io
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from helpers.widgets import draw_shrinkage


def main(repeats: int = 40) -> None:
    fig, ax = plt.subplots(figsize=(6, 1.8))
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        ax.clear()
        draw_shrinkage(ax, n=1 + k % 50, tau00=0.45, sigma2=0.55, distance=-2 + 0.1 * k)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")  # what the inline backend sends to the browser
        times.append(time.perf_counter() - start)
    ms = sorted(1000 * t for t in times)
    print(
        f"explorer update: median {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms "
        f"over {repeats} updates (target: under 100 ms)"
    )


if __name__ == "__main__":
    main()
