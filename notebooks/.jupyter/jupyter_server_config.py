"""Jupyter server settings for `make lab` (the Makefile puts this folder on JUPYTER_CONFIG_PATH).

On save, drop the notebook metadata that describes the machine rather than the notebook:
``language_info`` (JupyterLab copies it from the running kernel, with the Python version, e.g.
3.11.7), so that opening a notebook and saving it leaves the stored files byte for byte as they
are (tests/notebooks/test_jupyterlab.py checks it). Everything else is saved as JupyterLab and
jupytext write it; notebooks/jupytext.toml keeps version stamps out of the paired .py files.
"""


def drop_machine_metadata(model, **kwargs):
    """A ContentsManager pre-save hook: remove ``language_info`` from a notebook model."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        model["content"].get("metadata", {}).pop("language_info", None)


c = get_config()  # noqa: F821 - provided by traitlets when it loads this file
c.ContentsManager.pre_save_hook = drop_machine_metadata
