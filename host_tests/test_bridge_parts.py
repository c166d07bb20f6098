"""lockbridge's pure parts: discovery payloads against HA's schemas, the state mapping, who did the last action,
and the config file. (End to end with a broker and a simulated lock: test_bridge.py.)"""
import json
import sys

import pytest

import ha_schema
import mpy

sys.path.insert(0, str(mpy.ROOT / "tools"))
from lockbridge import config, discovery, state  # noqa: E402

BOLT_STATES = ("uncalibrated", "calibrating", "locked", "unlocking", "unlocked", "locking", "unlatching",
               "unlatched", "jammed")


def announce(version="0.1.0"):
    return discovery.configs("homeassistant", "lockbridge", "front-door", "ble:AA:BB:CC:DD:EE:FF", version)


def test_every_discovery_payload_is_valid_for_home_assistant():
    configs = announce()
    components = sorted(t.split("/")[1] for t in configs)
    assert components == ["binary_sensor", "binary_sensor", "button", "button", "lock", "sensor", "sensor",
                          "sensor", "sensor"]
    for topic, cfg in configs.items():
        assert ha_schema.problems(topic, json.loads(discovery.payload(cfg))) == []
    # one HA device for all of them, with the firmware version; unique ids are unique
    devices = {json.dumps(c["device"], sort_keys=True) for c in configs.values()}
    assert len(devices) == 1 and json.loads(devices.pop())["sw_version"] == "0.1.0"
    assert len({c["unique_id"] for c in configs.values()}) == len(configs)


def test_the_checker_catches_what_home_assistant_would_refuse():
    topic, cfg = next((t, c) for t, c in announce().items() if t.split("/")[1] == "lock")
    assert ha_schema.problems(topic, {k: v for k, v in cfg.items() if k != "command_topic"})
    assert ha_schema.problems(topic, dict(cfg, comand_topic="x"))                    # a typo is not dropped
    assert ha_schema.problems(topic, dict(cfg, command_topic="lockbridge/+/set"))    # no wildcard to publish
    assert ha_schema.problems(topic, dict(cfg, device={"name": "x"}))                # a device needs an id
    assert ha_schema.problems(topic, dict(cfg, availability_topic="a"))              # exclusive with the list
    assert ha_schema.problems(topic.replace("lockbridge_front_door", "front.door"), cfg)


def test_lock_entity_covers_open_and_every_bolt_state():
    cfg = next(c for t, c in announce().items() if t.split("/")[1] == "lock")
    assert (cfg["payload_lock"], cfg["payload_unlock"], cfg["payload_open"]) == ("LOCK", "UNLOCK", "OPEN")
    assert cfg["qos"] == 1 and cfg["retain"] is False and cfg["optimistic"] is False
    understood = set(ha_schema.lock_states(cfg).values())
    for s in BOLT_STATES:
        assert state.view({"state": s})["state"] in understood, s
    assert {state.view({"state": s})["state"] for s in BOLT_STATES} >= {
        "LOCKED", "UNLOCKED", "LOCKING", "UNLOCKING", "JAMMED", "OPEN", "OPENING"}
    # every entity is unavailable unless both the bridge and the lock are online; the link's own sensor
    # stays visible to say why
    for topic, c in announce().items():
        if topic.endswith("/connection/config"):
            assert c["availability_topic"] == "lockbridge/status"
        else:
            assert c["availability_mode"] == "all"
            assert [a["topic"] for a in c["availability"]] == ["lockbridge/status",
                                                               "lockbridge/front-door/availability"]


def test_removed_lock_topics_cover_every_retained_topic():
    t = discovery.Topics("lockbridge", "front-door")
    published = {t.availability, t.state, t.attributes, t.battery, t.battery_low, t.jammed, t.last_action,
                 t.last_action_attributes, t.last_command, t.connection}
    assert set(t.retained()) == published


def test_status_view():
    v = state.view({"state": "locked", "battery": 17, "low": True, "critical": False, "jam": None,
                    "version": "0.1.0"})
    assert v == {"state": "LOCKED", "raw_state": "locked", "battery": 17, "battery_low": True,
                 "battery_critical": False, "jammed": False, "jam": None, "version": "0.1.0"}
    assert state.view({"state": "jammed", "jam": "jam"})["jammed"]
    assert state.view({"state": "calibrating"})["state"] == "None"


