"""Worry Box: the shared core of the kiosk and the staff console (storage, sealing, set-up)."""
