# Commands inside a secure session: request = command u8 | args; response = status u8 | body.
#
# The table says, per command, whether the device must be an admin and whether the request carries the
# 6-digit code (6 ASCII bytes right after the command byte; checked, and counted toward the lockout,
# before the command runs). `dispatch` then reads the command's arguments, checks nothing is left over,
# and acts. `ctx` is the LockProtocol: app, pairmode, passcode, devices, sessions, closing, wall.
import struct
from micropython import const

from lock import wire, devices, passcode, store

_STATUS = const(0x01)
_LOCK = const(0x02)
_UNLOCK = const(0x03)
_UNLATCH = const(0x04)
_LOCKNGO = const(0x05)
_FULLLOCK = const(0x06)
_LIST_DEVICES = const(0x10)
_RENAME = const(0x11)
_REVOKE = const(0x12)
_CHANGE_CODE = const(0x13)
_SET_TIME = const(0x14)
_GET_SETTINGS = const(0x15)
_SET_SETTINGS = const(0x16)
_CALIBRATE = const(0x17)

# status codes only commands answer with (the shared ones are wire's)
_OK = const(0)
_E_DENIED = const(11)
_E_UNKNOWN_COMMAND = const(12)
_E_NOT_FOUND = const(14)
_E_ACTION = const(15)        # detail: reason text from the lock mechanics

# settings body, struct "<HHBB": auto_relock_s u16 | lockngo_s u16 | brightness u8 | button_actions u8
# allowed: auto_relock_s 0..3600, lockngo_s 5..600, brightness 0..255, button_actions 0..1
_PAGE = const(8)          # devices per LIST_DEVICES response
_END_CURSOR = const(0xFFFF)

# status flags
_S_LOW = const(1)
_S_CRITICAL = const(2)
_S_JAM = const(4)
_S_PAIRING = const(8)
_S_CODE_SET = const(16)
_S_CALIBRATION = const(32)   # the last calibration failed, or the stored one does not fit: calibrate again

# what a command needs
_ADMIN = const(1)
_CODE = const(2)

# The table: command -> what it needs; every command the lock knows is here. (This module is loaded for a
# message and dropped after it, protocol.py: the table costs RAM only while a command runs.)
NEEDS = {
    _STATUS: 0,
    _LOCK: 0,
    _UNLOCK: 0,
    _UNLATCH: 0,
    _LOCKNGO: 0,
    _FULLLOCK: 0,
    _LIST_DEVICES: _ADMIN,
    _RENAME: _ADMIN | _CODE,
    _REVOKE: _ADMIN | _CODE,
    _CHANGE_CODE: _ADMIN | _CODE,
    _SET_TIME: _ADMIN,
    _GET_SETTINGS: _ADMIN,
    _SET_SETTINGS: _ADMIN | _CODE,
    _CALIBRATE: _ADMIN,
}


