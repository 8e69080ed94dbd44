"""``amo-bridge distribution``: status, pause/resume, explain a decision, simulate the rotation."""

from __future__ import annotations

import json
from typing import Any

import click

from amo_bridge.cli.context import AppContext, pass_app
from amo_bridge.distribution import repository as repo
from amo_bridge.distribution.config import parse_members
from amo_bridge.distribution.model import CHOICE_ENTITIES, Pool


@click.group()
def distribution() -> None:
    """Fair lead distribution: status, pause, resume, explain, simulate."""


def _pools(app: AppContext) -> tuple[Pool, ...]:
    return app.settings.distribution.pools()


@distribution.command()
@click.option("--pool", "pool_name", help="Only this pool.")
@pass_app
def status(app: AppContext, pool_name: str | None) -> None:
    """Per member: assigned today / this week, share vs target, paused or off shift, open leads."""
    pools = [p for p in _pools(app) if pool_name in (None, p.name)]
    if not pools:
        raise click.UsageError(
            f"no pool {pool_name!r} in DISTRIBUTION_POOLS" if pool_name else "no pools configured"
        )
    store = app.open_store()
    now = store.clock.now()
    calendar = app.settings.distribution.calendar(app.settings.amo.timezone)
    with store.read() as conn:
        for pool in pools:
            today = repo.counts_since(conn, pool.name, calendar.day_start(now))
            week = repo.counts_since(conn, pool.name, calendar.week_start(now))
            open_leads = repo.open_counts(conn, pool.name)
            statuses = repo.member_statuses(conn, pool, day_start=calendar.day_start(now))
            names = repo.crm_user_names(conn, sorted(pool.user_ids))
            total_weight = sum(m.weight for m in pool.members)
            week_total = sum(week.get(m.user_id, 0) for m in pool.members)
            click.echo(
                f"pool {pool.name} ({pool.trigger}): {len(pool.members)} members, {len(pool.rules)} rules"
            )
            click.echo(
                f"  {'user':>10} {'name':<18} {'w':>3} {'today':>6} {'week':>6} {'share':>7} {'target':>7} "
                f"{'open':>5}  state"
            )
            for member in pool.members:
                uid = member.user_id
                name, _active = names.get(uid, ("?", True))
                st = statuses[uid]
                state = "inactive" if not st.active else "paused" if st.paused else None
                state = state or calendar.absence(uid, now) or "on shift"
                done_today, done_week = today.get(uid, 0), week.get(uid, 0)
                share = done_week / week_total if week_total else 0.0
                target = member.weight / total_weight
                click.echo(
                    f"  {uid:>10} {name[:18]:<18} {member.weight:>3} {done_today:>6} {done_week:>6}"
                    f" {share:>7.1%} {target:>7.1%} {open_leads.get(uid, 0):>5}  {state}"
                )


@distribution.command()
@click.argument("user_id", type=int)
@click.option("--pool", "pool_name", help="Pause in this pool only (default: every pool).")
@click.option("--reason", help="Why (shown by status and kept with the pause).")
@pass_app
def pause(app: AppContext, user_id: int, pool_name: str | None, reason: str | None) -> None:
    """Stop giving new leads to USER_ID (amoCRM user id) until resumed."""
    store = app.open_store()
    with store.begin() as conn:
        repo.pause(conn, user_id, pool_name or repo.ALL_POOLS, store.clock.now(), reason)
    click.echo(f"user {user_id} paused in {pool_name or 'every pool'}")


@distribution.command()
@click.argument("user_id", type=int)
@click.option("--pool", "pool_name", help="Resume in this pool only (default: remove every pause).")
@pass_app
def resume(app: AppContext, user_id: int, pool_name: str | None) -> None:
    """Give USER_ID leads again; they rejoin level with the others (no catch-up burst)."""
    store = app.open_store()
    with store.begin() as conn:
        removed = repo.resume(conn, user_id, pool_name)
    click.echo(f"user {user_id} resumed ({removed} pause(s) removed)")


