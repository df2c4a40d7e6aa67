from django.urls import path

app_name = "curate"

urlpatterns: list = []
