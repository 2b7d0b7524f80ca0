"""gunicorn settings for the benchmarks, used until deploy/gunicorn.conf.py exists.

One worker process with eight threads: the embedded default keeps rate limits
in memory (``memory://``), which is only correct in a single process. See
docs/reports/benchmarks.md for the worker layouts measured and why this one.
"""

worker_class = "gthread"
workers = 1
threads = 8
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = "warning"
