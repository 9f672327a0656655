"""Vendor the CesiumJS build the web console uses into ``src/orbemu/web/static/cesium/``.

The console serves CesiumJS from the package itself (no CDN, no Ion token, offline imagery), so
the prebuilt ``Build/Cesium`` of the npm package ``cesium`` — pinned in
``tools/cesium/package.json`` and its lockfile — is copied into the package and committed. Only
what a browser loads is kept: ``Cesium.js`` (minified), ``Workers/``, ``ThirdParty/``
(WebAssembly decoders), ``Assets/`` (NaturalEarthII imagery, sky box, IAU 2006 tables) and
``Widgets/`` (CSS), plus the licence files. Left out: the unminified build, the ES-module
copies (``index.js``/``index.cjs``), sources and source maps.

Run it to change the version (edit ``tools/cesium/package.json`` first)::

    python tools/vendor_cesium.py            # npm ci into a temporary folder, copy, report size
    python tools/vendor_cesium.py --check    # is the vendored copy the pinned version?

Needs Node/npm and the npm registry (only when vendoring; the package never needs them).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "tools" / "cesium"
DEST = ROOT / "src" / "orbemu" / "web" / "static" / "cesium"
KEEP = ("Cesium.js", "Workers", "ThirdParty", "Assets", "Widgets")
LICENSES = ("LICENSE.md", "ThirdParty.json")


def pinned_version() -> str:
    return str(json.loads((PINS / "package.json").read_text())["dependencies"]["cesium"])


def vendored_version() -> str | None:
    path = DEST / "VERSION"
    return path.read_text().strip() if path.is_file() else None


def vendor() -> None:
    version = pinned_version()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(PINS / name, work / name)
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=work,
                       check=True)
        pkg = work / "node_modules" / "cesium"
        got = json.loads((pkg / "package.json").read_text())["version"]
        if got != version:
            sys.exit(f"npm installed cesium {got}, the pin is {version}")
        build = pkg / "Build" / "Cesium"
        if DEST.exists():
            shutil.rmtree(DEST)
        DEST.mkdir(parents=True)
        for name in KEEP:
            src = build / name
            if src.is_dir():
                shutil.copytree(src, DEST / name,
                                ignore=shutil.ignore_patterns("*.map", "*.ts"))
            else:
                shutil.copy2(src, DEST / name)
        for name in LICENSES:
            shutil.copy2(pkg / name, DEST / name)
    (DEST / "VERSION").write_text(version + "\n")
    size = sum(p.stat().st_size for p in DEST.rglob("*") if p.is_file())
    count = sum(1 for p in DEST.rglob("*") if p.is_file())
    print(f"cesium {version}: {count} files, {size / 1e6:.1f} MB in {DEST.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check that the vendored copy is the pinned version")
    args = parser.parse_args()
    if args.check:
        have, want = vendored_version(), pinned_version()
        if have != want or not (DEST / "Cesium.js").is_file():
            sys.exit(f"vendored cesium is {have}, the pin is {want}: run python "
                     "tools/vendor_cesium.py")
        print(f"vendored cesium {have} matches the pin")
        return
    vendor()


if __name__ == "__main__":
    main()
