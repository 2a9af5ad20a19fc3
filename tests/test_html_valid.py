"""Every page of the demo and example builds passes the Nu HTML Checker (vnu) with 0 errors."""

from __future__ import annotations

import json
import shutil
import subprocess

from conftest import NPM_CACHE, REPO, build_into, require

VNU = NPM_CACHE / "node_modules/vnu-jar/build/dist/vnu.jar"
PORTFOLIOS = [REPO, *sorted(p for p in (REPO / "examples").iterdir() if (p / "mastery.yaml").is_file())]


def test_every_page_is_valid_html(tmp_path):
    require(VNU.is_file() and shutil.which("java") is not None, "vnu.jar (npm vnu-jar) and Java")
    for source in PORTFOLIOS:
        for audience in ("public", "private"):
            build_into(source, tmp_path / f"{source.name}-{audience}", "--audience", audience)
    pages = list(tmp_path.rglob("*.html"))
    assert len(pages) > 150
    result = subprocess.run(["java", "-jar", str(VNU), "--errors-only", "--format", "json", "--skip-non-html",
                             str(tmp_path)], capture_output=True, text=True)
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = [f"{m.get('url')}:{m.get('lastLine')}: {m['message']}" for m in messages if m["type"] != "info"]
    assert errors == [], "\n".join(errors[:20])
