"""The one rich console (stderr) used for progress and summaries by every stage and the CLI."""

from rich.console import Console

console = Console(stderr=True)
