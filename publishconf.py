"""Production settings: pelicanconf.py plus what a public build needs.

    pelican content -s publishconf.py        (or: make publish)

Set SITEURL in the environment to build for another address.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pelicanconf import *  # noqa: E402,F403

SITEURL = os.environ.get("SITEURL", "https://inquiry-now.example.org").rstrip("/")
RELATIVE_URLS = False

FEED_ALL_ATOM = "feeds/all.atom.xml"

# Drafts are for previewing; a public build leaves them out entirely.
DRAFT_SAVE_AS = ""
DRAFT_LANG_SAVE_AS = ""
DRAFT_PAGE_SAVE_AS = ""
DRAFT_PAGE_LANG_SAVE_AS = ""

# Safe because OUTPUT_RETENTION (pelicanconf.py) keeps output/polls/ and
# output/ledger/, where the poll service publishes its results and ledgers.
DELETE_OUTPUT_DIRECTORY = True
