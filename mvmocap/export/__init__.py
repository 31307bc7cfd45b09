"""Last stage: what ``reconstruct`` writes besides the parameter files (report, overlays)."""
