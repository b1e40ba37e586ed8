"""Admin for users, their sessions, addresses, notifications and rate-limit counters."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import ngettext

from accounts.models import Address, AuthSession, Notification, RateLimitToken, User
from accounts.ratelimit import rate_limit_reset
from accounts.services.addresses import (
    ADDRESS_FIELDS,
    address_create,
    address_delete,
    address_set_default,
    address_update,
)
from accounts.services.auth import auth_session_delete_all, auth_sessions_end_for_credentials_change


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]}),
    ]
    actions = ["deactivate_users", "end_all_sessions"]

    def save_model(self, request, obj, form, change):
        was_active = True
        if change:
            was_active = User.objects.filter(pk=obj.pk).values_list("is_active", flat=True).get()
        super().save_model(request, obj, form, change)
        if change:
            auth_sessions_end_for_credentials_change(
                user=obj, password_changed=False, was_active=was_active
            )

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        # Django redirects after a successful change; only then do the old sessions end.
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, unquote(id))
            if user is not None:
                auth_sessions_end_for_credentials_change(
                    user=user, password_changed=True, was_active=True
                )
        return response

    @admin.action(description="Deactivate selected users (ends their sessions)")
    def deactivate_users(self, request, queryset):
        changed = 0
        for user in queryset.filter(is_active=True):
            user.is_active = False
            user.save(update_fields=["is_active"])
            auth_sessions_end_for_credentials_change(
                user=user, password_changed=False, was_active=True
            )
            changed += 1
        self.message_user(request, f"Deactivated {changed} user(s).", messages.SUCCESS)

    @admin.action(description="End all sessions of selected users")
    def end_all_sessions(self, request, queryset):
        ended = sum(auth_session_delete_all(user=user) for user in queryset)
        self.message_user(request, f"Ended {ended} session(s).", messages.SUCCESS)


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = [
        "token_prefix",
        "user",
        "user_agent",
        "ip_address",
        "created_at",
        "last_seen_at",
        "expires_at",
    ]
    list_filter = ["created_at", "last_seen_at", "expires_at"]
    search_fields = ["user__email", "token_prefix", "user_agent", "ip_address"]
    readonly_fields = [
        "user",
        "token_hash",
        "token_prefix",
        "created_at",
        "expires_at",
        "last_seen_at",
        "user_agent",
        "ip_address",
    ]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # sessions come from login only: a token is shown once, to its client

    @admin.action(description="Revoke selected sessions (tokens stop working at once)")
    def revoke(self, request, queryset):
        revoked, _ = queryset.delete()
        self.message_user(
            request,
            ngettext("Revoked %d session.", "Revoked %d sessions.", revoked) % revoked,
            messages.SUCCESS,
        )


@admin.register(RateLimitToken)
class RateLimitTokenAdmin(admin.ModelAdmin):
    list_display = ["key", "count", "window_start", "window_end"]
    search_fields = ["key"]
    list_filter = ["window_end"]
    readonly_fields = ["key", "count", "window_start", "window_end"]
    actions = ["reset"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Reset selected counters (callers get a fresh window)")
    def reset(self, request, queryset):
        reset = rate_limit_reset(keys=list(queryset.values_list("key", flat=True)))
        self.message_user(request, f"Reset {reset} counter(s).", messages.SUCCESS)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    """Writes go through the locked address services, so "exactly one default" holds here too."""

    list_display = ["user", "label", "line1", "city", "postal_code", "country", "is_default"]
    list_filter = ["country", "is_default"]
    search_fields = ["user__email", "label", "line1", "city", "postal_code"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    readonly_fields = ["is_default", "created_at"]
    actions = ["make_default"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "user"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in ADDRESS_FIELDS}
        if change:
            address_update(user=obj.user, address_id=obj.pk, **fields)
            return
        created = address_create(user=obj.user, **fields)
        obj.pk, obj.is_default, obj.created_at = created.pk, created.is_default, created.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        address_delete(user=obj.user, address_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for address in queryset.select_related("user"):
            address_delete(user=address.user, address_id=address.pk)

    @admin.action(description="Make the selected address its user's default")
    def make_default(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one address.", messages.ERROR)
            return
        address = queryset.select_related("user").get()
        address_set_default(user=address.user, address_id=address.pk)
        self.message_user(request, f"{address} is now the default.", messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "title", "created_at", "read_at"]
    list_filter = ["kind", "created_at", "read_at"]
    search_fields = ["user__email", "kind", "title", "body"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at", "read_at"]
    date_hierarchy = "created_at"
