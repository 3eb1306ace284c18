"""Parity of the "bpg" codec with libbpg 0.9.8's bpgenc on the embedded test patches.

Prints a markdown table: mean file size and PSNR, ours vs bpgenc, per patch size,
chroma format and QP. Skips (exit 0) when bpgenc/bpgdec are not found
(``SEM_SIONNA_LIBBPG``, ``PATH`` or ``../shared/tools/libbpg/``).

    python bench/bpg_parity.py [--n 8]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    from PIL import Image

    from sem_sionna import codecs
    from sem_sionna.codecs.base import to_uint8
    from sem_sionna.codecs.libbpg import bpgenc, find_libbpg
    from sem_sionna.data.embedded import embedded_patches

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="patches per size")
    args = parser.parse_args(argv)
    if find_libbpg() is None:
        print("skipped: bpgenc/bpgdec not found (SEM_SIONNA_LIBBPG, PATH, ../shared/tools/libbpg/)")
        return 0

    def psnr(x, y):
        return 10 * np.log10(255.0**2 / np.mean((x.astype(np.float64) - y) ** 2))

    print("| image | chroma | QP | bytes ours | bytes libbpg | PSNR ours | PSNR libbpg | bytes ratio |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for size in (32, 64):
            images = embedded_patches(size, "test", n=args.n)
            for chroma in ("420", "444"):
                codec = codecs.get("bpg", chroma_format=chroma)
                for qp in (20, 28, 34, 40, 45, 51):
                    ours_b, ref_b, ours_p, ref_p = [], [], [], []
                    for image in images:
                        pixels = to_uint8(image)
                        Image.fromarray(pixels).save(tmp / "in.png")
                        ours = codec.encode(image, qp)
                        ref = bpgenc(tmp / "in.png", tmp / "ref.bpg", qp, chroma)
                        ours_b.append(len(ours))
                        ref_b.append(len(ref))
                        ours_p.append(psnr(to_uint8(codec.decode(ours)), pixels))
                        ref_p.append(psnr(to_uint8(codec.decode(ref)), pixels))
                    print(f"| {size}x{size} | {chroma} | {qp} | {np.mean(ours_b):.1f} | "
                          f"{np.mean(ref_b):.1f} | {np.mean(ours_p):.2f} | {np.mean(ref_p):.2f} | "
                          f"{np.mean(ours_b) / np.mean(ref_b):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
