"""Unit tests of shapes.py, the load curves: standard library only, no Locust needed.

    python3 scripts/locust/test_shapes.py      (src/locust.test.ts runs it too)
"""
from __future__ import annotations

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes  # noqa: E402 - needs the path above
from shapes import ConfigError, Plan, plan_from_env  # noqa: E402

TRACE = "\n".join(
    [
        "timestamp,requests,observed",
        "2024-05-01T00:00:00-04:00,100,1",
        "2024-05-01T00:01:00-04:00,100,1",
        "2024-05-01T00:02:00-04:00,400,1",
        "2024-05-01T00:03:00-04:00,0,0",  # unobserved: holds 400
        "2024-05-01T00:04:00-04:00,7,",  # observed empty: holds 400
        "2024-05-01T00:05:00-04:00,200,1",
        # 00:06 missing: holds 200
        "2024-05-01T00:07:00-04:00,100,1",
        "",
    ]
)


def plan(env: dict, files: dict | None = None) -> Plan:
    result = plan_from_env(env, read_file=lambda path: (files or {})[path])
    assert result is not None
    return result


def users(p: Plan, times) -> list:
    return [p.users_at(t) for t in times]


class DailyTest(unittest.TestCase):
    def test_curve_runs_from_trough_to_peak_and_back(self):
        self.assertAlmostEqual(shapes.daily_fraction(0, 600), 0.25)
        self.assertAlmostEqual(shapes.daily_fraction(300, 600), 1.0)
        self.assertAlmostEqual(shapes.daily_fraction(150, 600), 0.625)
        self.assertAlmostEqual(shapes.daily_fraction(450, 600), 0.625)
        self.assertAlmostEqual(shapes.daily_fraction(600, 600), 0.25)  # the next day starts
        self.assertAlmostEqual(shapes.daily_fraction(900, 600), 1.0)
        self.assertAlmostEqual(shapes.daily_fraction(50, 100, trough_ratio=0.1), 1.0)
        self.assertAlmostEqual(shapes.daily_fraction(0, 100, trough_ratio=0.1), 0.1)

    def test_curve_is_smooth_and_symmetric(self):
        values = [shapes.daily_fraction(t, 600) for t in range(601)]
        self.assertTrue(all(abs(b - a) < 0.005 for a, b in zip(values, values[1:])))
        self.assertTrue(all(abs(values[t] - values[600 - t]) < 1e-9 for t in range(601)))
        self.assertTrue(all(0.25 - 1e-9 <= v <= 1 + 1e-9 for v in values))

    def test_users(self):
        self.assertEqual([shapes.daily_users(t, 8, 8) for t in range(9)], [2, 3, 5, 7, 8, 7, 5, 3, 2])
        self.assertEqual(shapes.daily_users(0, 600, 100), 25)
        self.assertEqual(shapes.daily_users(300, 600, 100), 100)

    def test_plan_defaults(self):
        p = plan({"AMADEUS_SHAPE": "daily"})
        self.assertEqual(p.total_seconds, 600)
        self.assertEqual(p.spawn_rate, 100)
        self.assertEqual(users(p, [0, 300]), [25, 100])
        self.assertEqual(p.tick(0), (25, 100))
        self.assertEqual(p.tick(599.9)[0], 25)
        self.assertIsNone(p.tick(600))

    def test_plan_from_env(self):
        p = plan({"AMADEUS_SHAPE": "Daily", "PEAK_USERS": "40", "DAY_SECONDS": "60", "TROUGH_RATIO": "0.5", "DAYS": "2.5", "SPAWN_RATE": "4"})
        self.assertEqual(p.total_seconds, 150)
        self.assertEqual(p.spawn_rate, 4)
        self.assertEqual(users(p, [0, 30, 60, 90, 120, 149]), [20, 40, 20, 40, 20, 40])  # 2.5 days end at a peak
        self.assertIsNone(p.tick(150))


