from django.db import models


class Message(models.Model):
    """One chat message, kept so a socket that joins later can be shown the room's history."""

    room = models.CharField(max_length=100, db_index=True)  # MAX_ROOM_NAME_LENGTH
    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.room}: {self.text[:50]}"
