"""The widget sources in widget/ and the archive `amo-bridge widget build` makes of them."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from amo_bridge.cli.main import cli
from amo_bridge.widget.logos import LOGO_SIZES, draw_logo, png_size
from amo_bridge.widget.package import WidgetPackageError, build, default_source, validate

SOURCE = default_source()


def test_the_committed_widget_is_valid() -> None:
    assert validate(SOURCE) == []


def test_build_writes_a_zip_amocrm_accepts(tmp_path: Path) -> None:
    out = tmp_path / "widget.zip"
    result = CliRunner().invoke(cli, ["widget", "build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        assert {"manifest.json", "script.js", "i18n/ru.json", "i18n/en.json"} <= names
        assert {f"images/{name}" for name in LOGO_SIZES} <= names
        assert all("/" not in name or name.split("/")[0] in {"i18n", "images"} for name in names)
        manifest = json.loads(archive.read("manifest.json"))
        assert {"advanced_settings", "widget_page"} <= set(manifest["locations"])
        assert manifest["settings"]["backend_url"]["type"] == "text"
        for lang in ("ru", "en"):
            words = json.loads(archive.read(f"i18n/{lang}.json"))
            assert words["widget"]["name"]
            assert words["settings"]["backend_url"]
        for name, size in LOGO_SIZES.items():
            assert png_size(archive.read(f"images/{name}")) == size
        assert archive.testzip() is None


def test_build_sets_the_support_contact(tmp_path: Path) -> None:
    out = tmp_path / "widget.zip"
    plain = CliRunner().invoke(cli, ["widget", "build", "--out", str(out)])
    assert "support contact is still the example one" in plain.output
    args = ["--support-email", "help@acme.ru", "--support-link", "https://acme.ru/help"]
    result = CliRunner().invoke(cli, ["widget", "build", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    assert "example one" not in result.output
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["widget"]["support"] == {"link": "https://acme.ru/help", "email": "help@acme.ru"}
    bad = CliRunner().invoke(cli, ["widget", "build", "--out", str(out), "--support-email", "nobody"])
    assert bad.exit_code == 1
    assert "name@domain" in bad.output


def test_build_is_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    build(SOURCE, first)
    build(SOURCE, second)
    assert first.read_bytes() == second.read_bytes()


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    copy = tmp_path / "widget"
    shutil.copytree(SOURCE, copy)
    return copy


def test_invalid_manifest_is_refused_before_zipping(broken: Path, tmp_path: Path) -> None:
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["locations"] = ["lcard-1"]
    manifest["widget"]["interface_version"] = 1
    manifest["settings"]["backend_url"]["type"] = "url"
    (broken / "manifest.json").write_text(json.dumps(manifest))
    (broken / "images" / "logo_min.png").write_bytes(draw_logo(80, 80))
    words = json.loads((broken / "i18n" / "en.json").read_text())
    del words["settings"]
    (broken / "i18n" / "en.json").write_text(json.dumps(words))
    out = tmp_path / "never.zip"
    with pytest.raises(WidgetPackageError) as caught:
        build(broken, out)
    problems = "\n".join(caught.value.problems)
    assert "locations must include 'advanced_settings'" in problems
    assert "locations must include 'widget_page'" in problems
    assert "interface_version must be 2" in problems
    assert "settings.backend_url.type" in problems
    assert "images/logo_min.png: 80x80, expected 84x84" in problems
    assert "i18n/en.json: no text for 'settings.backend_url'" in problems
    assert not out.exists()
    result = CliRunner().invoke(cli, ["widget", "build", "--src", str(broken), "--out", str(out)])
    assert result.exit_code == 1
    assert "interface_version" in result.output


def test_missing_files_are_named(broken: Path) -> None:
    (broken / "script.js").unlink()
    (broken / "images" / "logo.png").unlink()
    (broken / "manifest.json").write_text("{not json")
    assert any("not valid JSON" in p for p in validate(broken))
    (broken / "manifest.json").write_text(json.dumps({"widget": {}}))
    problems = validate(broken)
    assert "script.js: missing" in problems
    assert "images/logo.png: missing" in problems


def test_widget_files_are_tracked_not_ignored() -> None:
    import subprocess

    root = SOURCE.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    for path in [SOURCE / "manifest.json", SOURCE / "script.js", SOURCE / "images" / "logo.png"]:
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(path)], cwd=root, check=False, capture_output=True
        )
        assert ignored.returncode == 1, f"{path} is git-ignored"


def test_dashboard_link_command(tmp_path: Path) -> None:
    from amo_bridge.secrets import Secret
    from amo_bridge.widget import links

    (tmp_path / "empty.env").write_text("")
    env = {
        "AMO_BRIDGE_ENV_FILE": str(tmp_path / "empty.env"),
        "DASHBOARD_SECRET": "",
        "AMO_CLIENT_SECRET": "cli-test-client-secret-value",
        "PUBLIC_URL": "https://bridge.example.com",
    }
    result = CliRunner().invoke(cli, ["dashboard", "link", "--ttl", "600", "--lang", "en"], env=env)
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith("https://bridge.example.com/widget/dashboard?exp=")
    assert url.endswith("&lang=en")
    from urllib.parse import parse_qs, urlsplit

    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    key = links.link_key(Secret("cli-test-client-secret-value"))
    exp = links.verify_link(key, params, now=float(params["exp"]) - 600)
    assert exp == int(params["exp"])


def test_dashboard_link_needs_public_url_and_a_secret(tmp_path: Path) -> None:
    (tmp_path / "empty.env").write_text("")
    env = {
        "AMO_BRIDGE_ENV_FILE": str(tmp_path / "empty.env"),
        "PUBLIC_URL": "",
        "AMO_CLIENT_SECRET": "",
        "DASHBOARD_SECRET": "",
    }
    result = CliRunner().invoke(cli, ["dashboard", "link"], env=env)
    assert result.exit_code == 2
    assert "PUBLIC_URL" in result.output
    assert "DASHBOARD_SECRET" in result.output


def test_dashboard_preview_serves_marked_demonstration_data(tmp_path: Path) -> None:
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    (tmp_path / "empty.env").write_text("")
    env = {
        "PATH": "/usr/bin:/bin",
        "AMO_BRIDGE_ENV_FILE": str(tmp_path / "empty.env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'preview.db'}",
    }
    launcher = "import sys; from amo_bridge.cli.main import main; sys.argv[0] = 'amo-bridge'; main()"
    command = [sys.executable, "-c", launcher, "dashboard", "preview", "--port", "0", "--lang", "en"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (
            process.stderr.read() if process.poll() is not None else url
        )
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
        assert "Preview: demonstration data" in page
        assert "184" in page
        unsigned = url.split("?")[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unsigned, timeout=10)
        assert refused.value.code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
