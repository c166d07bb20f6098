# Commands inside a secure session: request = command u8 | args; response = status u8 | body.
#
# The table says, per command, its handler, whether the device must be an admin, and whether the
# request carries the 6-digit code (6 ASCII bytes right after the command byte; checked, and counted
# toward the lockout, before the handler runs). Handlers get the parsed-so-far wire.Reader.
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

# settings body: auto_relock_s u16 | lockngo_s u16 | brightness u8 | button_actions u8
_SETTINGS = "<HHBB"
# name -> (smallest, largest) allowed
_SETTING_RANGES = (("auto_relock_s", 0, 3600), ("lockngo_s", 5, 600), ("brightness", 0, 255),
                   ("button_actions", 0, 1))

_PAGE = const(8)          # devices per LIST_DEVICES response
_END_CURSOR = const(0xFFFF)

# status flags
_S_LOW = const(1)
_S_CRITICAL = const(2)
_S_JAM = const(4)
_S_PAIRING = const(8)
_S_CODE_SET = const(16)


def _status(ctx, dev, r, now_ms):
    r.end()
    st = ctx.app.status() if ctx.app else {}
    flags = ((_S_LOW if st.get("low") else 0) | (_S_CRITICAL if st.get("critical") else 0) |
             (_S_PAIRING if ctx.pairmode.active else 0) |
             (_S_CODE_SET if ctx.passcode.is_set else 0))
    battery = st.get("battery")
    jam = st.get("error") or st.get("jam")
    flags |= _S_JAM if jam else 0
    body = (wire.text(str(st.get("lock") or st.get("state") or "unknown")) +
            struct.pack("<BB", 255 if battery is None else max(0, min(100, int(battery))), flags) +
            wire.text(str(st.get("version", ""))) +
            struct.pack("<IHI", ctx.wall_time(now_ms), ctx.devices.count(), ctx.passcode.locked_for(now_ms)) +
            wire.text(str(jam or "")))
    return wire.OK, body


def _action(name):
    def run(ctx, dev, r, now_ms):
        r.end()
        err = ctx.app.request(name) if ctx.app else "no mechanics"
        return (wire.E_ACTION, wire.text(str(err))) if err else (wire.OK, b"")
    return run


def _list(ctx, dev, r, now_ms):
    cursor = r.u16()
    r.end()
    found, nxt = ctx.devices.page(cursor, _PAGE)
    body = struct.pack("<HB", _END_CURSOR if nxt is None else nxt, len(found))
    for d in found:
        body += struct.pack("<IBBI", d.id, d.type, d.flags, d.created) + wire.text(d.name)
    return wire.OK, body


def _rename(ctx, dev, r, now_ms):
    did = r.u32()
    name = r.text()
    r.end()
    return (wire.OK if ctx.devices.rename(did, name) else wire.E_NOT_FOUND), b""


def _revoke(ctx, dev, r, now_ms):
    did = r.u32()
    r.end()
    if not ctx.devices.remove(did):
        return wire.E_NOT_FOUND, b""
    ctx.revoked(did)
    return wire.OK, b""


def _change_code(ctx, dev, r, now_ms):
    new = r.take(6)
    r.end()
    if not passcode.valid(new):
        return wire.E_BAD_ARGS, b""
    ctx.passcode.replace(new)  # the old code was checked by dispatch
    return wire.OK, b""


def _set_time(ctx, dev, r, now_ms):
    unix = r.u32()
    r.end()
    ctx.set_wall_time(unix, now_ms)
    return wire.OK, b""


def _get_settings(ctx, dev, r, now_ms):
    r.end()
    s = ctx.app.settings
    return wire.OK, struct.pack(_SETTINGS, *[int(s[name]) for name, _, _ in _SETTING_RANGES])


def _set_settings(ctx, dev, r, now_ms):
    values = struct.unpack(_SETTINGS, r.take(struct.calcsize(_SETTINGS)))
    r.end()
    changes = {}
    for (name, lo, hi), v in zip(_SETTING_RANGES, values):
        if not lo <= v <= hi:
            return wire.E_BAD_ARGS, wire.text(name)
        changes[name] = bool(v) if name == "button_actions" else v
    ctx.app.set_settings(changes)
    return wire.OK, b""


# command -> (handler, needs admin, needs code)
TABLE = {
    _STATUS: (_status, False, False),
    _LOCK: (_action("lock"), False, False),
    _UNLOCK: (_action("unlock"), False, False),
    _UNLATCH: (_action("unlatch"), False, False),
    _LOCKNGO: (_action("lockngo"), False, False),
    _FULLLOCK: (_action("fulllock"), False, False),
    _LIST_DEVICES: (_list, True, False),
    _RENAME: (_rename, True, True),
    _REVOKE: (_revoke, True, True),
    _CHANGE_CODE: (_change_code, True, True),
    _SET_TIME: (_set_time, True, False),
    _GET_SETTINGS: (_get_settings, True, False),
    _SET_SETTINGS: (_set_settings, True, True),
    _CALIBRATE: (_action("calibrate"), True, False),
}


def dispatch(ctx, dev, request, now_ms):
    """Run one decrypted request for device `dev`; returns the response plaintext."""
    try:
        r = wire.Reader(request)
        entry = TABLE.get(r.u8())
        if entry is None:
            return bytes((wire.E_UNKNOWN_COMMAND,))
        handler, admin, code = entry
        if admin and not dev.flags & devices.FLAG_ADMIN:
            return bytes((wire.E_DENIED,))
        if code:
            got, wait = ctx.passcode.check(r.take(6), now_ms)
            if got == passcode.LOCKED:
                return bytes((wire.E_LOCKED_OUT,)) + struct.pack("<I", wait)
            if got == passcode.WRONG:
                return bytes((wire.E_BAD_CODE, ctx.passcode.tries_left())) + struct.pack("<I", wait)
        status, body = handler(ctx, dev, r, now_ms)
        return bytes((status,)) + body
    except wire.WireError as e:
        return bytes((e.code,))
    except (store.CorruptError, OSError):  # a damaged record, or the flash is full: nothing was changed
        return bytes((wire.E_STORAGE,))
