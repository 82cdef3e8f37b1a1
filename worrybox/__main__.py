"""Allow `python -m worrybox ...` as well as the `worrybox` command."""

from .cli import main

main()