class FlashSaleTest(unittest.TestCase):
    def test_curve(self):
        at = [shapes.flash_sale_users(t, 10, 3, 60, 30) for t in (0, 59.9, 60, 75, 89.9, 90, 200)]
        self.assertEqual(at, [10, 10, 30, 30, 30, 10, 10])
        self.assertEqual(shapes.flash_sale_users(5, 5, 2.5, 0, 10), 13)  # 12.5 rounds up

    def test_plan_defaults(self):
        p = plan({"AMADEUS_SHAPE": "flash-sale"})
        self.assertEqual(p.total_seconds, 480)
        self.assertEqual(p.spawn_rate, 90)  # the surge's users per second: the step is sudden
        self.assertEqual(users(p, [0, 119, 120, 299, 300, 479]), [30, 30, 90, 90, 30, 30])
        self.assertIsNone(p.tick(480))

    def test_plan_from_env(self):
        env = {"AMADEUS_SHAPE": "flash-sale", "BASE_USERS": "2", "FLASH_MULTIPLIER": "4", "FLASH_START_SECONDS": "2",
               "FLASH_DURATION_SECONDS": "3", "FLASH_TOTAL_SECONDS": "8"}
        p = plan(env)
        self.assertEqual([p.tick(t) for t in (0, 1.9, 2, 4.9, 5, 7.9)], [(2, 8), (2, 8), (8, 8), (8, 8), (2, 8), (2, 8)])
        self.assertIsNone(p.tick(8))


class TraceTest(unittest.TestCase):
    def test_parse_holds_unobserved_and_missing_minutes(self):
        self.assertEqual(shapes.parse_trace(TRACE), [100, 100, 400, 400, 400, 200, 200, 100])

    def test_parse_variants(self):
        # No observed column: every row counts; leading unobserved rows take the first observed value.
        self.assertEqual(shapes.parse_trace("timestamp,requests\n2024-05-01T00:00:00Z,5\n2024-05-01T00:01:00Z,6.5\n"), [5, 6.5])
        self.assertEqual(
            shapes.parse_trace("timestamp,requests,observed\n2024-05-01T00:00:00Z,0,0\n2024-05-01T00:01:00Z,,1\n2024-05-01T00:02:00Z,9,1\n"),
            [9, 9, 9],
        )
        # Amadeus's other optional columns are ignored; a BOM and CRLF are fine; offsets count.
        text = "\ufefftimestamp,requests,cpu,observed\r\n2024-05-01T00:00:00+02:00,3,0.5,1\r\n2024-04-30T22:02:00Z,4,0.5,1\r\n"
        self.assertEqual(shapes.parse_trace(text), [3, 3, 4])

    def test_parse_errors(self):
        cases = {
            "": "empty",
            "time,requests\n": "bad header",
            "timestamp,requests\nyesterday,1\n": "unparsable timestamp",
            "timestamp,requests\n2024-05-01T00:00:00Z,x\n": "not a number",
            "timestamp,requests\n2024-05-01T00:00:00Z,-1\n": ">= 0",
            "timestamp,requests\n2024-05-01T00:00:00Z,1,2\n": "expected 2 fields",
            "timestamp,requests\n2024-05-01T00:01:00Z,1\n2024-05-01T00:00:00Z,1\n": "not after",
            "timestamp,requests\n2024-05-01T00:00:00Z,1\n2024-05-01T00:00:30Z,1\n": "whole number of minutes",
            "timestamp,requests,observed\n2024-05-01T00:00:00Z,1,yes\n": "observed must be",
            "timestamp,requests,observed\n2024-05-01T00:00:00Z,1,0\n": "no observed rows",
        }
        for text, message in cases.items():
            with self.subTest(text=text):
                with self.assertRaisesRegex(ConfigError, message):
                    shapes.parse_trace(text, "t.csv")

    def test_minute_and_users(self):
        self.assertEqual([shapes.trace_minute(t, 60) for t in (0, 0.99, 1, 7.5)], [0, 0, 1, 7])
        self.assertEqual([shapes.trace_minute(t, 1) for t in (0, 59.9, 60, 125)], [0, 0, 1, 2])
        self.assertEqual([shapes.trace_users([100, 400, 200, 0], m, 8) for m in range(4)], [2, 8, 4, 0])
        self.assertEqual(shapes.trace_users([0, 0], 0, 8), 0)

    def test_plan(self):
        p = plan({"AMADEUS_SHAPE": "trace", "TRACE_CSV": "t.csv", "PEAK_USERS": "8"}, {"t.csv": TRACE})
        self.assertEqual(p.total_seconds, 8)  # 8 minutes at the default 60x
        self.assertEqual(p.spawn_rate, 8)
        self.assertEqual(users(p, [0, 1, 2, 3, 4, 5, 6, 7, 7.99]), [2, 2, 8, 8, 8, 4, 4, 2, 2])
        self.assertIsNone(p.tick(8))

    def test_plan_window_and_speed(self):
        env = {"AMADEUS_SHAPE": "trace", "TRACE_CSV": "t.csv", "TRACE_SPEED": "120", "TRACE_OFFSET_MINUTES": "3", "TRACE_MINUTES": "4"}
        p = plan(env, {"t.csv": TRACE})
        # Minutes 3-6 (400 held, 400 held, 200, 200 held), scaled to their own peak, half a second each.
        self.assertEqual(p.total_seconds, 2)
        self.assertEqual(users(p, [0, 0.5, 1, 1.5, 1.99]), [100, 100, 50, 50, 50])
        # A window past the end is cut at the end.
        env.update(TRACE_OFFSET_MINUTES="6", TRACE_MINUTES="100")
        self.assertEqual(plan(env, {"t.csv": TRACE}).total_seconds, 1)

    def test_plan_errors(self):
        files = {"t.csv": TRACE, "zero.csv": "timestamp,requests\n2024-05-01T00:00:00Z,0\n"}
        cases = [
            ({}, "TRACE_CSV is required"),
            ({"TRACE_CSV": "zero.csv"}, "no requests"),
            ({"TRACE_CSV": "t.csv", "TRACE_OFFSET_MINUTES": "8"}, "past the trace"),
            ({"TRACE_CSV": "t.csv", "TRACE_SPEED": "0"}, "TRACE_SPEED must be a number > 0"),
        ]
        for env, message in cases:
            with self.subTest(env=env):
                with self.assertRaisesRegex(ConfigError, message):
                    plan_from_env({"AMADEUS_SHAPE": "trace", **env}, read_file=files.__getitem__)
        with self.assertRaisesRegex(ConfigError, "cannot read /nonexistent/trace.csv"):
            plan_from_env({"AMADEUS_SHAPE": "trace", "TRACE_CSV": "/nonexistent/trace.csv"})


