"""Run by ``tests/adapt/test_shards.py`` under ``torchrun --nproc_per_node 2``: an adapt run
"interrupted" after ``--stop`` steps, then resumed to the config's ``steps``, in one process group.

Usage: ``torchrun --standalone --nproc_per_node 2 ddp_worker.py CONFIG.json RUN_DIR OUT STOP``."""

import json
import sys
from dataclasses import replace

import torch.distributed as dist

from mvmocap.adapt import AdaptConfig, run


def main(config_file: str, run_dir: str, out: str, stop: str) -> None:
    config = AdaptConfig.from_dict(json.loads(open(config_file).read()))
    dist.init_process_group("gloo")
    try:
        run([run_dir], out, replace(config, steps=int(stop)), progress=False)
        run([run_dir], out, config, resume=True, progress=False)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
