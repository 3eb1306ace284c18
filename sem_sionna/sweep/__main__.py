"""``python -m sem_sionna.sweep merge DIR``: merge a sharded sweep's CSVs."""
from __future__ import annotations

import sys

from .merge import merge_main


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "merge":
        sys.stderr.write("usage: python -m sem_sionna.sweep merge DIR\n"
                         "error: the only command is 'merge'\n")
        return 2
    return merge_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
