"""Run by ``tests/adapt/test_shards.py`` under ``torchrun --nproc_per_node 2``: an adapt run
"interrupted" after ``--stop`` steps, then resumed to the config's ``steps``, in one process group;
then, when a second config is given, a ``--method cmanet`` run in the same group (one launch for both).

Usage: ``torchrun --standalone --nproc_per_node 2 ddp_worker.py CONFIG.json RUN_DIR OUT STOP [CMANET.json CMANET_OUT]``."""

import json
import sys
from dataclasses import replace

import torch.distributed as dist

from mvmocap.adapt import AdaptConfig, run


def _config(path: str) -> AdaptConfig:
    return AdaptConfig.from_dict(json.loads(open(path).read()))


def main(config_file: str, run_dir: str, out: str, stop: str, cmanet_file: str | None = None,
         cmanet_out: str | None = None) -> None:
    config = _config(config_file)
    dist.init_process_group("gloo")
    try:
        run([run_dir], out, replace(config, steps=int(stop)), progress=False)
        run([run_dir], out, config, resume=True, progress=False)
        if cmanet_file is not None:
            run([run_dir], cmanet_out, _config(cmanet_file), progress=False)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
