"""``python -m ably_authkit``: the ``ably-authkit`` command line."""

from .cli import main

raise SystemExit(main())
