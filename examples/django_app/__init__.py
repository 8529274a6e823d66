"""Django: ``python -m examples.django_app``. See README.md beside this file."""
