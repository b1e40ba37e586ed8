"""Staff dashboards in the admin (staff only): quote conversion, shops' quota use, renders,
stream and cleanup health. Figures come from the apps' analytics selectors; charts are
inline SVG drawn here (config.svg_charts)."""

import datetime

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from config.cleanup import cleanup_health, cleanup_runs_recent
from config.svg_charts import Series, bar_chart, line_chart
from quotes.analytics import ALL_OPS, quote_conversion
from quotes.runs.analytics import quote_run_health
from rendering.analytics import render_stats_by_day, shop_usage_by_day

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Runs of one cleanup charted on the health page (found vs cleaned, newest last).
CLEANUP_RUNS_CHARTED = 40
HEALTH_WINDOW = datetime.timedelta(hours=24)
DASHBOARDS = [
    ("conversion", "Quote conversion", "Quotes created, used and expired per day and per op."),
    ("quota", "Shop quota usage", "Each shop's renders used, reserved and failed per day."),
    ("renders", "Renders", "Render failure rate and latency per day."),
    ("health", "Streams and cleanups", "Quote-run streams now; each cleanup's recent runs."),
]


def _days(request: HttpRequest) -> int | None:
    raw = request.GET.get("days", str(DEFAULT_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        return None
    return int(raw)


def _window(days: int) -> tuple[datetime.date, datetime.date]:
    until = timezone.now().astimezone(datetime.UTC).date()
    return until - datetime.timedelta(days=days - 1), until


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


class Dashboards:
    """The dashboard views of one admin site, wrapped in its admin_view (staff only)."""

    def __init__(self, site: AdminSite):
        self.site = site

    def urls(self) -> list:
        view = self.site.admin_view
        return [
            path("dashboards/", view(self.index), name="dashboards"),
            path("dashboards/conversion/", view(self.conversion), name="dashboard_conversion"),
            path("dashboards/quota/", view(self.quota), name="dashboard_quota"),
            path("dashboards/renders/", view(self.renders), name="dashboard_renders"),
            path("dashboards/health/", view(self.health), name="dashboard_health"),
        ]

    def _render(self, request: HttpRequest, template: str, title: str, **context) -> HttpResponse:
        context.update(self.site.each_context(request), title=title, dashboards=DASHBOARDS)
        return TemplateResponse(request, f"admin/dashboards/{template}.html", context)

    def index(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, "index", "Staff dashboards")

    def conversion(self, request: HttpRequest) -> HttpResponse:
        days = _days(request)
        if days is None:
            return HttpResponseBadRequest(f"days must be an integer from 1 to {MAX_DAYS}.")
        since, until = _window(days)
        rows = quote_conversion(since=since, until=until)
        per_day = [row for row in rows if row.op == ALL_OPS]
        ops = sorted({row.op for row in rows} - {ALL_OPS})
        totals = quote_conversion(since=since, until=until, by_day=False)
        labels = [f"{row.day:%m-%d}" for row in per_day]
        outcome_chart = bar_chart(
            labels,
            [
                Series("used", [row.used for row in per_day]),
                Series("expired", [row.expired for row in per_day], "#ba2121"),
                Series(
                    "still open",
                    [row.created - row.used - row.expired for row in per_day],
                    "#bbb",
                ),
            ],
            title=f"Quotes created per day, by outcome ({days} days)",
        )
        rate_chart = line_chart(
            labels,
            [
                Series(op or "all ops", [_percent(row.rate) for row in rows if row.op == op])
                for op in [ALL_OPS, *ops]
            ],
            title="Conversion rate per day (used / created)",
            unit="%",
        )
        return self._render(
            request,
            "conversion",
            "Quote conversion",
            days=days,
            since=since,
            until=until,
            per_day=reversed(per_day),
            totals=totals,
            outcome_chart=outcome_chart,
            rate_chart=rate_chart,
        )

    def quota(self, request: HttpRequest) -> HttpResponse:
        days = _days(request)
        if days is None:
            return HttpResponseBadRequest(f"days must be an integer from 1 to {MAX_DAYS}.")
        since, until = _window(days)
        shops = [
            {
                "shop": shop,
                "chart": bar_chart(
                    [f"{day.date:%m-%d}" for day in shop.days],
                    [
                        Series("used", [day.used for day in shop.days]),
                        Series("reserved", [day.reserved for day in shop.days], "#e0a030"),
                        Series("failed", [day.failed for day in shop.days], "#ba2121"),
                    ],
                    title=f"{shop.name}: renders per day (quota {shop.days[-1].quota})",
                ),
            }
            for shop in shop_usage_by_day(since=since, until=until)
        ]
        return self._render(
            request, "quota", "Shop quota usage", days=days, since=since, until=until, shops=shops
        )

    def renders(self, request: HttpRequest) -> HttpResponse:
        days = _days(request)
        if days is None:
            return HttpResponseBadRequest(f"days must be an integer from 1 to {MAX_DAYS}.")
        since, until = _window(days)
        rows = render_stats_by_day(since=since, until=until)
        labels = [f"{row.day:%m-%d}" for row in rows]
        failure_chart = line_chart(
            labels,
            [Series("failed", [_percent(row.failure_rate) for row in rows], "#ba2121")],
            title="Render failure rate per day (failed / finished)",
            unit="%",
        )
        latency_chart = line_chart(
            labels,
            [
                Series("p50", [row.p50_seconds for row in rows]),
                Series("p95", [row.p95_seconds for row in rows], "#e0a030"),
            ],
            title="Render latency per day (created to completed)",
            unit=" s",
        )
        return self._render(
            request,
            "renders",
            "Renders",
            days=days,
            since=since,
            until=until,
            rows=reversed(rows),
            failure_chart=failure_chart,
            latency_chart=latency_chart,
        )

    def health(self, request: HttpRequest) -> HttpResponse:
        cleanups = cleanup_health(since=timezone.now() - HEALTH_WINDOW)
        names = [cleanup.name for cleanup in cleanups]
        charted = request.GET.get("cleanup", "quotes")
        if charted not in names:
            return HttpResponseBadRequest(f"cleanup must be one of: {', '.join(names)}.")
        runs = list(reversed(cleanup_runs_recent(name=charted, limit=CLEANUP_RUNS_CHARTED)))
        runs_chart = bar_chart(
            [f"{run.started_at:%H:%M:%S}" for run in runs],
            [
                Series("found due", [run.found for run in runs], "#e0a030"),
                Series("cleaned", [run.cleaned for run in runs]),
            ],
            title=f"{charted}: rows found due vs cleaned, last {len(runs)} runs",
            stacked=False,
        )
        return self._render(
            request,
            "health",
            "Streams and cleanups",
            streams=quote_run_health(),
            cleanups=cleanups,
            charted=charted,
            runs_chart=runs_chart,
            window_hours=int(HEALTH_WINDOW.total_seconds() // 3600),
        )
