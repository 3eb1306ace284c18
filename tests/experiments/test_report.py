import json

import numpy as np

from sem_sionna.experiments import report
from sem_sionna.metrics import Claim, Greater, PerImage


def _samples():
    rng = np.random.default_rng(0)
    s = PerImage()
    base = rng.normal(20, 2, 64)
    for snr in (0.0, 10.0):
        point = {"channel": "awgn", "cbr": 0.5, "snr_db": snr}
        s.add({"scheme": "a", **point}, {"psnr": base + 1.0 + rng.normal(0, 0.1, 64)})
        s.add({"scheme": "b", **point}, {"psnr": base})
    return s


CLAIMS = (Claim("a_beats_b", "S9 Fig. 1", "a above b at every SNR",
                Greater("a", "b", "psnr", over="snr_db")),
          Claim("b_beats_a", "S9 Fig. 2", "b above a at every SNR",
                Greater("b", "a", "psnr", over="snr_db")))


def test_write_claims_computes_verdicts_and_readme_block(tmp_path):
    out = tmp_path / "results" / "toy"
    out.mkdir(parents=True)
    _samples().save(out / "per_image.npz")
    entries = report.write_claims(out, CLAIMS, title="toy")
    assert [e["verdict"] for e in entries] == ["reproduced", "not reproduced"]
    on_disk = json.loads((out / "claims.json").read_text())
    assert on_disk == entries and set(on_disk[0]) == {"id", "source", "statement", "rule",
                                                       "verdict", "evidence"}
    assert "**reproduced**" in (out / "CLAIMS.md").read_text()
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- BEGIN claims:toy -->\nold\n<!-- END claims:toy -->\nend\n")
    assert report.main(["--readme", str(readme), "--results", str(tmp_path / "results")]) == 0
    text = readme.read_text()
    assert "old" not in text and "a_beats_b" in text and text.endswith("end\n")


def test_runs_block_from_run_json(tmp_path):
    out = tmp_path / "results" / "toy"
    out.mkdir(parents=True)
    (out / "run.json").write_text(json.dumps({
        "profile": "quick", "git_commit": "0123456789abcdef", "git_dirty": False,
        "status": "done", "wall_s": 600.0, "peak_rss_mib": {"train": 1024.0, "sweep": 2048.0}}))
    table = report.runs_markdown(tmp_path / "results")
    assert "| `toy` | quick | `0123456789` | yes | done | 10.0 min | 2.00 GiB |" in table
    readme = tmp_path / "README.md"
    readme.write_text("<!-- BEGIN runs -->\n<!-- END runs -->\n")
    assert report.update_readme(readme, tmp_path / "results") == ["runs"]
    assert "10.0 min" in readme.read_text()
