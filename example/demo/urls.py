from django.urls import path

from demo import views

app_name = "demo"

urlpatterns = [
    path("", views.home, name="home"),
    path("start/<slug:name>/", views.start, name="start"),
    path("jobs/", views.my_jobs, name="my_jobs"),
    path("jobs/<str:job_id>/download/", views.download, name="download"),
    path("theme/", views.set_theme, name="set_theme"),
]
