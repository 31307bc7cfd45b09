"""I/O edge: file formats in and out. Foreign conventions are converted here and nowhere else."""
