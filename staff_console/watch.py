"""stub"""
from flask import Blueprint

bp = Blueprint("watch", __name__)
