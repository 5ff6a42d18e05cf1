from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from crm.api import StaffApiView
from rooftops.selectors import accessible_rooftops, staff_access


class RooftopOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    time_zone = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    rooftops = RooftopOutput(many=True)


class MeView(StaffApiView):
    @extend_schema(responses=MeOutput, summary="Who am I: my rooftops and roles there")
    def get(self, request):
        access = staff_access(request.user)
        profile = getattr(request.user, "staff_profile", None)
        rooftops = [
            {"id": r.id, "name": r.name, "slug": r.slug, "time_zone": r.time_zone, "roles": sorted(access.roles[r.id])}
            for r in accessible_rooftops(access)
        ]
        data = {
            "id": request.user.id,
            "username": request.user.username,
            "display_name": profile.display_name if profile else request.user.get_username(),
            "rooftops": rooftops,
        }
        return Response(MeOutput(data).data)
