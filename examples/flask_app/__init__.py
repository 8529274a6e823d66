"""Flask: ``python -m examples.flask_app``. See README.md beside this file."""
