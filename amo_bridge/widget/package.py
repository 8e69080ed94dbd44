"""Checking the widget's sources and packing the zip amoCRM accepts.

amoCRM takes a zip whose root holds ``manifest.json``, ``script.js``, ``i18n/<lang>.json`` for every
locale the manifest lists, and ``images/`` with the logos at their fixed sizes. Every text key the
manifest names (``widget.name``, ``settings.backend_url``...) must exist in each language file.
:func:`validate` lists every problem; :func:`build` refuses to pack sources with any.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from amo_bridge.errors import AmoBridgeError
from amo_bridge.widget.logos import LOGO_SIZES, png_size

REQUIRED_LOCATIONS = ("advanced_settings", "widget_page")
SETTING_TYPES = {"text", "pass", "users", "users_lp", "custom"}
MAX_IMAGE_BYTES = 300 * 1024
PACKED_SUFFIXES = {".json", ".js", ".css", ".png", ".svg", ".twig"}
PACKED_FOLDERS = ("", "i18n", "images", "templates")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # fixed, so that the same sources give the same archive


class WidgetPackageError(AmoBridgeError):
    """The widget sources are not what amoCRM accepts; ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid widget:\n" + "\n".join(f"  - {p}" for p in problems))


def default_source() -> Path:
    """The ``widget/`` folder of a source checkout."""
    return Path(__file__).resolve().parents[2] / "widget"


def _load_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path.name}: missing")
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: not valid JSON ({exc})")
    return None


def _lookup(words: Mapping[str, Any], dotted: str) -> Any:
    node: Any = words
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def validate(source: Path) -> list[str]:
    """Every problem with the widget sources in ``source`` (empty when amoCRM would accept them)."""
    problems: list[str] = []
    manifest = _load_json(source / "manifest.json", problems)
    if not isinstance(manifest, dict):
        if manifest is not None:
            problems.append("manifest.json: expected a JSON object")
        return problems
    widget = manifest.get("widget")
    if not isinstance(widget, dict):
        return [*problems, "manifest.json: no 'widget' object"]

    text_keys: list[str] = []
    for field in ("name", "description", "short_description"):
        value = widget.get(field)
        if not isinstance(value, str) or not value:
            problems.append(f"manifest.json: widget.{field} must name a text key")
        else:
            text_keys.append(value)
    if not _VERSION.match(str(widget.get("version", ""))):
        problems.append("manifest.json: widget.version must look like 1.0.0")
    if widget.get("interface_version") != 2:
        problems.append("manifest.json: widget.interface_version must be 2")
    if not isinstance(widget.get("init_once"), bool):
        problems.append("manifest.json: widget.init_once must be true or false")
    locales = widget.get("locale")
    if not isinstance(locales, list) or not locales or not all(isinstance(x, str) for x in locales):
        problems.append('manifest.json: widget.locale must list the languages, e.g. ["ru", "en"]')
        locales = []
    for needed in ("ru", "en"):
        if needed not in locales:
            problems.append(f"manifest.json: widget.locale must include {needed!r}")

    locations = manifest.get("locations")
    if not isinstance(locations, list):
        problems.append("manifest.json: 'locations' must be a list")
        locations = []
    plain_locations = {str(loc).rsplit("-", 1)[0] for loc in locations}
    for location in REQUIRED_LOCATIONS:
        if location not in plain_locations:
            problems.append(f"manifest.json: locations must include {location!r}")

    settings = manifest.get("settings")
    if not isinstance(settings, dict) or "backend_url" not in settings:
        problems.append("manifest.json: settings must declare 'backend_url'")
        settings = settings if isinstance(settings, dict) else {}
    for code, spec in settings.items():
        if not isinstance(spec, dict):
            problems.append(f"manifest.json: settings.{code} must be an object")
            continue
        if spec.get("type") not in SETTING_TYPES:
            problems.append(f"manifest.json: settings.{code}.type must be one of {sorted(SETTING_TYPES)}")
        if not isinstance(spec.get("required"), bool):
            problems.append(f"manifest.json: settings.{code}.required must be true or false")
        if isinstance(spec.get("name"), str):
            text_keys.append(spec["name"])
        else:
            problems.append(f"manifest.json: settings.{code}.name must name a text key")

    if "widget_page" in plain_locations:
        menu = manifest.get("left_menu")
        if not isinstance(menu, dict) or not menu:
            problems.append("manifest.json: widget_page needs a 'left_menu' section")
        else:
            for code, item in menu.items():
                if not isinstance(item, dict) or not isinstance(item.get("title"), str):
                    problems.append(f"manifest.json: left_menu.{code}.title must name a text key")
                    continue
                text_keys.append(item["title"])
                icon = item.get("icon")
                if icon is not None and not (source / str(icon)).is_file():
                    problems.append(f"manifest.json: left_menu.{code}.icon {icon} is missing")

    for lang in locales:
        words = _load_json(source / "i18n" / f"{lang}.json", problems)
        if not isinstance(words, dict):
            continue
        for key in text_keys:
            if not isinstance(_lookup(words, key), str):
                problems.append(f"i18n/{lang}.json: no text for {key!r}")

    if not (source / "script.js").is_file():
        problems.append("script.js: missing")
    elif "define(" not in (source / "script.js").read_text(encoding="utf-8"):
        problems.append("script.js: must be an AMD module (define(...))")

    for name, size in LOGO_SIZES.items():
        path = source / "images" / name
        if not path.is_file():
            problems.append(f"images/{name}: missing")
            continue
        data = path.read_bytes()
        if len(data) > MAX_IMAGE_BYTES:
            problems.append(f"images/{name}: larger than 300 KB")
        try:
            found = png_size(data)
        except ValueError:
            problems.append(f"images/{name}: not a PNG file")
            continue
        if found != size:
            problems.append(f"images/{name}: {found[0]}x{found[1]}, expected {size[0]}x{size[1]}")
    return problems


def packed_files(source: Path) -> Iterator[tuple[str, Path]]:
    """(name in the archive, file) for everything amoCRM needs, in a stable order."""
    for folder in PACKED_FOLDERS:
        base = source / folder if folder else source
        if not base.is_dir():
            continue
        for path in sorted(base.iterdir()):
            if path.is_file() and path.suffix in PACKED_SUFFIXES:
                yield (f"{folder}/{path.name}" if folder else path.name), path


def placeholder_support(manifest: Mapping[str, Any]) -> bool:
    """True while the manifest's support contact is still the example one."""
    support = manifest.get("widget", {}).get("support", {})
    return any("example." in str(value) for value in support.values())


def _with_support(data: bytes, support: Mapping[str, str]) -> bytes:
    manifest = json.loads(data)
    manifest["widget"].setdefault("support", {}).update(support)
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()


def build(source: Path, out: Path, *, support: Mapping[str, str] | None = None) -> list[str]:
    """Validate ``source`` and write the archive to ``out``; return the names packed.

    ``support`` (``{"link": ..., "email": ...}``) replaces the manifest's support contact in the archive.
    """
    problems = validate(source)
    if support:
        unknown = set(support) - {"link", "email"}
        if unknown:
            problems.append(f"support: unknown fields {sorted(unknown)}")
        if "email" in support and "@" not in support["email"]:
            problems.append("support: the email must look like name@domain")
        if "link" in support and not support["link"].startswith(("https://", "http://")):
            problems.append("support: the link must be an http(s) URL")
    if problems:
        raise WidgetPackageError(problems)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in packed_files(source):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = path.read_bytes()
            if name == "manifest.json" and support:
                data = _with_support(data, support)
            archive.writestr(info, data)
            names.append(name)
    tmp.replace(out)
    return names
