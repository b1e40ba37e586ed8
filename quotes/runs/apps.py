from django.apps import AppConfig


class QuoteRunsConfig(AppConfig):
    name = "quotes.runs"
    label = "quote_runs"
    verbose_name = "Quote runs"
