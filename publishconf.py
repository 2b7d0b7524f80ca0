"""Production settings: pelicanconf.py plus what a public build needs.

    pelican content -s publishconf.py        (or: make publish)

It refuses to build while the site address or the contact address is still an
example (plugins/campaign_site): set them here, or in the environment, which
overrides this file:

    SITEURL=https://your.domain CONTACT_EMAIL=you@your.domain make publish
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pelicanconf import *  # noqa: E402,F403

SITEURL = os.environ.get("SITEURL", "https://inquiry-now.example.org").rstrip("/")
CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", CONTACT_EMAIL)  # noqa: F405 (pelicanconf.py's)
REFUSE_PLACEHOLDER_ADDRESSES = True
# plugins/reblogs lists the reblogs whose original's address is not known.
UNKNOWN_ORIGINALS_REPORT = True
RELATIVE_URLS = False

FEED_ALL_ATOM = "feeds/all.atom.xml"
POLL_FEED_ATOM = "feeds/polls.atom.xml"

# Drafts are for previewing; a public build leaves them out entirely.
DRAFT_SAVE_AS = ""
DRAFT_LANG_SAVE_AS = ""
DRAFT_PAGE_SAVE_AS = ""
DRAFT_PAGE_LANG_SAVE_AS = ""

# Safe because OUTPUT_RETENTION (pelicanconf.py) keeps output/polls/ and
# output/ledger/, where the poll service publishes its results and ledgers.
DELETE_OUTPUT_DIRECTORY = True
