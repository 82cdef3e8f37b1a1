"""stub"""
from flask import Blueprint

bp = Blueprint("actions", __name__)
