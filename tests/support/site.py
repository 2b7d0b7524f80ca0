"""Building the real site, or a tiny one, with our settings and plugins."""

from __future__ import annotations

from pathlib import Path

from .paths import ROOT


def build_site(output: Path, settings_file: str = "pelicanconf.py", **overrides) -> Path:
    """Build the real content with pelicanconf.py (or publishconf.py) into ``output``.

    Test builds use example addresses, so publishconf.py's refusal of them is off
    unless a test passes REFUSE_PLACEHOLDER_ADDRESSES=True (test_publish_addresses.py).
    """
    from pelican import Pelican
    from pelican.settings import read_settings

    overrides = {"OUTPUT_PATH": str(output), "REFUSE_PLACEHOLDER_ADDRESSES": False, **overrides}
    settings = read_settings(str(ROOT / settings_file), override=overrides)
    Pelican(settings).run()
    return output


def build_tiny_site(
    tmp_path: Path, files: dict[str, str], settings_file="pelicanconf.py", **overrides
) -> Path:
    """Build a site from ``files`` ({"posts/a.md": text, ...}) with our settings and plugins.

    Returns the output folder. ``settings_file`` may be "publishconf.py" for a production build.
    """
    content = tmp_path / "content"
    content.mkdir(exist_ok=True)
    for name, text in files.items():
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_text(text, encoding="utf-8")
    return build_site(tmp_path / "output", settings_file, PATH=str(content), **overrides)
