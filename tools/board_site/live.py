"""The running board: its state (set by tools/board.py before it serves) and --save FILE."""

import asyncio

from board_site.state import Board

GROUP = "board"  # every open board page's socket is in this group
SAVE_EVERY = 1.0  # seconds: a burst of reports is written once

board = Board()
save_path = None  # --save FILE; None: nothing is written anywhere
_save_pending = False


def changed():
    """A report was accepted: write the state soon, if the instructor named a file."""
    global _save_pending
    if save_path is None or _save_pending:
        return
    _save_pending = True
    asyncio.get_running_loop().call_later(SAVE_EVERY, save_now)


def save_now():
    global _save_pending
    _save_pending = False
    if save_path is not None:
        board.save(save_path)
