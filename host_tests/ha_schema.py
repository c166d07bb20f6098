"""Home Assistant's MQTT discovery schemas for the components the bridge announces, as documented
(home-assistant.io/integrations/{lock,sensor,binary_sensor,button}.mqtt and the MQTT integration's
"discovery" page; the keys and defaults are those of HA's voluptuous schemas for MQTT discovery).

Stricter than HA in one way on purpose: HA drops keys it does not know (extra=REMOVE_EXTRA), so a misspelt
key would silently lose its setting; here an unknown key is an error.
"""
import re

TOPIC_LEVEL = re.compile(r"^[a-zA-Z0-9_-]+$")   # node_id and object_id in a discovery topic
DISCOVERY_TOPIC = re.compile(r"^(?P<prefix>[^/#+]+)/(?P<component>[a-z_]+)/(?:(?P<node>[^/]+)/)?(?P<object>[^/]+)/config$")


def _str(v):
    return isinstance(v, str)


def _opt_str(v):
    return v is None or isinstance(v, str)


def _bool(v):
    return isinstance(v, bool)


def _qos(v):
    return v in (0, 1, 2)


def _publish_topic(v):  # HA: valid_publish_topic: non-empty, no wildcards, no NUL, at most 65535 bytes
    return isinstance(v, str) and 0 < len(v.encode()) <= 65535 and "+" not in v and "#" not in v and "\0" not in v


def _subscribe_topic(v):  # HA: valid_subscribe_topic: wildcards only as whole levels
    if not (isinstance(v, str) and 0 < len(v.encode()) <= 65535 and "\0" not in v):
        return False
    levels = v.split("/")
    return all(("+" not in lv or lv == "+") and ("#" not in lv or lv == "#") for lv in levels) and \
        all(lv != "#" for lv in levels[:-1])


def _icon(v):
    return isinstance(v, str) and re.match(r"^[a-z0-9-]+:[a-z0-9-]+$", v) is not None


def _device(v):
    known = {"identifiers", "connections", "manufacturer", "model", "model_id", "name", "hw_version",
             "serial_number", "sw_version", "via_device", "suggested_area", "configuration_url"}
    if not isinstance(v, dict) or set(v) - known:
        return False
    ids = v.get("identifiers") or []
    conns = v.get("connections") or []
    if not ids and not conns:  # HA: "Device must have at least one identifying value"
        return False
    if isinstance(ids, str):
        ids = [ids]
    if not all(isinstance(i, str) for i in ids):
        return False
    if "configuration_url" in v and not re.match(r"^(https?|homeassistant)://", str(v["configuration_url"])):
        return False
    return all(isinstance(v[k], str) for k in v if k not in ("identifiers", "connections"))


def _origin(v):
    return isinstance(v, dict) and _str(v.get("name")) and not set(v) - {"name", "sw_version", "support_url"}


def _availability(v):
    if not isinstance(v, list) or not v:
        return False
    for a in v:
        if not isinstance(a, dict) or set(a) - {"topic", "payload_available", "payload_not_available",
                                                 "value_template"}:
            return False
        if not _subscribe_topic(a.get("topic")):
            return False
        if not all(_str(a[k]) for k in ("payload_available", "payload_not_available") if k in a):
            return False
    return True


COMMON = {
    "availability": _availability,
    "availability_mode": lambda v: v in ("all", "any", "latest"),
    "availability_topic": _subscribe_topic,
    "availability_template": _str,
    "payload_available": _str,
    "payload_not_available": _str,
    "device": _device,
    "origin": _origin,
    "enabled_by_default": _bool,
    "entity_category": lambda v: v in ("config", "diagnostic"),
    "icon": _icon,
    "json_attributes_topic": _subscribe_topic,
    "json_attributes_template": _str,
    "object_id": _str,
    "unique_id": _str,
    "name": _opt_str,
    "qos": _qos,
    "entity_picture": _str,
}

