"""Screenshot of a body.glb in headless Chromium through tools/glb_viewer (three.js, vendored).

    python tools/glb_screenshot.py out/pose2sim_demo/body.glb --frame 50 --out glb.png

Needs a Chromium (Debian: apt-get install chromium). Serves the viewer and the glb from a
temporary folder on localhost, renders with SwiftShader (no GPU needed).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

VIEWER = Path(__file__).resolve().parent / "glb_viewer"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def screenshot(glb: Path, out: Path, frame: int, size=(720, 900), chromium: str | None = None) -> Path:
    browser = chromium or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("no Chromium found (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copytree(VIEWER, root, dirs_exist_ok=True)
        shutil.copyfile(glb, root / "body.glb")
        handler = functools.partial(_QuietHandler, directory=str(root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/index.html?glb=body.glb&frame={frame}"
            subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu-sandbox", "--use-angle=swiftshader",
                            "--enable-unsafe-swiftshader", f"--window-size={size[0]},{size[1]}",
                            "--virtual-time-budget=15000", f"--screenshot={out.resolve()}", url],
                           check=True, capture_output=True, timeout=120)
        finally:
            server.shutdown()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("glb", type=Path)
    parser.add_argument("--frame", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("glb.png"))
    args = parser.parse_args()
    print(screenshot(args.glb, args.out, args.frame))


if __name__ == "__main__":
    main()
