"""What one measured pass of a side yields, the pooling of a side's rounds, and the lines
the bench prints."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.live.measure import Delivery, percentile

BUNCHED_MS = 10.0


@dataclass
class Phase:
    delivery: Delivery
    tap: Delivery | None  # the publish -> Redis part, for the GraphQL side
    past_redis: Delivery | None  # the Redis -> gateway -> client part, for the GraphQL side
    bunched: float  # share of consecutive values of a run that reached Redis close together
    calls_ms: list[float]  # publish call durations, sorted
    cpu: dict[str, float]  # label -> % of one core over the measured window
    errors: list[str]


def _pool(deliveries: list[Delivery]) -> Delivery:
    latencies = sorted(x for d in deliveries for x in d.latencies_ms)
    return Delivery(latencies, [r for d in deliveries for r in d.ratios])


def pool(phases: list[Phase]) -> Phase:
    """A side's rounds as one: latencies and ratios together, CPU averaged."""
    taps = [p.tap for p in phases if p.tap is not None]
    hops = [p.past_redis for p in phases if p.past_redis is not None]
    labels = {label for p in phases for label in p.cpu}
    cpu = {
        label: sum(p.cpu.get(label, 0.0) for p in phases) / len(phases)
        for label in sorted(labels, key=lambda label: list(phases[0].cpu).index(label))
    }
    return Phase(
        _pool([p.delivery for p in phases]),
        _pool(taps) if taps else None,
        _pool(hops) if hops else None,
        sum(p.bunched for p in phases) / len(phases),
        sorted(x for p in phases for x in p.calls_ms),
        cpu,
        [e for p in phases for e in p.errors],
    )


def latency_line(d: Delivery) -> str:
    worst = d.latencies_ms[-1] if d.latencies_ms else math.nan
    return (
        f"p50 {d.p(50):6.2f}  p95 {d.p(95):6.2f}  p99 {d.p(99):6.2f}  max {worst:7.2f}  "
        f"(n={len(d.latencies_ms)})"
    )


def gateway_line(phase: Phase, seconds: float) -> str:
    """Both gateways' CPU, and per update they delivered to a subscriber."""
    pct = sum(v for label, v in phase.cpu.items() if label.startswith("gateway-"))
    per_second = len(phase.delivery.latencies_ms) / seconds
    per_update = pct / 100 / per_second * 1000 if per_second else math.nan
    return (
        f"  gateways: {pct:.0f}% of one core together for {per_second:.0f} updates/s delivered "
        f"({per_update:.2f} ms CPU per update)"
    )


def report(title: str, phases: list[Phase], seconds: float, values: int) -> Phase:
    """Prints a side's pooled numbers; returns them."""
    phase = pool(phases)
    d = phase.delivery
    mean = sum(d.ratios) / len(d.ratios) if d.ratios else math.nan
    rounds = ", ".join(f"{p.delivery.p(50):.1f}/{p.delivery.p(95):.1f}" for p in phases)
    print(
        f"{title}\n"
        f"  publish -> receipt, ms   {latency_line(d)}\n"
        f"  p50/p95 per round, ms: {rounds}\n"
        f"  delivery: {mean:.1%} of the {values} values per subscriber and round on average, "
        f"min {min(d.ratios, default=0):.1%}; {d.complete}/{len(d.ratios)} saw every one",
        flush=True,
    )
    if phase.tap is not None and phase.past_redis is not None:
        calls = phase.calls_ms
        print(
            f"  publish -> Redis (a raw subscriber on trawl:run:<id>), ms   "
            f"{latency_line(phase.tap)}\n"
            f"  Redis -> gateway -> client (receipt less the raw subscriber's), ms   "
            f"{latency_line(phase.past_redis)}\n"
            f"  ReportStreamStats call, ms   p50 {percentile(calls, 50):6.2f}  "
            f"p99 {percentile(calls, 99):6.2f}; {phase.bunched:.1%} of a run's updates reached "
            f"Redis <{BUNCHED_MS:g} ms after the one before\n"
            f"{gateway_line(phase, seconds * len(phases))}",
            flush=True,
        )
    cpu = ", ".join(f"{label} {pct:.0f}" for label, pct in phase.cpu.items())
    print(f"  cpu, % of one core: {cpu}", flush=True)
    for error in phase.errors[:5]:
        print(f"  !! {error}", flush=True)
    return phase


def _ratios(g: Delivery, b: Delivery) -> str:
    return "  ".join(
        f"p{q} x{g.p(q) / b.p(q):.1f} (+{g.p(q) - b.p(q):.1f} ms)" for q in (50, 95, 99)
    )


def compare(live: Phase, base: Phase) -> None:
    print(f"graphql / bare, publish -> receipt:    {_ratios(live.delivery, base.delivery)}")
    if live.past_redis is not None:
        hop = _ratios(live.past_redis, base.delivery)
        print(f"graphql Redis -> receipt / bare:       {hop}", flush=True)
