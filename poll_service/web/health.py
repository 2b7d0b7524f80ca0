"""A health endpoint for load balancers: 200 when the database answers, else 503.

It is never rate-limited, sets no cookie and is never cached.
"""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..store.engine import read_connection

bp = Blueprint("health", __name__, url_prefix="/poll")


@bp.get("/health")
def health():
    try:
        with read_connection() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        response = jsonify({"status": "unavailable", "database": "down"})
        response.status_code = 503
    else:
        response = jsonify({"status": "ok", "database": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response
