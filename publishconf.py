"""Production settings: pelicanconf.py plus what a public build needs."""

import os
import sys

sys.path.append(os.curdir)
from pelicanconf import *  # noqa: E402,F403

SITEURL = os.environ.get("SITEURL", "https://inquiry-now.example.org")
RELATIVE_URLS = False
FEED_ALL_ATOM = "feeds/all.atom.xml"
# Safe because OUTPUT_RETENTION keeps the poll service's published files.
DELETE_OUTPUT_DIRECTORY = True
