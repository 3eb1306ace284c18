"""The README's reuse example runs as written; its set-up commands match .ci/run."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_reuse_example_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    section = text.split("## Reuse the layers in your Sionna study", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    ber = float(out.split("BER at 20 dB:")[1].split()[0])
    assert 0.0 <= ber < 0.02


def test_ci_runs_the_readme_test_command():
    text = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", text.split("## Set up", 1)[1], re.S)[:2]
    assert commands[0] == "pip install -e . && python scenarios/split_vs_ldpc.py"
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
