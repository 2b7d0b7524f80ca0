"""Draw the site's own link-preview card into theme/static/site-card.png.

    .venv/bin/python scripts/site_card.py

Run it after changing SITENAME or SITESUBTITLE (campaign_model/site.py); a
test fails while the committed card is out of date. Pages that carry no poll
use it as their og:image (DEFAULT_OG_IMAGE in pelicanconf.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from campaign_model.site import SITENAME, SITESUBTITLE  # noqa: E402
from poll_service.publish.share_card import site_png  # noqa: E402

CARD = ROOT / "theme" / "static" / "site-card.png"


def main() -> None:
    CARD.write_bytes(site_png(SITENAME, SITESUBTITLE))
    print(f"wrote {CARD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
