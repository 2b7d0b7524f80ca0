"""The service keeps every log line: nothing it imports may swap the logger class."""

import subprocess
import sys

SCRIPT = """
import logging, sys, tempfile
from poll_service import create_app
folder = tempfile.mkdtemp()
app = create_app({"TESTING": True, "SECRET_KEY": "t",
                  "DATABASE_URL": f"sqlite:///{folder}/v.db", "SITE_OUTPUT_DIR": folder})
print(logging.getLoggerClass().__module__ + "." + logging.getLoggerClass().__name__)
for _ in range(3):
    app.logger.warning("database unavailable: OperationalError")
"""


def test_repeated_log_lines_are_all_kept():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "logging.Logger"
    assert result.stderr.count("database unavailable: OperationalError") == 3
