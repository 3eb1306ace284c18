"""Sphinx configuration of the sem_sionna documentation.

Build: ``sphinx-build -W -b html docs docs/_build/html`` (the tutorials in
``docs/tutorials/`` are executed by sphinx-gallery during the build).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

# quiet TensorFlow's C++ logging; tutorials run on the CPU unless a GPU is visible
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import sem_sionna  # noqa: E402

project = "sem_sionna"
author = "sem_sionna authors"
copyright = "sem_sionna authors"
release = version = sem_sionna.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
    "sem_docstrings",
    "sem_results",
    "sem_experiments",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/README.rst"]
root_doc = "index"

# -- autodoc / autosummary / napoleon ------------------------------------------------
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_class_signature = "mixed"
autodoc_inherit_docstrings = False  # never show Keras' own docstrings on our classes
autosummary_generate = False
autoclass_content = "class"

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_param = True
napoleon_use_rtype = False
napoleon_use_ivar = True
napoleon_preprocess_types = False
# Sionna's sections: "Input" lists call arguments, "Output" the returned tensors
napoleon_custom_sections = [("Input", "params_style"), ("Output", "returns_style"),
                            ("Fields", "params_style")]

# -- sphinx-gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["tutorials"],
    "gallery_dirs": ["generated/tutorials"],
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "capture_repr": ("_repr_html_", "__repr__"),
    "show_memory": False,
    "min_reported_time": 0,
}

# -- HTML ---------------------------------------------------------------------------
html_theme = "furo"
html_title = f"sem_sionna {release}"
html_static_path = []
