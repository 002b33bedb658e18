"""The load curves of the Online Boutique scenarios, as plain functions: no Locust import, so
test_shapes.py runs them on any python3. locustfile.py wraps the plan chosen here in Locust's
LoadTestShape. See README.md for the environment variables.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

SHAPES = ("daily", "flash-sale", "trace")

# Defaults of the environment variables, as README.md documents them.
DEFAULTS = {
    "PEAK_USERS": 100,
    "DAY_SECONDS": 600.0,
    "TROUGH_RATIO": 0.25,
    "DAYS": 1.0,
    "BASE_USERS": 30,
    "FLASH_MULTIPLIER": 3.0,
    "FLASH_START_SECONDS": 120.0,
    "FLASH_DURATION_SECONDS": 180.0,
    "FLASH_TOTAL_SECONDS": 480.0,
    "TRACE_SPEED": 60.0,
    "TRACE_OFFSET_MINUTES": 0,
}


class ConfigError(ValueError):
    """A missing or malformed environment variable or trace file; the message says which."""


def round_half_up(x: float) -> int:
    """Rounds .5 up (Python's round() rounds it to even, which makes curves lopsided)."""
    return int(math.floor(x + 0.5))


# --- the curves -----------------------------------------------------------------------------------


def daily_fraction(t: float, day_seconds: float, trough_ratio: float = 0.25) -> float:
    """Share of the peak at t seconds into a compressed day of day_seconds: a cosine that starts at
    the trough (think 4 a.m.), peaks halfway through (4 p.m.) and is back at the trough after one
    period; it repeats for later days."""
    phase = (t % day_seconds) / day_seconds
    return trough_ratio + (1.0 - trough_ratio) * (1.0 - math.cos(2.0 * math.pi * phase)) / 2.0


def daily_users(t: float, day_seconds: float, peak_users: int, trough_ratio: float = 0.25) -> int:
    return round_half_up(peak_users * daily_fraction(t, day_seconds, trough_ratio))


def flash_sale_users(t: float, base_users: int, multiplier: float, start: float, duration: float) -> int:
    """base_users, then base_users × multiplier from start for duration seconds, then base_users again."""
    if start <= t < start + duration:
        return round_half_up(base_users * multiplier)
    return base_users


def parse_trace(text: str, name: str = "<trace>") -> List[float]:
    """Reads a trace in Amadeus's form, a header ``timestamp,requests`` optionally followed by
    ``observed`` (and ``cpu``/``memory``, ignored), one row per minute, into one value per minute
    from the first row's. An unobserved minute (observed 0 or empty, an empty requests field, or a
    minute skipped between rows) holds the previous value; leading ones take the first observed."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise ConfigError(f"{name}: empty trace")
    columns = [c.strip().lower() for c in rows[0]]
    if columns[:2] != ["timestamp", "requests"]:
        raise ConfigError(f"{name}:1: bad header {','.join(rows[0])!r}: expected timestamp,requests[,observed]")
    observed_col = columns.index("observed") if "observed" in columns else -1

    values: List[Optional[float]] = []
    first: Optional[datetime] = None
    previous: Optional[datetime] = None
    for number, row in enumerate(rows[1:], start=2):
        if not row or all(not f.strip() for f in row):
            continue
        if len(row) != len(columns):
            raise ConfigError(f"{name}:{number}: expected {len(columns)} fields, got {len(row)}")
        stamp = _timestamp(row[0].strip(), name, number)
        if previous is not None and stamp <= previous:
            raise ConfigError(f"{name}:{number}: timestamp {row[0]!r} is not after the previous row's")
        if first is None:
            first = stamp
        seconds = (stamp - first).total_seconds()
        if seconds % 60:
            raise ConfigError(f"{name}:{number}: timestamp {row[0]!r} is not a whole number of minutes after the first row's")
        slot = int(seconds // 60)
        while len(values) < slot:
            values.append(None)  # a skipped minute: unknown
        previous = stamp

        flag = row[observed_col].strip() if observed_col >= 0 else "1"
        if flag not in ("0", "1", ""):
            raise ConfigError(f"{name}:{number}: observed must be 0, 1 or empty, got {flag!r}")
        requests = row[1].strip()
        if flag != "1" or requests == "":
            values.append(None)
            continue
        try:
            value = float(requests)
        except ValueError:
            raise ConfigError(f"{name}:{number}: requests {requests!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{name}:{number}: requests {requests!r} is not a finite number >= 0")
        values.append(value)

    known = [v for v in values if v is not None]
    if not known:
        raise ConfigError(f"{name}: no observed rows")
    carry = known[0]
    held: List[float] = []
    for v in values:
        if v is not None:
            carry = v
        held.append(carry)
    return held


def _timestamp(text: str, name: str, number: int) -> datetime:
    try:
        stamp = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise ConfigError(f"{name}:{number}: unparsable timestamp {text!r}: expected ISO-8601, e.g. 1995-07-01T00:00:00-04:00") from None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=timezone.utc)


def trace_minute(t: float, speed: float) -> int:
    """The trace minute replayed t seconds into the run at speed× real time."""
    return int(t * speed // 60)


def trace_users(requests: Sequence[float], minute: int, peak_users: int) -> int:
    """Users for a minute of the replayed window: proportional to its requests, the window's
    busiest minute getting peak_users."""
    peak = max(requests)
    if peak <= 0:
        return 0
    return round_half_up(requests[minute] / peak * peak_users)


# --- the plan the environment selects ---------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a LoadTestShape needs: users at each second, a spawn rate and when to stop."""

    name: str
    total_seconds: float
    spawn_rate: float
    users_at: Callable[[float], int]
    description: str

    def tick(self, run_time: float) -> Optional[Tuple[int, float]]:
        """Locust's LoadTestShape.tick(): (users, spawn rate), or None once the run is over."""
        if run_time >= self.total_seconds:
            return None
        return self.users_at(run_time), self.spawn_rate


def env_number(env: Mapping[str, str], name: str, default: Optional[float], *, integer: bool = False,
               minimum: float = 0.0, above_minimum: bool = False, maximum: Optional[float] = None) -> float:
    """A number from env[name] (default when unset or empty), checked against its bounds."""
    raw = env.get(name, "").strip()
    if raw == "":
        if default is None:
            raise ConfigError(f"{name} is required")
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = math.nan
    low_ok = value > minimum if above_minimum else value >= minimum
    if not (math.isfinite(value) and low_ok and (maximum is None or value <= maximum)):
        kind = "an integer" if integer else "a number"
        bound = f"{'>' if above_minimum else '>='} {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
        raise ConfigError(f"{name} must be {kind} {bound}, got {raw!r}")
    return value


def plan_from_env(env: Mapping[str, str], read_file: Optional[Callable[[str], str]] = None) -> Optional[Plan]:
    """The plan AMADEUS_SHAPE selects; None when it is unset, empty or "none" (then Locust's own
    --users/--spawn-rate/--run-time apply)."""
    shape = env.get("AMADEUS_SHAPE", "").strip().lower()
    if shape in ("", "none"):
        return None
    if shape not in SHAPES:
        raise ConfigError(f"AMADEUS_SHAPE must be one of {', '.join(SHAPES)} (or unset), got {env['AMADEUS_SHAPE']!r}")
    d = DEFAULTS

    def spawn_rate(peak: int) -> float:
        # By default fast enough to make any step within a second: a surge is sudden.
        return env_number(env, "SPAWN_RATE", float(max(1, peak)), above_minimum=True)

    if shape == "daily":
        peak = int(env_number(env, "PEAK_USERS", d["PEAK_USERS"], integer=True, minimum=1))
        day = env_number(env, "DAY_SECONDS", d["DAY_SECONDS"], above_minimum=True)
        trough = env_number(env, "TROUGH_RATIO", d["TROUGH_RATIO"], maximum=1.0)
        days = env_number(env, "DAYS", d["DAYS"], above_minimum=True)
        return Plan(
            name=shape,
            total_seconds=day * days,
            spawn_rate=spawn_rate(peak),
            users_at=lambda t: daily_users(t, day, peak, trough),
            description=f"daily cycle: {round_half_up(peak * trough)}..{peak} users, a day every {day:g} s, {days:g} day(s)",
        )

    if shape == "flash-sale":
        base = int(env_number(env, "BASE_USERS", d["BASE_USERS"], integer=True, minimum=1))
        multiplier = env_number(env, "FLASH_MULTIPLIER", d["FLASH_MULTIPLIER"], above_minimum=True)
        start = env_number(env, "FLASH_START_SECONDS", d["FLASH_START_SECONDS"])
        duration = env_number(env, "FLASH_DURATION_SECONDS", d["FLASH_DURATION_SECONDS"], above_minimum=True)
        total = env_number(env, "FLASH_TOTAL_SECONDS", d["FLASH_TOTAL_SECONDS"], above_minimum=True)
        surge = round_half_up(base * multiplier)
        return Plan(
            name=shape,
            total_seconds=total,
            spawn_rate=spawn_rate(max(base, surge)),
            users_at=lambda t: flash_sale_users(t, base, multiplier, start, duration),
            description=f"flash sale: {base} users, {surge} from {start:g} s for {duration:g} s, {total:g} s in all",
        )

    path = env.get("TRACE_CSV", "").strip()
    if not path:
        raise ConfigError("TRACE_CSV is required for AMADEUS_SHAPE=trace")
    peak = int(env_number(env, "PEAK_USERS", d["PEAK_USERS"], integer=True, minimum=1))
    speed = env_number(env, "TRACE_SPEED", d["TRACE_SPEED"], above_minimum=True)
    offset = int(env_number(env, "TRACE_OFFSET_MINUTES", d["TRACE_OFFSET_MINUTES"], integer=True))
    try:
        text = read_file(path) if read_file else _read(path)
    except OSError as err:
        raise ConfigError(f"TRACE_CSV: cannot read {path}: {err.strerror or err}") from None
    minutes = parse_trace(text, path)
    if offset >= len(minutes):
        raise ConfigError(f"TRACE_OFFSET_MINUTES={offset} is past the trace's {len(minutes)} minutes")
    count = int(env_number(env, "TRACE_MINUTES", float(len(minutes) - offset), integer=True, minimum=1))
    window = minutes[offset:offset + count]
    if max(window) <= 0:
        raise ConfigError(f"{path}: the replayed minutes have no requests")
    return Plan(
        name=shape,
        total_seconds=len(window) * 60.0 / speed,
        spawn_rate=spawn_rate(peak),
        users_at=lambda t: trace_users(window, min(trace_minute(t, speed), len(window) - 1), peak),
        description=f"trace replay: {len(window)} minutes of {path} from minute {offset} at {speed:g}x, up to {peak} users",
    )


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()
