"""The built-in theme ships inside the wheel, so a plain `pip install .` can build any folder."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from conftest import REPO


def test_wheel_contains_the_default_theme(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(REPO)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("mastery_site-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    theme = REPO / "themes/default"
    expected = {f"mastery_site/themes/default/{p.relative_to(theme).as_posix()}"
                for p in theme.rglob("*") if p.is_file()}
    assert expected and expected <= names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_wheel_builds_a_portfolio_anywhere(tmp_path):
    wheels, target, project = tmp_path / "wheels", tmp_path / "site-packages", tmp_path / "journal"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheels), str(REPO)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(next(wheels.glob("*.whl")))], check=True)
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "mastery_site"]
    where = subprocess.run([sys.executable, "-c", "import mastery_site; print(mastery_site.__file__)"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(target))
    subprocess.run([*run, "init", str(project)], env=env, cwd=tmp_path, check=True, capture_output=True)
    built = subprocess.run([*run, "build", str(project)], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert (project / "_site/assets/style.css").is_file() and (project / "_site/index.html").is_file()
    script = subprocess.run([str(target / "bin/mastery-site"), "build", str(project)], env=env, cwd=tmp_path,
                            capture_output=True, text=True)  # the console script, as pip installs it
    assert script.returncode == 0 and script.stdout.startswith("Up to date"), script.stderr
