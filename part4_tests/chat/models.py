# chat/models.py
from django.db import models

MAX_ROOM_NAME_LENGTH = 100


class Message(models.Model):
    room = models.CharField(max_length=MAX_ROOM_NAME_LENGTH)
    text = models.TextField()
