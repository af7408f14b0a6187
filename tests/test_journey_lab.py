"""Journey: a reader runs a chapter in JupyterLab (`make lab`), in a real browser.

JupyterLab of the book's environment is started on 127.0.0.1 (as `make lab` does, with
the settings `make setup` writes), a chapter's `.md` file is opened as a user would,
it opens as a notebook (jupytext's default viewer), its MyST renders (jupyterlab-myst),
and "Run All" executes every cell without an error.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "chapters/04-random-slopes.md"  # no simulation loop: the quickest to run
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1, serving a copy of the chapters; yields (url, token)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed")
    sys.path.insert(0, str(ROOT / "tools"))
    import lab_settings

    settings = lab_settings.write()  # what `make setup` does
    assert json.loads(settings.read_text())["@jupyterlab/docmanager-extension:plugin"]
    home = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "chapters", home / "chapters", ignore=shutil.ignore_patterns("*.ipynb"))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTERLAB_SETTINGS_DIR=str(home / ".jupyter" / "lab" / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / ".jupyter" / "lab" / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(home / ".runtime"),
    )
    log = open(home / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={home}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            assert proc.poll() is None, (home / "lab.log").read_text()
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not start within 120 s:\n" + (home / "lab.log").read_text())
    yield url, token
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _drawing(chart):
    return chart.evaluate(
        "el => { const c = el.querySelector('canvas');"
        " return c ? c.toDataURL() : el.querySelector('svg').outerHTML; }"
    )


def _check_the_chart_is_live(page) -> dict:
    """The chapter's chart (helpers.interactive) is drawn by JupyterLab's own Vega-Lite
    renderer (no request leaves 127.0.0.1: the page's route guard records any) and a
    slider changes the drawing."""
    chart = page.locator(".jp-OutputArea-output.jp-RenderedVegaLite").first
    chart.scroll_into_view_if_needed(timeout=30_000)
    page.wait_for_function(
        "() => { const el = document.querySelector('.jp-RenderedVegaLite');"
        " return el && el.querySelector('canvas, svg') && el.querySelector('input[type=range]'); }",
        timeout=60_000,
    )
    # the HTML fallback of the page renderer is not what JupyterLab shows
    assert page.locator(".jp-NotebookPanel .book-vega").count() == 0
    kind = chart.evaluate("el => el.querySelector('canvas') ? 'canvas' : 'svg'")
    slider = chart.locator("input[type=range]").first
    label = chart.locator(".vega-bind-name").first.inner_text()
    before = _drawing(chart)
    low, high = (float(slider.get_attribute(a)) for a in ("min", "max"))
    value = float(slider.input_value())
    slider.fill(str(low if value > (low + high) / 2 else high))
    page.wait_for_timeout(500)
    assert _drawing(chart) != before, f"moving {label!r} did not change the chart"
    return {"kind": kind, "label": label}


def test_chapter_opens_as_notebook_renders_myst_and_runs_all_cells(lab):
    from playwright.sync_api import sync_playwright

    url, token = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        escaped = []

        def guard(route):
            if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
                route.continue_()
            else:
                escaped.append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        page.goto(f"{url}/lab?token={token}", wait_until="domcontentloaded")
        # As a reader does: double-click the folder, then the chapter, in the file browser.
        folder, name = CHAPTER.split("/")
        page.locator(".jp-DirListing-item", has_text=folder).first.dblclick(timeout=90_000)
        page.locator(".jp-DirListing-item", has_text=name).first.dblclick(timeout=30_000)
        # It opens as a notebook (jupytext's viewer), not in the text editor.
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
        assert page.locator(".jp-FileEditor").count() == 0
        # MyST is rendered by jupyterlab-myst: no raw directive fences, math typeset.
        page.wait_for_selector(".jp-MarkdownCell .myst", timeout=60_000)
        text = page.locator(".jp-NotebookPanel").first.inner_text()
        assert ":::{" not in text and "```{" not in text
        # The kernel is ready, then Run All.
        page.wait_for_function(
            "() => { const w = window.jupyterapp.shell.currentWidget;"
            " return w && w.sessionContext && w.sessionContext.session"
            " && w.sessionContext.session.kernel"
            " && w.sessionContext.session.kernel.status === 'idle'; }",
            timeout=120_000,
        )
        start = time.perf_counter()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(
            """() => {
                const nb = window.jupyterapp.shell.currentWidget.content;
                const code = nb.widgets.filter(c => c.model.type === 'code');
                return code.length > 0 && code.every(c => {
                    const n = c.model.executionCount;
                    return n !== null && n !== undefined;
                }) && window.jupyterapp.shell.currentWidget.sessionContext
                    .session.kernel.status === 'idle';
            }""",
            timeout=300_000,
            polling=1000,
        )
        elapsed = time.perf_counter() - start
        summary = page.evaluate(
            """() => {
                const nb = window.jupyterapp.shell.currentWidget.content;
                const cells = nb.widgets.filter(c => c.model.type === 'code');
                const errors = [], printed = [];
                for (const c of cells) {
                    const outs = c.model.outputs.toJSON();
                    for (const o of outs) {
                        if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
                        if (o.output_type === 'stream') printed.push([].concat(o.text).join(''));
                    }
                }
                return {cells: cells.length, errors: errors, printed: printed.join('')};
            }"""
        )
        chart = _check_the_chart_is_live(page)
        browser.close()
    print(f"ran {summary['cells']} code cells of {CHAPTER} in JupyterLab in {elapsed:.0f} s")
    print(f"the chapter's Vega-Lite chart drew a {chart['kind']} and redrew for {chart['label']!r}")
    assert summary["cells"] > 5
    assert summary["errors"] == []
    # The numbers the text takes from the code are printed where they are computed
    # (helpers.book.share outside the book build), e.g. "var_own = 0.123456".
    shared = re.findall(r"^([A-Za-z_]\w*) = \S+", summary["printed"], re.M)
    assert len(shared) >= 5, summary["printed"][:500]
    assert escaped == []
