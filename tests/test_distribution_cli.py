from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from amo_bridge.cli.main import cli
from amo_bridge.clock import FakeClock
from amo_bridge.distribution import repository as repo
from amo_bridge.distribution.model import Arrival
from amo_bridge.store import Store
from tests.distribution_helpers import l1_pool, make_service, seed_unsorted, unsorted_arrival


def env(tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "DISTRIBUTION_POOLS": "L1 = unsorted 7001 : 1,2,3*2",
        "AMO_TIMEZONE": "UTC",
    }


def invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--env-file", str(tmp_path / "none.env"), *args], env=env(tmp_path))
    return result.exit_code, result.output


def test_pause_resume_and_status(tmp_path: Path) -> None:
    (tmp_path / "none.env").write_text("", encoding="utf-8")
    code, out = invoke(tmp_path, "distribution", "pause", "2", "--reason", "sick")
    assert code == 0, out
    code, out = invoke(tmp_path, "distribution", "status")
    assert code == 0, out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip() and line.split()[0].isdigit()}
    assert lines["2"].rstrip().endswith("paused")
    assert "50.0%" in lines["3"]  # target share of weight 2 out of 4
    code, out = invoke(tmp_path, "distribution", "resume", "2")
    assert code == 0
    assert "1 pause(s) removed" in out
    code, out = invoke(tmp_path, "distribution", "status", "--pool", "L9")
    assert code == 2


def test_explain_shows_decision_and_candidates(tmp_path: Path) -> None:
    (tmp_path / "none.env").write_text("", encoding="utf-8")
    store = Store(env(tmp_path)["DATABASE_URL"], clock=FakeClock())
    store.upgrade()
    service, amo, _ = make_service(store, [l1_pool(1, 2)])
    with store.begin() as conn:
        repo.pause(conn, 2, "*", 0.0, None)
    seed_unsorted(amo, 1)
    service.handle(unsorted_arrival(1))
    code, out = invoke(tmp_path, "distribution", "explain", "100001")
    assert code == 0, out
    assert "pool L1 episode 1#0: user 1 (rotation) state active" in out
    assert "- user 2: paused" in out
    code, out = invoke(tmp_path, "distribution", "explain", "uid-1")
    assert "user 1 (rotation)" in out
    code, out = invoke(tmp_path, "distribution", "explain", "999")
    assert code == 1
    assert "no decision" in out


def test_simulate_prints_fairness_figures() -> None:
    result = CliRunner().invoke(cli, ["distribution", "simulate", "--leads", "2000", "--members", "1,2*2,3"])
    assert result.exit_code == 0, result.output
    deviation = next(line for line in result.output.splitlines() if line.startswith("max deviation from"))
    assert float(deviation.split(":")[1].split()[0]) < 1
    bad = CliRunner().invoke(cli, ["distribution", "simulate", "--members", "x"])
    assert bad.exit_code == 2


def test_explain_shows_a_choice_by_won_deal_and_by_its_retention_lead(tmp_path: Path) -> None:
    (tmp_path / "none.env").write_text("", encoding="utf-8")
    store = Store(env(tmp_path)["DATABASE_URL"], clock=FakeClock())
    store.upgrade()
    service, _, _ = make_service(store, [l1_pool(1, 2)])
    service.choose("L1", Arrival("won_deal", "77", 7002))
    service.link_lead("won_deal", "77", 901)
    for key in ("77", "901"):
        code, out = invoke(tmp_path, "distribution", "explain", key)
        assert code == 0, out
        assert "pool L1 episode 1#0 (won deal 77, lead 901): user 1 (rotation) state active" in out
