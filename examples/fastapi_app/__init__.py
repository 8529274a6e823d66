"""FastAPI: ``python -m examples.fastapi_app``. See README.md beside this file."""
