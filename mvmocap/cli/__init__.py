"""Thin Typer commands over the domain functions. Heavy imports stay inside commands."""