SCHEMAS = {
    "lock": ({"command_topic"}, {
        "command_topic": _publish_topic, "command_template": _str, "state_topic": _subscribe_topic,
        "retain": _bool, "optimistic": _bool, "code_format": _str, "value_template": _str,
        "payload_lock": _str, "payload_unlock": _str, "payload_open": _str, "payload_reset": _str,
        "state_jammed": _str, "state_locked": _str, "state_locking": _str, "state_open": _str,
        "state_opening": _str, "state_unlocked": _str, "state_unlocking": _str}),
    "sensor": ({"state_topic"}, {
        "state_topic": _subscribe_topic, "device_class": lambda v: v in (None, "battery", "enum", "timestamp"),
        "unit_of_measurement": _str, "state_class": lambda v: v in ("measurement", "total", "total_increasing"),
        "value_template": _str, "expire_after": lambda v: isinstance(v, int) and v >= 0,
        "force_update": _bool, "suggested_display_precision": lambda v: isinstance(v, int) and v >= 0,
        "options": lambda v: isinstance(v, list)}),
    "binary_sensor": ({"state_topic"}, {
        "state_topic": _subscribe_topic, "device_class": lambda v: v in (None, "battery", "problem", "lock",
                                                                          "connectivity"),
        "payload_on": _str, "payload_off": _str, "value_template": _str,
        "expire_after": lambda v: isinstance(v, int) and v >= 0, "force_update": _bool, "off_delay": int}),
    "button": ({"command_topic"}, {
        "command_topic": _publish_topic, "command_template": _str, "payload_press": _str, "retain": _bool,
        "device_class": lambda v: v in (None, "identify", "restart", "update")}),
}

# Defaults the bridge relies on when it leaves a key out.
LOCK_DEFAULTS = {"payload_lock": "LOCK", "payload_unlock": "UNLOCK", "payload_reset": "None",
                 "state_jammed": "JAMMED", "state_locked": "LOCKED", "state_locking": "LOCKING",
                 "state_open": "OPEN", "state_opening": "OPENING", "state_unlocked": "UNLOCKED",
                 "state_unlocking": "UNLOCKING"}


def problems(topic, config):
    """Everything HA would reject or silently drop in one discovery message; [] when it is valid."""
    m = DISCOVERY_TOPIC.match(topic)
    if not m:
        return ["%s is not <prefix>/<component>/[<node_id>/]<object_id>/config" % topic]
    out = []
    comp = m.group("component")
    for level in ("node", "object"):
        if m.group(level) is not None and not TOPIC_LEVEL.match(m.group(level)):
            out.append("%s: %s id %r has characters other than [a-zA-Z0-9_-]" % (topic, level, m.group(level)))
    if comp not in SCHEMAS:
        return out + ["%s: component %r is not one the bridge should announce" % (topic, comp)]
    required, keys = SCHEMAS[comp]
    validators = dict(COMMON, **keys)
    for k in sorted(required - set(config)):
        out.append("%s: required key %r missing" % (topic, k))
    for k, v in config.items():
        check = validators.get(k)
        if check is None:
            out.append("%s: unknown key %r (HA would drop it)" % (topic, k))
        elif not check(v):
            out.append("%s: invalid value for %r: %r" % (topic, k, v))
    if "availability" in config and "availability_topic" in config:
        out.append("%s: availability and availability_topic are exclusive" % topic)
    if comp == "sensor" and config.get("device_class") == "battery" and config.get("unit_of_measurement") != "%":
        out.append("%s: a battery sensor is in %%" % topic)
    return out


def lock_states(config):
    """The state payloads a lock entity understands: HA state -> payload (incl. the reset payload)."""
    merged = dict(LOCK_DEFAULTS, **config)
    return {k[len("state_"):]: merged[k] for k in merged if k.startswith("state_") and k != "state_topic"} | \
        {"unknown": merged["payload_reset"]}
