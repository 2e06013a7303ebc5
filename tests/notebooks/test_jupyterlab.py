"""JupyterLab really opens the notebooks: 02_short_vs_long_term runs in a browser and shows a
forest plot, and opening and saving any notebook leaves its stored pair byte for byte unchanged.

Starts ``jupyter lab`` (from the running interpreter's bin folder) on a free local port with a
token, configured as ``make lab`` configures it (notebooks/.jupyter first on
JUPYTER_CONFIG_PATH, notebooks/jupytext.toml beside the notebooks), serving a temporary copy of
notebooks/, data/ and evidence/ (so autosave can never write into the committed notebooks), opens
the notebooks in Debian's headless Chromium through Playwright (no browser download). Outside CI
the tests skip when Chromium is missing; with ``CI=true`` a missing Chromium is a failure
(``.ci/run`` installs it).
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nb_paths import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _require_chromium():
    if Path(CHROMIUM).is_file():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} not installed (allowed outside CI only)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout} s")


@pytest.fixture
def lab_server(tmp_path):
    root = tmp_path / "lab"
    root.mkdir()
    # the whole folder: the .ipynb/.py pairs, jupytext.toml and the .jupyter server settings
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for folder in ("data", "evidence"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("backups", "*.lock"))
    # start the notebook's preferred kernel without asking (the ask comes when kernel specs load slowly)
    tracker = tmp_path / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"autoStartDefaultKernel": true}', encoding="utf-8")
    jupyter = Path(sys.executable).parent / "jupyter"
    if not jupyter.exists():
        pytest.fail(f"jupyter is not installed beside {sys.executable}")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    env["JUPYTER_CONFIG_PATH"] = str(root / "notebooks" / ".jupyter")  # as `make lab` sets it
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={root}",
         f"--IdentityProvider.token={token}", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
         f"--LabApp.user_settings_dir={tmp_path / 'settings'}", "--ServerApp.port_retries=0", *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", proc)
        yield f"http://127.0.0.1:{port}", token, proc, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _dismiss_dialogs(page) -> None:
    """Answer a modal dialog JupyterLab may open on a slow machine (kernel selection, a build
    notice): accept it when it offers a kernel, else close it."""
    dialog = page.locator(".jp-Dialog")
    for _ in range(3):
        if dialog.count() == 0 or not dialog.first.is_visible():
            return
        text = dialog.first.inner_text()
        accept = dialog.first.locator(".jp-Dialog-button.jp-mod-accept")
        if "kernel" in text.lower() and accept.count():
            select = dialog.first.locator("select")
            if select.count():  # JupyterLab asks when the kernel specs were not loaded yet: pick Python 3
                options = [o.strip() for o in select.first.locator("option").all_inner_texts()]
                wanted = next((o for o in options if o.startswith("Python 3")), None)
                if wanted:
                    select.first.select_option(label=wanted)
            accept.first.click()
        else:
            page.keyboard.press("Escape")
        page.wait_for_timeout(500)
        print("dismissed a JupyterLab dialog:", " ".join(text.split())[:200])


def _wait_for_idle_kernel(page, seconds: float = 120) -> None:
    """Wait until the status bar shows the Python kernel idle (answering a kernel dialog if asked)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _dismiss_dialogs(page)
        try:
            page.wait_for_selector(".jp-StatusBar-Item:has-text('Python 3 (ipykernel) | Idle')", timeout=3_000)
            return
        except Exception:  # noqa: BLE001 - not yet
            pass
    raise AssertionError("the notebook's Python kernel never became idle")


def _wait_for_image(page, seconds: float):
    """The first image in an output area, answering any dialog that pops up meanwhile."""
    deadline = time.monotonic() + seconds
    while True:
        _dismiss_dialogs(page)
        try:
            return page.wait_for_selector(".jp-OutputArea-output img", timeout=5_000)
        except Exception:  # noqa: BLE001 - not yet
            if time.monotonic() > deadline:
                raise


def _run_all_cells(page, attempts: int = 3) -> None:
    """Run > Run All Cells from the menu bar; retried when no cell starts executing (a click can
    land before the menu has attached its handlers while JupyterLab is still loading)."""
    started = ".jp-InputPrompt:has-text('[*]'), .jp-InputPrompt:has-text('[1]')"
    for _ in range(attempts):
        _dismiss_dialogs(page)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        item = page.locator(".lm-Menu-item:not(.lm-mod-hidden) .lm-Menu-itemLabel", has_text="Run All Cells").first
        item.wait_for(state="visible", timeout=30_000)
        page.wait_for_timeout(500)
        item.click()
        try:
            page.wait_for_selector(started, timeout=30_000)
            return
        except Exception:  # noqa: BLE001 - not started: close any open menu and try again
            page.keyboard.press("Escape")
    raise AssertionError("Run > Run All Cells did not start any cell")


