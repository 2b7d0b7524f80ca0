"""Where a vote is checked: the blueprints (form, API, health), the checks every
request passes (guards, CSRF, rate limits), errors, and the service's pages."""
