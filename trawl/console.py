"""Where the command line prints.

On a terminal, its width. Anywhere else (a pipe, a CI log, a file) lines as long as their
content: a table cut at 80 columns ("compl…") tells a reader of the log nothing.
"""

from __future__ import annotations

from rich.console import Console

_UNCUT = 100_000

console = Console()
if not console.is_terminal:
    console = Console(width=_UNCUT)
