from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from rooftops.models import Department, DealerGroup, Rooftop, StaffProfile, StaffRole


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


@admin.register(DealerGroup)
class DealerGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Rooftop)
class RooftopAdmin(admin.ModelAdmin):
    list_display = ["name", "dealer_group", "time_zone"]
    list_filter = ["dealer_group"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [DepartmentInline]
    readonly_fields = ["tracking_write_key", "lead_intake_token"]


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False


class StaffRoleInline(admin.TabularInline):
    model = StaffRole
    extra = 1


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = [StaffProfileInline, StaffRoleInline]
