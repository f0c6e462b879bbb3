"""`python -m slofpy` is the `slofpy` command."""
from .frontends.cli import main

raise SystemExit(main())