class SelectionTest(unittest.TestCase):
    def test_no_shape(self):
        for value in (None, "", " ", "none", "NONE"):
            env = {} if value is None else {"AMADEUS_SHAPE": value}
            self.assertIsNone(plan_from_env(env))

    def test_unknown_shape(self):
        with self.assertRaisesRegex(ConfigError, "AMADEUS_SHAPE must be one of daily, flash-sale, trace"):
            plan_from_env({"AMADEUS_SHAPE": "weekly"})

    def test_bad_numbers(self):
        cases = [
            ({"AMADEUS_SHAPE": "daily", "PEAK_USERS": "1.5"}, "PEAK_USERS must be an integer >= 1"),
            ({"AMADEUS_SHAPE": "daily", "PEAK_USERS": "0"}, "PEAK_USERS must be an integer >= 1"),
            ({"AMADEUS_SHAPE": "daily", "DAY_SECONDS": "0"}, "DAY_SECONDS must be a number > 0"),
            ({"AMADEUS_SHAPE": "daily", "TROUGH_RATIO": "1.5"}, "TROUGH_RATIO must be a number >= 0 and <= 1"),
            ({"AMADEUS_SHAPE": "daily", "SPAWN_RATE": "nan"}, "SPAWN_RATE must be a number > 0"),
            ({"AMADEUS_SHAPE": "flash-sale", "FLASH_MULTIPLIER": "three"}, "FLASH_MULTIPLIER must be a number > 0"),
            ({"AMADEUS_SHAPE": "flash-sale", "FLASH_START_SECONDS": "-1"}, "FLASH_START_SECONDS must be a number >= 0"),
            ({"AMADEUS_SHAPE": "flash-sale", "FLASH_TOTAL_SECONDS": "inf"}, "FLASH_TOTAL_SECONDS must be a number > 0"),
        ]
        for env, message in cases:
            with self.subTest(env=env):
                with self.assertRaisesRegex(ConfigError, message):
                    plan_from_env(env)

    def test_env_number(self):
        self.assertEqual(shapes.env_number({}, "X", 3.5), 3.5)
        self.assertEqual(shapes.env_number({"X": " 2 "}, "X", 3.5), 2.0)
        self.assertEqual(shapes.env_number({"X": "7"}, "X", 1, integer=True), 7)
        with self.assertRaisesRegex(ConfigError, "X is required"):
            shapes.env_number({}, "X", None)


if __name__ == "__main__":
    unittest.main()
