"""S2 scenario (SD-JSCC): smoke run end to end, determinism, and the SD-JSCC link glue."""
import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from sem_sionna.links.sdjscc import (SDJSCC_COLUMNS, SDJSCCLink, coded_ber,
                                     num_channel_uses_for)
from sem_sionna.links.transport_chain import TransportChain
from sem_sionna.nets.sdjscc import SDJSCCDecoder, SDJSCCEncoder
from sem_sionna.utils.io import read_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scenarios"))
import semantic_jscc  # noqa: E402


# -- link glue ------------------------------------------------------------------------------

def test_num_channel_uses_fits_payload():
    ncu = num_channel_uses_for(256, 4, 0.75)
    assert TransportChain(ncu, 4, 0.75).payload_bits >= 256
    assert TransportChain(ncu - 1, 4, 0.75).payload_bits < 256


def test_coded_ber_cliff():
    ncu = num_channel_uses_for(256, 4, 0.75)
    assert coded_ber(ncu, 4, 0.75, 20.0, num_blocks=16) == 0.0
    assert coded_ber(ncu, 4, 0.75, 0.0, num_blocks=16) > 0.1


def _link(channel="awgn", latent=2):
    enc, dec = SDJSCCEncoder(latent, filters=4), SDJSCCDecoder(filters=4)
    enc.build((None, 16, 16, 3))
    dec.build((None, 4, 4, latent))
    return SDJSCCLink(enc, dec, num_channel_uses_for(16 * latent, 4, 0.75), channel=channel,
                      seed=3)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh"])
def test_link_clean_channel_equals_noiseless_codec(rng, channel):
    link = _link(channel)
    x = rng.random((3, 16, 16, 3)).astype(np.float32)
    x_hat, info = link.run(x, 40.0)
    q = link.quantizer(link.encoder(x))
    np.testing.assert_allclose(x_hat, link.decoder(q), atol=1e-6)
    assert info["crc_ok"].all() and not info["bit_errors"].any()
    enc = link.encode(x)
    assert enc["bits"].shape == (3, link.chain.payload_bits) and enc["num_bits"] == 32
    assert not enc["bits"][:, 32:].any()  # zero padding


def test_link_low_snr_flips_bits_but_decodes(rng):
    link = _link()
    x = rng.random((4, 16, 16, 3)).astype(np.float32)
    x_hat, info = link.run(x, -5.0)
    assert info["bit_errors"].sum() > 0 and not info["crc_ok"].any()
    assert x_hat.shape == x.shape and np.isfinite(x_hat).all()


def test_link_rejects_too_small_payload(rng):
    enc, dec = SDJSCCEncoder(8, filters=4), SDJSCCDecoder(filters=4)
    link = SDJSCCLink(enc, dec, num_channel_uses=40)
    with pytest.raises(ValueError, match="num_channel_uses"):
        link.encode(rng.random((1, 16, 16, 3)).astype(np.float32))
    with pytest.raises(TypeError, match="encoder"):
        SDJSCCLink("enc", dec, 40)


def test_link_keras_roundtrip(rng, tmp_path):
    link = _link()
    inp = keras.Input((16, 16, 3), batch_size=2)
    model = keras.Model(inp, link(inp, 30.0))
    x = rng.random((2, 16, 16, 3)).astype(np.float32)
    out = model(x)
    model.save(tmp_path / "link.keras")
    loaded = keras.saving.load_model(tmp_path / "link.keras")
    np.testing.assert_allclose(loaded(x), out, atol=1e-6)


# -- scenario -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("semantic_jscc")
    semantic_jscc.main(["--profile", "smoke", "--out", str(out)])
    return out


def test_smoke_outputs(smoke_dir):
    for name in ("metrics.csv", "run.json", "accuracy_vs_snr.png", "psnr_vs_snr.png",
                 "semantic_weights.png", "examples.png"):
        assert (smoke_dir / name).stat().st_size > 0, name
    rows = read_csv(smoke_dir / "metrics.csv")
    header = (smoke_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == list(SDJSCC_COLUMNS)
    cfg = {**semantic_jscc.PROFILES["quick"], **semantic_jscc.PROFILES["smoke"]}
    schemes = {r["scheme"] for r in rows}
    assert schemes == {"deep_jscc", "sd_jscc_wo_gsw", "sd_jscc", *cfg["codecs"]}
    assert len(rows) == (len(schemes) * len(cfg["snr_db"]) * len(cfg["channels"])
                         * len(cfg["bpp"]))
    assert {r["bpp"] for r in rows} == set(cfg["bpp"])
    assert (smoke_dir / "accuracy_vs_cbr.png").exists()
    for r in rows:
        assert 0.0 <= r["accuracy"] <= 1.0 and r["n_images"] == cfg["n_test"]
        assert np.isfinite(r["psnr"]) and 0.0 <= r["fail_rate"] <= 1.0
    # above the LDPC threshold the link is error free
    assert all(r["ber"] == 0 for r in rows if r["snr_db"] >= 15)
    record = json.loads((smoke_dir / "run.json").read_text())
    assert record["status"] == "done" and record["profile"] == "smoke"
    sem = [w for w in record["semantic_weights"] if w is not None]
    assert sem and all(np.isclose(sum(w), cfg["r"], rtol=1e-4) for w in sem)


def test_smoke_rerun_loads_weights_and_repeats_metrics(smoke_dir):
    first = (smoke_dir / "metrics.csv").read_text()
    semantic_jscc.main(["--profile", "smoke", "--out", str(smoke_dir)])
    assert (smoke_dir / "metrics.csv").read_text() == first


def test_smoke_same_seed_retrained_gives_identical_csv(smoke_dir, tmp_path):
    semantic_jscc.main(["--profile", "smoke", "--out", str(tmp_path)])
    assert (tmp_path / "metrics.csv").read_text() == (smoke_dir / "metrics.csv").read_text()