def dispatch(ctx, dev, request, now_ms):
    """Run one decrypted request for device `dev`; returns the response plaintext."""
    try:
        r = wire.Reader(request)
        cmd = r.u8()
        needs = NEEDS.get(cmd)
        if needs is None:
            raise wire.WireError(_E_UNKNOWN_COMMAND)
        if needs & _ADMIN and not dev.flags & devices.FLAG_ADMIN:
            raise wire.WireError(_E_DENIED)
        code = ctx.passcode
        if needs & _CODE:
            got, wait = code.check(r.take(6), now_ms)
            if got == passcode.LOCKED:
                return bytes((wire.E_LOCKED_OUT,)) + struct.pack("<I", wait)
            if got == passcode.WRONG:
                return bytes((wire.E_BAD_CODE, code.tries_left())) + struct.pack("<I", wait)
        status = _OK
        body = b""
        if cmd == _STATUS:
            r.end()
            st = ctx.app.status() if ctx.app else {}
            battery = st.get("battery")
            err = st.get("error")      # the bolt's error: "jam" or "calibration_..."
            flags = ((_S_LOW if st.get("low") else 0) | (_S_CRITICAL if st.get("critical") else 0) |
                     (_S_JAM if err == "jam" else 0) | (_S_PAIRING if ctx.pairmode.active else 0) |
                     (_S_CODE_SET if code.is_set else 0) |
                     (_S_CALIBRATION if err and err.startswith("calibration") else 0))
            body = (wire.text(str(st.get("lock") or st.get("state") or "unknown")) +
                    bytes((255 if battery is None else max(0, min(100, int(battery))), flags)) +
                    wire.text(str(st.get("version", ""))) +
                    struct.pack("<IHI", ctx.wall_time(now_ms), ctx.devices.count(), code.locked_for(now_ms)) +
                    wire.text(str(err or "")))
        elif cmd == _LIST_DEVICES:
            cursor = r.unpack("<H")[0]
            r.end()
            found, cursor = ctx.devices.page(cursor, _PAGE)
            body = struct.pack("<H", _END_CURSOR if cursor is None else cursor) + bytes((len(found),))
            for d in found:
                body += struct.pack("<IBBI", d.id, d.type, d.flags, d.created) + wire.text(d.name)
        elif cmd == _RENAME:
            device_id = r.unpack("<I")[0]
            name = r.text()
            r.end()
            if not ctx.devices.rename(device_id, name):
                status = _E_NOT_FOUND
        elif cmd == _REVOKE:
            device_id = r.unpack("<I")[0]
            r.end()
            if not ctx.devices.remove(device_id):
                status = _E_NOT_FOUND
            else:
                # its connections are dropped; the protocol ends their sessions once this reply is sealed
                for who, s in ctx.sessions.items():
                    if s.device_id == device_id:
                        ctx.closing.append(who)
        elif cmd == _CHANGE_CODE:
            new = r.take(6)
            r.end()
            if passcode.valid(new):
                code.replace(new)  # the old code was checked above
            else:
                status = wire.E_BAD_ARGS
        elif cmd == _SET_TIME:
            unix = r.unpack("<I")[0]
            r.end()
            ctx.wall = (unix, now_ms)
            # devices paired since boot before the clock was set get their date now
            undated, ctx.undated = ctx.undated, []
            for device_id, ms in undated:
                ctx.devices.date(device_id, ctx.wall_time(ms))
            hook = getattr(ctx.app, "set_time", None)
            if hook:
                hook(unix)
        elif cmd == _GET_SETTINGS:
            r.end()
            s = ctx.app.settings
            body = struct.pack("<HHBB", int(s["auto_relock_s"]), int(s["lockngo_s"]), int(s["brightness"]),
                               int(s["button_actions"]))
        elif cmd == _SET_SETTINGS:
            relock, lockngo, brightness, buttons = r.unpack("<HHBB")
            r.end()
            bad = ("auto_relock_s" if relock > 3600 else "lockngo_s" if not 5 <= lockngo <= 600 else
                   "button_actions" if buttons > 1 else None)
            if bad:
                status, body = wire.E_BAD_ARGS, wire.text(bad)
            else:
                ctx.app.set_settings({"auto_relock_s": relock, "lockngo_s": lockngo, "brightness": brightness,
                                      "button_actions": bool(buttons)})
        else:  # a mechanical action
            r.end()
            action = {_LOCK: "lock", _UNLOCK: "unlock", _UNLATCH: "unlatch", _LOCKNGO: "lockngo",
                      _FULLLOCK: "fulllock", _CALIBRATE: "calibrate"}[cmd]
            err = ctx.app.request(action) if ctx.app else "no mechanics"
            if err:
                status, body = _E_ACTION, wire.text(str(err))
        return bytes((status,)) + body
    except wire.WireError as e:  # malformed arguments, or a refusal before the command ran
        return bytes((e.code,))
    except (store.CorruptError, OSError):  # a damaged record, or the flash is full: nothing was changed
        return bytes((wire.E_STORAGE,))
