# chat/views.py
from django.http import Http404
from django.shortcuts import render

from .models import MAX_ROOM_NAME_LENGTH


def index(request):
    return render(request, "chat/index.html")


def room(request, room_name):
    if len(room_name) > MAX_ROOM_NAME_LENGTH:
        raise Http404(f"A room name has at most {MAX_ROOM_NAME_LENGTH} characters.")
    return render(request, "chat/room.html", {"room_name": room_name})