@distribution.command()
@click.argument("lead_id")
@click.option("--json", "as_json", is_flag=True, help="Print the decisions as JSON.")
@pass_app
def explain(app: AppContext, lead_id: str, as_json: bool) -> None:
    """Every decision about LEAD_ID (a lead id or an unsorted uid): who, why, and who else."""
    store = app.open_store()
    with store.read() as conn:
        if lead_id.isdigit():
            # The lead's own decisions and choices tied to it; a won deal's choice of account manager.
            rows = repo.assignments_of_lead(conn, int(lead_id))
            known = {r.id for r in rows}
            rows += [r for r in repo.assignments_of_entity(conn, "won_deal", lead_id) if r.id not in known]
        else:
            rows = repo.assignments_of_entity(conn, "unsorted", lead_id)
        entities = {(r.entity_type, r.entity_id) for r in rows} or {
            ("lead", lead_id) if lead_id.isdigit() else ("unsorted", lead_id)
        }
        items = [item for etype, eid in sorted(entities) for item in repo.items_of(conn, etype, eid)]
    if as_json:
        click.echo(json.dumps([_row_dict(r) for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows and not items:
        click.echo(f"no decision about {lead_id}")
        raise SystemExit(1)
    for row in rows:
        click.echo(
            f"pool {row.pool} episode {row.episode}#{row.seq}{_entity(row)}: user {row.user_id} ({row.reason}"
            f"{', rule ' + row.rule if row.rule else ''}) state {row.state}"
            f"{' - ' + row.note if row.note else ''}"
        )
        for candidate in json.loads(row.candidates):
            mark = "+" if candidate["eligible"] else "-"
            lag = f" lag {candidate['lag']:+.3f}" if "lag" in candidate else ""
            click.echo(f"    {mark} user {candidate['user_id']}: {candidate['why']}{lag}")
    for item in items:
        if item.state == "pending":
            click.echo(f"pending {item.kind} (attempts {item.attempts}): {item.last_error or 'waiting'}")


def _entity(row: Any) -> str:
    """What a choice was made for (``choose``): a won deal's account manager, a trigger rule's task."""
    if row.entity_type not in CHOICE_ENTITIES:
        return ""
    what = "won deal" if row.entity_type == "won_deal" else "trigger"
    lead = f", lead {row.lead_id}" if row.lead_id is not None else ""
    return f" ({what} {row.entity_id}{lead})"


def _row_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["candidates"] = json.loads(data["candidates"])
    return data


@distribution.command()
@click.option("--leads", type=click.IntRange(1, 10_000_000), default=10_000, show_default=True)
@click.option(
    "--members",
    default="1,2,3*2,4,5*3",
    show_default=True,
    help="Members with weights, as in DISTRIBUTION_POOLS (101,102*2).",
)
@click.option("--joins", type=click.IntRange(0), default=1, show_default=True, help="Members who join late.")
@click.option("--pauses", type=click.IntRange(0), default=20, show_default=True, help="Random pauses.")
@click.option("--shifts/--no-shifts", default=True, show_default=True, help="Two overlapping shifts.")
@click.option("--seed", type=int, default=1, show_default=True)
def simulate(leads: int, members: str, joins: int, pauses: int, shifts: bool, seed: int) -> None:
    """Run the engine on generated arrivals (joins, pauses, shifts) and print the fairness figures."""
    from amo_bridge.distribution.simulate import simulate as run

    try:
        parsed = parse_members(members)
    except ValueError as exc:
        raise click.BadParameter(f"expected {exc}", param_hint="--members") from None
    result = run(parsed, leads, seed=seed, joins=joins, pauses=pauses, shifts=shifts)
    total = sum(result.counts.values())
    click.echo(
        f"{result.leads} leads, {len(parsed)} members, {result.joins} late join(s), {result.pauses} pauses"
    )
    click.echo(f"  {'user':>8} {'w':>3} {'available':>9} {'leads':>7} {'share':>7}")
    for member in parsed:
        got = result.counts.get(member.user_id, 0)
        click.echo(
            f"  {member.user_id:>8} {member.weight:>3} {result.availability[member.user_id]:>9.1%} {got:>7}"
            f" {got / total if total else 0:>7.1%}"
        )
    click.echo(f"max deviation from weighted share: {result.max_deviation:.3f} leads (bound: < 1)")
    click.echo(f"max deviation of members available throughout: {result.core_max_deviation:.3f} leads")
    click.echo(f"engine: {result.decisions_per_second:,.0f} decisions per second")
