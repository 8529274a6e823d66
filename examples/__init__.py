"""Three small web apps that hand Ably credentials to their users through
:mod:`ably_authkit.integrations`: ``flask_app``, ``django_app`` and ``fastapi_app``; each
is the app's policy (``grant_for``) and the framework's integration, nothing else.

Run one from the repository root with ``python -m examples.flask_app --emulator`` (a local
Ably emulator, offline) or with ``ABLY_API_KEY`` set (Ably itself); ``PORT``, default 8000.
"""
