"""The test harness: what the tests, bench/ and scripts/ share.

- ``paths``: the repository's folders and Debian's Chromium.
- ``waiting``: ``wait_until``, waiting on a condition instead of a fixed sleep.
- ``processes``: child servers without racing for ports (port 0, or a retry on
  "address in use"), ready when they say so (a line in their log).
- ``server``: the service under production's launcher (granian), ready when it
  answers.
- ``services``: private PostgreSQL, Redis, nginx and service instances on
  loopback, and the whole production set-up (``Deployment``).
- ``load``: the server as the reliability tests run it, and a fast voting client.
- ``databases``: which database each test's app stores votes in.
- ``site``: building the real site (or a tiny one) with our settings.
- ``content``: posts and reblogs, as Markdown, for tiny sites.
- ``live_server``: the built site and the service on one origin, as `make run`.
- ``service``: apps with polls of our own, tokens, votes and counts.
- ``publishing``: apps and votes for the publishing tests, and waiting for results.json.
- ``deployment_voting``: voting through the loopback deployment (tests and bench).
- ``theme_site``: the site with every page type, for the theme's browser tests.
- ``browser``: a reader whose requests stay on loopback, and axe-core's checks.

Test modules import from here, never from each other or from conftest.py
(tests/test_layout.py checks).
"""
