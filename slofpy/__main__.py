"""`python -m slofpy` is the `slofpy` command."""
from .cli import main

raise SystemExit(main())
