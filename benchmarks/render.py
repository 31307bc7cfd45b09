"""Renderer throughput: 256 x 256 silhouette + IUV renders per second on this machine.

    .venv/bin/python benchmarks/render.py [--body NAME|toy] [--batch 16] [--size 256] [--repeats 10]
        [--threads 1] [--processes 2]

``--processes N`` runs N independent renderers at once (as N DataLoader workers would) and
adds their throughputs.

Bodies are procedural poses seen by sampled rigs through 1.2-scale crops (as the dataset renders
them); the timed part is rasterisation + silhouette + IUV for a batch of views (vertex posing and
projection excluded). Prints the median over repeats, as wall-clock renders/s and as renders per
CPU-second of this process (the latter is not inflated when other processes share the cores).
Target: >= 200 renders/s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from mvmocap.synth import evidence as ev
from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body
from mvmocap.synth.rasterize import iuv_image, rasterize, silhouette, vertices_to_screen


def main() -> None:
    args = parse()
    if args.processes > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(args.processes) as pool:
            results = pool.map(measure, [args] * args.processes)
        print(f"{args.processes} processes x {args.threads} thread(s): {sum(r[0] for r in results):.1f} renders/s "
              f"wall clock in total (each: {', '.join(f'{r[0]:.1f}' for r in results)})")
    else:
        measure(args)


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--body", default=None, help="body model ('toy' = built-in capsule body; default: the default model)")
    ap.add_argument("--batch", type=int, default=16, help="views rendered per call")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    return ap.parse_args()


def measure(args: argparse.Namespace) -> tuple[float, float]:
    """Render ``args.repeats + 1`` times; print and return (wall-clock renders/s, renders per CPU-second)."""
    torch.set_num_threads(args.threads)
    body = load_body(args.body)
    views = 4
    data = SyntheticMultiView(body, SynthConfig(views=views, render_size=args.size, render_iuv=True,
                                                augment=ev.AugmentConfig.none(), return_vertices=True),
                              length=args.batch, seed=0)
    n_samples = max(1, args.batch // views)
    s = data.batch(list(range(n_samples)))
    B, C = s["K"].shape[:2]
    K_crop = ev.crop_intrinsics(s["K"], s["crop"], args.size)
    screen = vertices_to_screen(
        s["vertices"][:, None].expand(B, C, -1, -1).reshape(B * C, -1, 3),
        K_crop.reshape(-1, 3, 3), s["R"].reshape(-1, 3, 3), s["t"].reshape(-1, 3),
    ).to(args.device)
    faces = body.faces.to(args.device)
    puv = data._part_uv.to(args.device)
    cull = data._cull
    times, cpu_times = [], []
    for _ in range(args.repeats + 1):
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        c0 = time.process_time()
        t0 = time.perf_counter()
        frags = rasterize(screen, faces, (args.size, args.size), cull=cull)
        mask = silhouette(frags)
        iuv = iuv_image(frags, faces, puv.face_parts, puv.vertex_uv)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    med = statistics.median(times[1:])
    cpu = statistics.median(cpu_times[1:])
    n = screen.shape[0]
    coverage = float(mask.float().mean())
    print(f"body {getattr(body, 'name', '?')}: {body.faces.shape[0]} faces, {n} views of {args.size}x{args.size}, "
          f"{torch.get_num_threads()} threads, device {args.device}; mask coverage {coverage:.3f}; "
          f"iuv parts present {int(iuv[:, 0].unique().numel()) - 1}")
    print(f"silhouette + IUV: {n / med:.1f} renders/s wall clock (median of {args.repeats}; best {n / min(times[1:]):.1f}); "
          f"{n / cpu:.1f} renders per CPU-second (all threads; robust to other processes' load)")
    return n / med, n / cpu


if __name__ == "__main__":
    main()
