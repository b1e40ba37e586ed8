"""The admin's login form under the database rate limiter, per IP and per account.

Each wrong password costs an Argon2 hash; without a limit, guessing through the admin form
would be as cheap as through the API's login. The limiter is checked before the form
authenticates, so a refused attempt hashes nothing, and the refusal is the usual admin
form error with status 429 and Retry-After.
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from accounts.throttling import email_identity, ip_identity, rate_limit_scope_hit

ADMIN_LOGIN_IP_SCOPE = "admin_login_ip"
ADMIN_LOGIN_EMAIL_SCOPE = "admin_login_email"
# Set on the request when the limiter refused: seconds until the window ends.
REFUSED_ATTR = "admin_login_retry_after_s"


class RateLimitedAdminAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "rate_limited": "Too many login attempts. Try again in %(seconds)s seconds.",
    }

    def clean(self):
        identities = [(ADMIN_LOGIN_IP_SCOPE, ip_identity(self.request))]
        email = email_identity(self.cleaned_data.get("username"))
        if email is not None:
            identities.append((ADMIN_LOGIN_EMAIL_SCOPE, email))
        results = [rate_limit_scope_hit(scope=scope, identity=who) for scope, who in identities]
        refused = [result for result in results if not result.allowed]
        if refused:
            seconds = max(result.retry_after_s for result in refused)
            setattr(self.request, REFUSED_ATTR, seconds)
            raise ValidationError(
                self.error_messages["rate_limited"],
                code="rate_limited",
                params={"seconds": seconds},
            )
        return super().clean()


class RateLimitedAdminSite(AdminSite):
    """`admin.site` (see accounts.apps.AdminSiteConfig), with the staff dashboards."""

    login_form = RateLimitedAdminAuthenticationForm
    index_template = "admin/atelier_index.html"
    # The app sidebar takes a quarter of a 1280 px screen from every change list; the
    # index and the breadcrumbs lead everywhere it does.
    enable_nav_sidebar = False

    def get_urls(self):
        from config.dashboards import Dashboards

        return Dashboards(self).urls() + super().get_urls()

    def index(self, request, extra_context=None):
        from config.dashboards import DASHBOARDS

        return super().index(request, {"dashboards": DASHBOARDS, **(extra_context or {})})

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        seconds = getattr(request, REFUSED_ATTR, None)
        if seconds is not None:
            response.status_code = 429
            response["Retry-After"] = str(seconds)
        return response
