"""HTTP API of credit schedules and quotes (thin: validate, call a service, render)."""

from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from quotes.selectors import credit_schedule_active


class CreditScheduleGetApi(APIView):
    """GET /api/credit-schedule: the active price list."""

    class OutputSerializer(serializers.Serializer):
        version = serializers.IntegerField()
        ops = serializers.JSONField()
        max_files = serializers.IntegerField()
        quote_ttl_seconds = serializers.IntegerField()

    def get(self, request):
        return Response(self.OutputSerializer(credit_schedule_active()).data)
