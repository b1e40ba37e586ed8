from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default = True


class AdminSiteConfig(admin_apps.AdminConfig):
    """django.contrib.admin, whose default site (`admin.site`) limits login attempts.
    Listed in INSTALLED_APPS in place of "django.contrib.admin"."""

    default = False
    default_site = "accounts.admin_login.RateLimitedAdminSite"