def actions():
    return state.Actions("ha-bridge", clock=lambda: 0)


def feed(a, *states, at=0.0):
    return [x and x["text"] for x in (a.observe(s, at) for s in states)]


def test_last_action_is_the_bridges_only_for_its_own_commands():
    a = actions()
    assert feed(a, "locked") == [None]                         # the first state reveals nothing
    a.commanded("unlock", 0)
    assert feed(a, "unlocking", "unlocked") == ["unlocked by ha-bridge", None]
    assert feed(a, "locking", "locked") == ["locked (not by this bridge)", None]   # the button, say
    assert feed(a, "unlocked") == ["unlocked (not by this bridge)"]               # a hand turn: no motion seen
    assert a.last["actor"] is None and a.last["actor_kind"] == "unknown" and a.last["source"] == "observed"


def test_lockngo_from_the_bridge_owns_its_late_lock_but_not_a_hand_before_it():
    a = actions()
    feed(a, "unlocked")
    a.commanded("lockngo", 0)
    assert feed(a, "locking", "locked", at=20) == ["locked by ha-bridge", None]   # its unlock was skipped
    a.commanded("lockngo", 100)
    assert feed(a, "unlocking", "unlocked", at=101) == ["unlocked by ha-bridge", None]
    assert feed(a, "locked", at=110) == ["locked (not by this bridge)"]           # a hand locked first
    assert feed(a, "unlocking", at=125) == ["unlocked (not by this bridge)"]      # nothing left of ours


def test_own_command_expires_and_jam_and_open():
    a = actions()
    feed(a, "locked")
    a.commanded("unlock", 0)
    assert feed(a, "unlocking", at=60) == ["unlocked (not by this bridge)"]       # far too late to be ours
    a.commanded("unlatch", 100)
    assert feed(a, "unlatching", "unlatched", "unlocked", at=100) == ["opened (unlatched) by ha-bridge", None,
                                                                      None]
    assert feed(a, "locking", "jammed") == ["locked (not by this bridge)", "jammed"]


def test_config_file_and_flags(tmp_path):
    f = tmp_path / "bridge.toml"
    f.write_text('broker = "mqtts://broker.home:8884"\nusername = "lb"\npassword_file = "pw"\n'
                 'mqtt_version = "3.1.1"\npoll_s = 1\n[[locks]]\nname = "front"\nidentity = "front.json"\n'
                 'address = "ble:AA:BB"\n')
    (tmp_path / "pw").write_text("s3cret\n")
    values = config.read_file(f)
    values["password_file"] = str(tmp_path / "pw")
    cfg = config.build(values, tmp_path)
    b = cfg.broker
    assert (b.host, b.port, b.tls, b.username, b.password, b.version) == ("broker.home", 8884, True, "lb",
                                                                         "s3cret", "3.1.1")
    assert cfg.poll_s == 1.0 and cfg.locks[0].identity == tmp_path / "front.json"
    assert cfg.current_locks() == []                   # its identity does not exist (yet, or any more)
    (tmp_path / "front.json").write_text("{}")
    assert [c.name for c in cfg.current_locks()] == ["front"]
    j = tmp_path / "bridge.json"
    j.write_text(json.dumps({"broker": "mqtt://127.0.0.1", "store": str(tmp_path / "store")}))
    cfg = config.build(config.read_file(j))
    assert (cfg.broker.port, cfg.broker.tls, cfg.broker.version) == (1883, False, "5")
    assert cfg.current_locks() == []


@pytest.mark.parametrize("values, says", [
    ({}, "which broker"),
    ({"broker": "http://x"}, "mqtt://"),
    ({"broker": "mqtt://x", "poll_s": 60}, "poll_s must be between"),
    ({"broker": "mqtt://x", "mqtt_version": "4"}, "mqtt_version"),
    ({"broker": "mqtt://x", "base_topic": "a/#"}, "wildcards"),
    ({"broker": "mqtt://x", "colour": 1}, "unknown setting"),
    ({"broker": "mqtt://x", "locks": [{"name": "a/b"}]}, "lock name"),
])
def test_config_errors_say_what_is_wrong(values, says):
    with pytest.raises(config.ConfigError, match=says):
        config.build(values)


def test_unreadable_config_file(tmp_path):
    f = tmp_path / "bridge.toml"
    f.write_text("broker = \n")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        config.read_file(f)
