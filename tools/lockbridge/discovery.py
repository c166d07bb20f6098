"""Topics and Home Assistant MQTT discovery payloads for one lock (pure: no I/O).

Discovery topics are `<prefix>/<component>/<node>/<object>/config`, node = `lockbridge_<lock name>`, one HA
device per lock. Every entity but the connection sensor is available only while both the bridge (its
last will on `<base>/status`) and the lock (`<base>/<lock>/availability`) are online.
"""
from __future__ import annotations

import json
import re

from . import state

MODEL = "MicroPython smart lock"
MANUFACTURER = "smartlock (open source)"
ONLINE, OFFLINE = "online", "offline"


class Topics:
    def __init__(self, base: str, lock: str):
        root = "%s/%s" % (base, lock)
        self.bridge_status = base + "/status"
        self.availability = root + "/availability"
        self.state = root + "/state"
        self.attributes = root + "/attributes"
        self.command = root + "/set"
        self.battery = root + "/battery"
        self.battery_low = root + "/battery_low"
        self.jammed = root + "/jammed"
        self.last_action = root + "/last_action"
        self.last_action_attributes = root + "/last_action/attributes"
        self.last_command = root + "/last_command"
        self.connection = root + "/connection"
        self.buttons = {b: "%s/%s/press" % (root, b) for b in state.BUTTONS}

    def retained(self) -> list[str]:
        """Every retained topic this lock publishes (cleared when the lock is removed)."""
        return [self.availability, self.state, self.attributes, self.battery, self.battery_low, self.jammed,
                self.last_action, self.last_action_attributes, self.last_command, self.connection]


def node_id(lock: str) -> str:
    return "lockbridge_" + lock.replace("-", "_")


def device_key(address: str) -> str:
    return "smartlock_" + re.sub(r"[^A-Za-z0-9]+", "_", address).strip("_").lower()


def configs(prefix: str, base: str, lock: str, address: str, version: str | None) -> dict[str, dict]:
    """discovery topic -> config payload, for every entity of the lock."""
    t = Topics(base, lock)
    node = node_id(lock)
    device: dict[str, object] = {"identifiers": [device_key(address)], "name": lock, "manufacturer": MANUFACTURER,
              "model": MODEL}
    if version:
        device["sw_version"] = version
    both: dict[str, object] = {"availability": [{"topic": t.bridge_status, "payload_available": ONLINE,
                              "payload_not_available": OFFLINE},
                             {"topic": t.availability, "payload_available": ONLINE,
                              "payload_not_available": OFFLINE}],
            "availability_mode": "all"}
    origin = {"name": "lockbridge"}

    def entity(obj: str, name: str | None, **extra) -> dict:
        cfg: dict[str, object] = {"name": name, "unique_id": "%s_%s" % (node, obj), "device": device,
                                  "origin": origin}
        cfg.update(both)
        cfg.update(extra)
        return cfg

    out = {
        "lock/%s/lock" % node: entity(
            "lock", None, command_topic=t.command, state_topic=t.state, qos=1, retain=False, optimistic=False,
            payload_lock="LOCK", payload_unlock="UNLOCK", payload_open="OPEN", payload_reset=state.RESET,
            state_locked="LOCKED", state_unlocked="UNLOCKED", state_locking="LOCKING",
            state_unlocking="UNLOCKING", state_jammed="JAMMED", state_open="OPEN", state_opening="OPENING",
            json_attributes_topic=t.attributes),
        "sensor/%s/battery" % node: entity(
            "battery", "Battery", state_topic=t.battery, device_class="battery", unit_of_measurement="%",
            state_class="measurement", entity_category="diagnostic"),
        "binary_sensor/%s/battery_low" % node: entity(
            "battery_low", "Battery low", state_topic=t.battery_low, device_class="battery",
            payload_on="ON", payload_off="OFF", entity_category="diagnostic"),
        "binary_sensor/%s/jammed" % node: entity(
            "jammed", "Jammed", state_topic=t.jammed, device_class="problem", payload_on="ON", payload_off="OFF"),
        "sensor/%s/last_action" % node: entity(
            "last_action", "Last action", state_topic=t.last_action, icon="mdi:account-key",
            json_attributes_topic=t.last_action_attributes),
        "sensor/%s/last_command" % node: entity(
            "last_command", "Last command from Home Assistant", state_topic=t.last_command,
            icon="mdi:message-alert", entity_category="diagnostic"),
        "button/%s/lockngo" % node: entity(
            "lockngo", "Lock'n'go", command_topic=t.buttons["lockngo"], payload_press="PRESS", qos=1,
            retain=False, icon="mdi:lock-clock"),
        "button/%s/calibrate" % node: entity(
            "calibrate", "Calibrate", command_topic=t.buttons["calibrate"], payload_press="PRESS", qos=1,
            retain=False, entity_category="config", icon="mdi:tune"),
    }
    # The link itself is visible while the lock is not (unreachable, revoked): the bridge's availability only.
    conn = entity("connection", "Bridge connection", state_topic=t.connection, icon="mdi:bluetooth-connect",
                  entity_category="diagnostic", json_attributes_topic=t.attributes)
    conn.pop("availability")
    conn.pop("availability_mode")
    conn.update(availability_topic=t.bridge_status, payload_available=ONLINE, payload_not_available=OFFLINE)
    out["sensor/%s/connection" % node] = conn
    return {"%s/%s/config" % (prefix, k): v for k, v in out.items()}


def payload(cfg: dict) -> bytes:
    return json.dumps(cfg, separators=(",", ":")).encode()
