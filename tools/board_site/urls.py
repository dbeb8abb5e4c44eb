from django.urls import path

from board_site import views

urlpatterns = [
    path("", views.page),
    path("board.js", views.asset, {"name": "board.js"}),
    path("board.css", views.asset, {"name": "board.css"}),
]
