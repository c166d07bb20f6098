"""JSON Schemas of `lockctl --json` output, per command: the keys scripts may rely on (README "Scripting").
A key is only ever added; a change to one below is a breaking change for scripts."""

_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_STR = {"type": "string"}


def _object(props: dict, optional: tuple = ()) -> dict:
    return {"type": "object", "properties": props, "required": [k for k in props if k not in optional]}


STATUS = _object({
    "state": {"enum": ["uncalibrated", "calibrating", "locked", "unlocking", "unlocked", "locking", "unlatching",
                       "unlatched", "jammed", "unknown"]},
    "battery": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
    "low": _BOOL, "critical": _BOOL, "jammed": _BOOL, "calibration_error": _BOOL,
    "error": {"enum": [None, "jam", "calibration_failed", "calibration_invalid"]},
    "pairing": _BOOL, "code_set": _BOOL,
    "devices": {"type": "integer", "minimum": 0},
    "lockout_ms": {"type": "integer", "minimum": 0},
    "time": {"type": "integer", "minimum": 0},
    "version": _STR,
})

ACTION = _object({
    "action": {"enum": ["lock", "unlock", "unlatch", "lockngo", "fulllock", "calibrate"]},
    "outcome": {"enum": ["done", "already", "accepted"]},
    "state": {"type": ["string", "null"]},
})

DEVICES = {"type": "array", "items": _object({
    "id": _INT, "name": _STR, "type": {"enum": ["phone", "bridge", "keypad", "fob"]}, "admin": _BOOL,
    "created": {"type": "integer", "minimum": 0}})}

SETTINGS = _object({
    "auto_relock_s": {"type": "integer", "minimum": 0, "maximum": 3600},
    "lockngo_s": {"type": "integer", "minimum": 5, "maximum": 600},
    "brightness": {"type": "integer", "minimum": 0, "maximum": 255},
    "button_actions": _BOOL,
})

LOCKS = {"type": "array", "items": _object({
    "lock": _STR, "address": {"type": ["string", "null"]}, "device_id": {"type": ["integer", "null"]},
    "device_name": {"type": ["string", "null"]}, "admin": {"type": ["boolean", "null"]}, "identity": _STR})}

PAIRED = _object({"device_id": _INT, "admin": _BOOL, "lock": {"type": ["string", "null"]}, "identity": _STR})

SCAN = {"type": "array", "items": _object({"address": _STR, "name": _STR, "protocol": _INT, "pairing": _BOOL,
                                           "fresh": _BOOL}, optional=("protocol", "pairing", "fresh"))}

BY_COMMAND = {"status": STATUS, "devices": DEVICES, "settings": SETTINGS, "locks": LOCKS, "setup": PAIRED,
              "pair": PAIRED, "scan": SCAN,
              **{a: ACTION for a in ("lock", "unlock", "unlatch", "lockngo", "fulllock", "calibrate")}}
