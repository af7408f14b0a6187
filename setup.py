"""Build step that ships the book's data inside the wheel.

``data/`` stays the one place where data files live in the repository (codebooks in
``data/datasets.toml``). When a wheel is built, the codebook file and every CSV in
``data/`` are copied into the package as ``helpers/_data/``, so that
``hp.load_dataset`` works wherever the wheel is installed; ``helpers.data`` still
verifies each file's SHA-256 against the codebook when it loads it. Editable installs
(``pip install -e .``, ``make setup``) read ``data/`` directly and copy nothing.
All other metadata is in ``pyproject.toml``.
"""

import shutil
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = Path(__file__).resolve().parent / "data"


def data_files() -> list[Path]:
    """The codebook file and the CSVs of data/; every file the codebook names must exist."""
    with open(DATA / "datasets.toml", "rb") as fh:
        registry = tomllib.load(fh)
    missing = [e["file"] for e in registry.values() if not (DATA / e["file"]).is_file()]
    if missing:
        raise SystemExit(f"data/datasets.toml names files that are not in data/: {missing}")
    return [DATA / "datasets.toml", *sorted(DATA.glob("*.csv"))]


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "helpers" / "_data"
        target.mkdir(parents=True, exist_ok=True)
        for src in data_files():
            shutil.copy2(src, target / src.name)


setup(cmdclass={"build_py": BuildPyWithData})