def test_jupyterlab_runs_02_and_renders_a_forest_plot(lab_server, tmp_path):
    _require_chromium()
    from playwright.sync_api import sync_playwright

    base, token, proc, _ = lab_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/notebooks/02_short_vs_long_term.ipynb?token={token}", timeout=90_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
            _wait_for_idle_kernel(page)
            _run_all_cells(page)
            try:
                image = _wait_for_image(page, seconds=240)
            except Exception:
                page.screenshot(path=str(tmp_path / "lab-timeout.png"))
                log = (tmp_path / "lab.log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"no forest plot image within 240 s; screenshot {tmp_path / 'lab-timeout.png'}; lab log tail:\n{log}")
            src = image.get_attribute("src") or ""
            assert src.startswith("data:image/png") or src.startswith("data:image/svg"), src[:40]
            box = image.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 100, box
            page.screenshot(path=str(tmp_path / "lab.png"))
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']:has-text('Traceback')")
            assert errors.count() == 0
        finally:
            browser.close()
    assert proc.poll() is None, "the lab server died during the test"


def _notebook_files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())
            if p.is_file() and p.suffix in (".ipynb", ".py")}


def test_opening_and_saving_in_jupyterlab_leaves_the_notebooks_unchanged(lab_server, tmp_path):
    """Open each notebook, let its kernel start, save it (Ctrl+S: JupyterLab and jupytext rewrite
    the .ipynb and its .py), close it: every stored file is byte for byte what the repository holds.
    Before this was fixed, jupytext added format_version/jupytext_version to the .py and
    JupyterLab added the kernel's language_info (with the Python version) to the .ipynb."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    base, token, proc, root = lab_server
    folder = root / "notebooks"
    names = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(names) >= 5
    before = _notebook_files(folder)
    time.sleep(0.05)  # a save after this point has a later mtime
    saved = set()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for i, name in enumerate(names):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{base}/lab/workspaces/save{i}/tree/notebooks/{name}.ipynb?reset&token={token}",
                          timeout=90_000)
                page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
                _wait_for_idle_kernel(page)
                page.wait_for_timeout(1_000)
                page.locator(".jp-NotebookPanel .jp-Cell").first.click()
                page.keyboard.press("Control+s")
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and (folder / f"{name}.ipynb").stat().st_mtime_ns == before[f"{name}.ipynb"][1]:
                    page.wait_for_timeout(250)
                page.wait_for_selector(".lm-TabBar-tab.jp-mod-dirty", state="detached", timeout=30_000)
                page.keyboard.press("Alt+w")  # close the tab
                page.wait_for_timeout(500)
                page.close()
                for ext in (".ipynb", ".py"):
                    path = folder / f"{name}{ext}"
                    if path.stat().st_mtime_ns != before[path.name][1]:
                        saved.add(path.name)
        finally:
            browser.close()
    assert proc.poll() is None, "the lab server died during the test"
    after = _notebook_files(folder)
    assert set(after) == set(before), "saving created or removed notebook files"
    # the save really happened (both files of each pair were rewritten) ...
    assert saved == {f"{n}{ext}" for n in names for ext in (".ipynb", ".py")}, sorted(saved)
    # ... and wrote exactly the stored bytes
    changed = [n for n in before if after[n][0] != before[n][0]]
    assert not changed, f"JupyterLab rewrote {changed}: store them as JupyterLab + jupytext write them"
    for name in before:
        assert after[name][0] == (ROOT / "notebooks" / name).read_bytes()


def test_make_lab_passes_extra_options():
    """`make lab LAB_ARGS=...` hands the options to jupyter lab, with the notebook settings on the
    config path (checked with make -n: nothing is started)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "lab", "LAB_ARGS=--allow-root --no-browser --port=8999"],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if "jupyter lab" in x)
    assert line.rstrip().endswith("jupyter lab notebooks/ --allow-root --no-browser --port=8999"), line
    assert f'JUPYTER_CONFIG_PATH="{ROOT}/notebooks/.jupyter' in line
