"""``mvmocap body``: build the open SMPL-format bodies, look at a body model."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mvmocap.cli.common import console, handle_errors

app = typer.Typer(help="Body-model tools.", no_args_is_help=True)

GENDERS = ("neutral", "male", "female")


@app.command("build-open")
@handle_errors
def build_open(
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", help="Where to write open_*.npz [default: models/body]."),
    bodies: int = typer.Option(400, "--bodies", min=11, help="Anny bodies sampled per model (PCA needs > 10)."),
    gender: Optional[List[str]] = typer.Option(None, "--gender", help="neutral, male or female; repeat [default: all]."),
    cache_dir: Optional[Path] = typer.Option(
        None, "--cache-dir", help="Keep Anny's cache (about 0.8 GB) here instead of a temporary folder deleted after."
    ),
) -> None:
    """Build the free SMPL-format bodies from Anny (needs the build-open extra: anny==0.6.2)."""
    from mvmocap.body.build_open import build_open_models
    from mvmocap.body.loading import MODELS_DIR

    written = build_open_models(
        out_dir or MODELS_DIR,
        num_bodies=bodies,
        genders=tuple(gender or GENDERS),
        cache_dir=cache_dir,
        log=lambda message: console.print(message, highlight=False),
    )
    for path in written:
        typer.echo(str(path))


@app.command("preview")
@handle_errors
def preview(
    model: Optional[str] = typer.Argument(
        None, help="open_neutral, open_male, open_female or a model file [default: $MVMOCAP_BODY_MODEL or open_neutral]."
    ),
    out: Path = typer.Option(Path("body_preview.png"), "--out", "-o", help="PNG to write."),
    betas: Optional[str] = typer.Option(None, "--betas", help="Comma-separated shape coefficients, e.g. '2,0,-1'."),
) -> None:
    """Save a picture of a body model: T-pose and an example pose, front and side."""
    import torch

    from mvmocap.body import load_body_model
    from mvmocap.body.render_preview import render_preview
    from mvmocap.errors import InputError
    from mvmocap.io.outputs import check_output

    check_output(out, "file")
    body = load_body_model(model)
    shape = None
    if betas:
        try:
            shape = torch.tensor([float(b) for b in betas.split(",")])
        except ValueError:
            raise InputError(f"--betas must be comma-separated numbers, got {betas!r}") from None
    path = render_preview(body, out, betas=shape)
    typer.echo(str(path))


@app.command("export-smpl")
@handle_errors
def export_smpl(
    model: str = typer.Argument(..., help="open_neutral, open_male, open_female or a body model file."),
    out: Path = typer.Argument(..., help="OUT.pkl (loads with smplx.SMPL(model_path=OUT.pkl)) or OUT.npz."),
) -> None:
    """Write a body model in the official SMPL file layout (dense J_regressor, kintree_table, f, posedirs)."""
    import torch

    from mvmocap.body import load_body_model
    from mvmocap.body.smpl_layout import write_smpl_layout

    typer.echo(str(write_smpl_layout(load_body_model(model, dtype=torch.float64), out)))
