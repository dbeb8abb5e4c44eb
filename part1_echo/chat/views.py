from django.http import Http404
from django.shortcuts import render

from .consumers import MAX_MESSAGE_LENGTH, MAX_ROOM_NAME_LENGTH


def index(request):
    return render(request, "chat/index.html", {"max_room_name_length": MAX_ROOM_NAME_LENGTH})


def room(request, room_name):
    if len(room_name) > MAX_ROOM_NAME_LENGTH:
        raise Http404(f"Room names are at most {MAX_ROOM_NAME_LENGTH} characters.")
    return render(
        request,
        "chat/room.html",
        {"room_name": room_name, "max_message_length": MAX_MESSAGE_LENGTH},
    )
