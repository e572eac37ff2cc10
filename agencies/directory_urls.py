from django.urls import path

from . import directory_views

app_name = "directory"
urlpatterns = [
    path("", directory_views.directory_list, name="list"),
    path("<int:pk>/edit/", directory_views.directory_edit, name="edit"),
]
