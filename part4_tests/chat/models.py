# chat/models.py
from django.db import models


class Message(models.Model):
    room = models.TextField(db_index=True)  # any length: a room name is any text
    text = models.TextField()
