"""A health endpoint for load balancers: 200 when the database answers, else 503."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import db
from .extensions import limiter

bp = Blueprint("health", __name__, url_prefix="/poll")


@bp.get("/health")
@limiter.exempt
def health():
    try:
        with db.read_connection() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify({"status": "unavailable", "database": "down"}), 503
    return jsonify({"status": "ok", "database": "ok"})
