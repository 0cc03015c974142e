"""What `make bench` times, and how the timings become the ratios of bench/results.json."""
from __future__ import annotations

from datetime import date, timedelta

from bench import timing

WARMUP = 3
MONTH_DAYS = 31
TARGETS = {"availability-month-consultation": 3.0, "availability-month-iv": 3.0, "availability-growth-50000": 1.1,
           "series-search": 3.0, "booking-throughput-postgresql": 0.1, "superbill-issue-download": 1.5,
           "superbill-batch-200": 0.7}
FLOORS = {"availability-month-consultation": "GET /api/v1/services", "availability-month-iv": "GET /api/v1/services",
          "availability-growth-50000": "the same month with the fewest past appointments (each as a ratio to "
                                       "GET /api/v1/services)",
          "series-search": "GET /api/v1/availability for IV over the month the search reads"}
DRIVER = {"name": "Robin Driver", "phone": "617 555 0123", "relationship": "partner"}


class Bench:
    """The measures, against one running server whose database holds the demo clinic and a busy month."""

    def __init__(self, base: str, first: date, patients: list[int]):
        self.anonymous = timing.Client(base)
        token = self.anonymous.call("POST", "/api/v1/tokens", {"email": "frontdesk@clinic.test",
                                                               "password": "demo-clinic-2026"}, expect=201)["token"]
        self.staff = timing.Client(base, token)
        self.first, self.patients = first, list(patients)

    def availability(self, service: str) -> str:
        last = self.first + timedelta(days=MONTH_DAYS - 1)
        return f"/api/v1/availability?service={service}&from={self.first}&to={last}"

    def month(self, repeat: int) -> dict[str, float]:
        get = self.anonymous.get
        consultation, iv = self.availability("consultation"), self.availability("iv-ketamine")
        return timing.medians({"services": lambda: get("/api/v1/services"), "consultation": lambda: get(consultation),
                               "iv": lambda: get(iv)}, repeat, WARMUP)

    def series(self, repeat: int) -> dict[str, float]:
        """An induction series found and held for a new patient each round, then cancelled (untimed)."""
        booked: list[int] = []
        iv = self.availability("iv-ketamine")

        def book() -> None:
            body = {"patient_id": self.patients.pop(), "protocol": "iv-induction", "first_date": str(self.first),
                    "preferred_time": "09:00", "driver": DRIVER}
            booked.extend(a["id"] for a in self.staff.call("POST", "/api/v1/series", body, expect=201)["appointments"])

        def cancel() -> None:
            while booked:
                self.staff.call("POST", f"/api/v1/appointments/{booked.pop()}/cancel")
        return timing.medians({"availability": lambda: self.anonymous.get(iv), "series": book}, repeat, WARMUP,
                              after=cancel)


def describe(found: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds * 1000:.1f} ms" for name, seconds in found.items())


def combine(by_database: dict[str, dict]) -> list[dict]:
    """One result per name: the worst database's ratio, every database's figures in the detail."""
    ratios: dict[str, dict[str, tuple[float, str]]] = {}
    for database, found in by_database.items():
        for name, (ratio, detail) in _ratios(found).items():
            ratios.setdefault(name, {})[database] = (ratio, detail)
    return [_result(name, per_database) for name, per_database in ratios.items()]


def _ratios(found: dict) -> dict[str, tuple[float, str]]:
    month, main = found["month"], found["month"][found["main"]]
    ratios = {name: (main[key] / main["services"],
                     f"{main[key] * 1000:.1f} ms vs {main['services'] * 1000:.1f} ms, {found['main']} past appointments")
              for name, key in (("availability-month-consultation", "consultation"), ("availability-month-iv", "iv"))}
    smallest, largest = min(month), max(month)
    growth = {key: (month[largest][key] / month[largest]["services"]) / (month[smallest][key] / month[smallest]["services"])
              for key in ("consultation", "iv")}
    worst = max(growth, key=growth.get)
    ratios[f"availability-growth-{largest}"] = (growth[worst], f"{worst} (the larger growth) from {smallest} to "
                                                f"{largest} past appointments: {month[smallest][worst] * 1000:.1f} ms -> "
                                                f"{month[largest][worst] * 1000:.1f} ms")
    series = found["series"]
    if series:
        ratios["series-search"] = (series["series"] / series["availability"],
                                   f"{series['series'] * 1000:.1f} ms vs {series['availability'] * 1000:.1f} ms")
    return ratios


def _result(name: str, per_database: dict[str, tuple[float, str]]) -> dict:
    ratio = max(r for r, _ in per_database.values())
    target = TARGETS.get(name, TARGETS["availability-growth-50000"] if name.startswith("availability-growth") else None)
    detail = "; ".join(f"{database}: {r:.2f}x ({d})" for database, (r, d) in per_database.items())
    if name in FLOORS:
        detail += f"; floor: {FLOORS[name]}"
    ratio = round(ratio, 3)  # "met" is judged on the ratio as reported, so the record never contradicts itself
    return {"name": name, "ratio": ratio, "target": target,
            "met": None if target is None else ratio <= target, "detail": detail}


def table(report: dict) -> str:
    lines = [f"Benchmarks of {report['date']} on {report['machine']}", "",
             "| benchmark | ratio | target | met |", "| --- | --- | --- | --- |"]
    for r in report["results"]:
        ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        met = "n/a" if r["met"] is None else ("yes" if r["met"] else "no")
        bound = "at least" if r["name"].startswith("booking") else "at most"
        lines.append(f"| {r['name']} | {ratio} | {bound} {r['target']:g}x | {met} |")
    return "\n".join(lines)
