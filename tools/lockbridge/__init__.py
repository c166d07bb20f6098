"""lockbridge: the lock on an MQTT broker for Home Assistant (see cli.py)."""
