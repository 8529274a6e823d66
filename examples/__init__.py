"""Three small web apps that hand Ably credentials to their users through
:mod:`ably_authkit.endpoint`: ``flask_app``, ``django_app`` and ``fastapi_app``.

Run one from the repository root with ``python -m examples.flask_app`` (``PORT``, default
8000). Without ``ABLY_API_KEY`` each starts an embedded Ably emulator and works offline.
"""
