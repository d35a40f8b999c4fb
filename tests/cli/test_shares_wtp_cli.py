"""`dce shares` and `dce wtp` through the command line, on the SIMULATED conditional logit of conftest."""
import json

from click.testing import CliRunner

from dce.cli import cli


def test_shares_and_wtp_commands(fitted, scenarios_file, tmp_path):
    out = tmp_path / "shares.json"
    sc = scenarios_file
    r = CliRunner().invoke(cli, ["shares", str(fitted[0]), "--scenarios", str(sc), "--seed", "5", "-o", str(out)])
    assert r.exit_code == 0, r.output
    j = json.loads(out.read_text())
    assert j["reference"] == "cheap basic" and j["ci_method"] == "krinsky-robb" and j["seed"] == 5
    assert [s["name"] for s in j["scenarios"]] == ["dear best", "mid good"]
    assert set(j["scenarios"][0]) == {"name", "share", "ci_low", "ci_high"}
    r = CliRunner().invoke(cli, ["wtp", str(fitted[0]), "--cost", "price", "--seed", "1", "--sims", "200"])
    assert r.exit_code == 0 and "Willingness to pay" in r.output and "importance" in r.output
    r = CliRunner().invoke(cli, ["wtp", str(fitted[0]), "--cost", "quality"])
    assert r.exit_code == 2 and "categorical" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = CliRunner().invoke(cli, ["shares", str(bad), "--scenarios", str(sc)])
    assert r.exit_code == 2 and "bad.json" in r.output
