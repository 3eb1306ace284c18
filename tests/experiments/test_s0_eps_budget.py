"""bench/s0_eps_budget.py: S0's source stage alone with the per-epoch claim margin."""
import importlib.util
import json
from pathlib import Path

import pytest

from sem_sionna.utils.io import read_csv

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "s0_eps_budget.py"

pytestmark = pytest.mark.slow


def _script():
    spec = importlib.util.spec_from_file_location("s0_eps_budget", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_budget_run_logs_the_margin_per_epoch_and_evaluates_the_claim(tmp_path):
    out = tmp_path / "budget"
    entry = _script().main(["--profile", "smoke", "--epochs", "3", "--exact-every", "3",
                            "--no-early-stop", "--out", str(out)])
    assert entry["id"] == "s0_eps_anticorrelated_with_flip_cost"
    assert entry["verdict"] in ("reproduced", "partly", "not reproduced")
    assert entry["evidence"]["n"] == 256  # smoke: M = 256 bits
    margins = read_csv(out / "claim_margins.csv")
    gn = [r for r in margins if "Gauss-Newton" in r["comparison"]]
    exact = [r for r in margins if "exact" in r["comparison"]]
    assert [r["epoch"] for r in gn] == [1, 2, 3]  # the epoch cap replaced the profile's
    assert [r["epoch"] for r in exact] == [3]  # every --exact-every epochs
    assert all(r["margin_low"] <= r["margin"] <= r["margin_high"] for r in margins)
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "done" and run["config"]["stage1"]["epochs"] == 3
    hist = run["training"]["s0_source"]
    assert len(hist["eps_flip_rho"]) == 3 and hist["eps_flip_exact_rho"][:2] == [None, None]
    assert gn[-1]["margin"] == pytest.approx(-hist["eps_flip_rho"][-1], rel=1e-5)
    # the last epoch is the kept one: its exact margin is the claim's own evidence
    assert hist["val_mse"][-1] == min(hist["val_mse"])
    assert exact[0]["margin"] == pytest.approx(-entry["evidence"]["rho"], rel=1e-5)
    eps = read_csv(out / "learned_eps.csv")
    assert len(eps) == 256 and {"flip_cost", "flip_cost_gn"} <= set(eps[0])
    assert run["flip_cost_gauss_newton"]["n_bits"] == 256
    for name in ("claim_margins.png", "learning_curves.png", "CLAIMS.md"):
        assert (out / name).stat().st_size > 100, name


def test_budget_rejects_a_bad_epoch_count(capsys):
    for flag in ("--epochs", "--exact-every"):
        with pytest.raises(SystemExit):
            _script().parse_args([flag, "0"])
        assert flag in capsys.readouterr().err
