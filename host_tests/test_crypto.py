"""Crypto primitives: every vector on both sides (firmware under MicroPython, lockctl under CPython),
plus random cross-checks between the two implementations and tamper tests."""
import json
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from lockctl import crypto as host  # noqa: E402

VEC = ROOT / "vectors"
h = bytes.fromhex


def load(name):
    return json.loads((VEC / (name + ".json")).read_text())


# Snippet prelude for MicroPython: hex helpers and a vector loader (VECTORS is predefined by the runner).
MP = """
import json, binascii
def h(s): return binascii.unhexlify(s)
def x(b): return binascii.hexlify(b).decode() if b is not None else None
def load(n):
    with open(VECTORS + "/" + n + ".json") as f:
        return json.load(f)
"""


def mp(micropython, code):
    return micropython.json(MP + code)


# ------------------------------------------------------------------ vectors under MicroPython


def test_mpy_x25519_rfc7748(micropython):
    v = load("x25519")
    got = mp(micropython, """
from lock.x25519 import x25519, public_key
v = load("x25519")
out = {"mult": [x(x25519(h(c["scalar"]), h(c["u"]))) for c in v["scalar_mult"]]}
d = v["dh"]
out["pub"] = [x(public_key(h(d["alice_private"]))), x(public_key(h(d["bob_private"])))]
out["shared"] = [x(x25519(h(d["alice_private"]), h(d["bob_public"]))), x(x25519(h(d["bob_private"]), h(d["alice_public"])))]
k = u = h("09" + "00" * 31)
it = {}
for i in range(1, 1001):
    k, u = x25519(k, u), k
    if i in (1, 1000):
        it[i] = x(k)
out["iter"] = [it[c["iterations"]] for c in v["iterated"]]
print(json.dumps(out))
""")
    assert got["mult"] == [c["out"] for c in v["scalar_mult"]]
    assert got["pub"] == [v["dh"]["alice_public"], v["dh"]["bob_public"]]
    assert got["shared"] == [v["dh"]["shared"]] * 2
    assert got["iter"] == [c["out"] for c in v["iterated"]]


def test_mpy_hmac_hkdf_pbkdf2(micropython):
    got = mp(micropython, """
from lock import kdf
out = {"hmac": [x(kdf.hmac_sha256(h(c["key"]), h(c["data"]))) for c in load("hmac")["cases"]]}
out["prk"] = [x(kdf.hkdf_extract(h(c["salt"]), h(c["ikm"]))) for c in load("hkdf")["cases"]]
out["okm"] = [x(kdf.hkdf(h(c["ikm"]), h(c["salt"]), h(c["info"]), c["length"])) for c in load("hkdf")["cases"]]
out["dk"] = [x(kdf.pbkdf2_sha256(h(c["password"]), h(c["salt"]), c["iterations"], c["length"]))
             for c in load("pbkdf2")["cases"]]
print(json.dumps(out))
""")
    for mac, c in zip(got["hmac"], load("hmac")["cases"], strict=True):
        assert mac.startswith(c["mac"]), c["name"]  # case 5 publishes a truncated MAC
    assert got["prk"] == [c["prk"] for c in load("hkdf")["cases"]]
    assert got["okm"] == [c["okm"] for c in load("hkdf")["cases"]]
    assert got["dk"] == [c["dk"] for c in load("pbkdf2")["cases"]]


@pytest.mark.parametrize("section", ["external", "generated"])
def test_mpy_ccm_vectors(micropython, section):
    got = mp(micropython, """
from lock.ccm import CCM
out = []
for c in load("ccm")[%r]:
    ccm = CCM(h(c["key"]), c["tag_len"])
    sealed = ccm.seal(h(c["nonce"]), h(c["plaintext"]), h(c["aad"]))
    out.append([x(sealed), x(ccm.open(h(c["nonce"]), h(c["sealed"]), h(c["aad"])))])
print(json.dumps(out))
""" % section)
    cases = load("ccm")[section]
    assert len(got) == len(cases) > 0
    for (sealed, opened), c in zip(got, cases):
        assert sealed == c["sealed"], c["name"]
        assert opened == c["plaintext"], c["name"]


def test_mpy_cpace_draft_vectors(micropython):
    """The draft's hash-independent values: encodings, generator string, Elligator2 map, scalar mults."""
    v = load("cpace")
    got = mp(micropython, """
from lock import cpace
from lock.x25519 import x25519
v = load("cpace")
s = v["strings"]
out = {"prepend": [x(cpace.prepend_len(h(a))) for a, _ in s["prepend_len"]],
       "lv_cat": x(cpace.lv_cat(*[h(a) for a in s["lv_cat"]["args"]])),
       "tr": [x(cpace.transcript_ir(*[h(a) for a in t["args"]])) for t in s["transcript_ir"]]}
g, e = v["draft_x25519_sha512"]["generator"], v["draft_x25519_sha512"]["exchange"]
out["gen_str"] = x(cpace.generator_string(h(g["DSI"]), h(g["PRS"]), h(g["CI"]), h(g["sid"]), g["s_in_bytes"]))
out["g_from_hash"] = x(cpace.map_to_curve(h(g["hash_generator_string"])))
out["g_from_u"] = x(cpace.map_to_curve(h(g["decoded_u"])))
gen = h(g["g"])
out["Ya"] = x(cpace.share(gen, h(e["ya"])))
out["Yb"] = x(cpace.share(gen, h(e["yb"])))
out["K"] = [x(x25519(h(e["ya"]), h(e["Yb"]))), x(x25519(h(e["yb"]), h(e["Ya"])))]
t = cpace.transcript_ir(h(e["Ya"]), h(e["ADa"]), h(e["Yb"]), h(e["ADb"]))
out["transcript"] = x(t)
# the ISK input, through isk: SHA-256 of the draft's isk_input, from either side
out["isk"] = [x(cpace.isk(h(e["ya"]), h(e["Ya"]), h(e["Yb"]), h(e["ADa"]), h(e["ADb"]), h(g["sid"]), True)),
              x(cpace.isk(h(e["yb"]), h(e["Yb"]), h(e["Ya"]), h(e["ADb"]), h(e["ADa"]), h(g["sid"]), False))]
lo = v["low_order"]
out["q"] = [x(x25519(h(lo["s"]), h(c["u"]))) for c in lo["cases"]]
out["isk_none"] = [cpace.isk(h(lo["s"]), h(e["Ya"]), h(c["u"]), b"", b"", b"", True) is None for c in lo["cases"]]
out["isk_short"] = [cpace.isk(h(e["ya"]), h(e["Ya"]), y, b"", b"", b"", True) for y in (b"", h(e["Yb"])[:31], h(e["Yb"]) + b"0")]
del v, s, g, e, lo, t
import gc
gc.collect()  # the whole vector file was in a 64 KiB heap; make room for the answer
print(json.dumps(out))
""")
    s = v["strings"]
    assert got["prepend"] == [o for _, o in s["prepend_len"]]
    assert got["lv_cat"] == s["lv_cat"]["out"]
    assert got["tr"] == [t["out"] for t in s["transcript_ir"]]
    g, e = v["draft_x25519_sha512"]["generator"], v["draft_x25519_sha512"]["exchange"]
    assert got["gen_str"] == g["generator_string"]
    assert got["g_from_hash"] == got["g_from_u"] == g["g"]
    assert (got["Ya"], got["Yb"]) == (e["Ya"], e["Yb"])
    assert got["K"] == [e["K"], e["K"]]
    assert got["transcript"] == e["transcript_ir"]
    import hashlib
    assert got["isk"] == [hashlib.sha256(h(e["isk_input"])).hexdigest()] * 2  # our ISK input is the draft's
    lo = v["low_order"]["cases"]
    assert got["q"] == [c["q"] for c in lo]
    assert got["isk_none"] == [c["abort"] for c in lo]
    assert got["isk_short"] == [None, None, None]  # a malformed share is refused, not an exception


def test_mpy_cpace_sha256_suite(micropython):
    got = mp(micropython, """
from lock import cpace
out = []
for c in load("cpace")["suite_sha256"]["cases"]:
    prs, ci, sid = h(c["PRS"]), h(c["CI"]), h(c["sid"])
    g = cpace.generator(prs, ci, sid)
    ya, yb = h(c["ya"]), h(c["yb"])
    Ya, Yb = cpace.share(g, ya), cpace.share(g, yb)
    out.append({"gen_str": x(cpace.generator_string(cpace.DSI, prs, ci, sid, cpace.S_IN_BYTES)), "g": x(g),
                "Ya": x(Ya), "Yb": x(Yb),
                "isk_a": x(cpace.isk(ya, Ya, Yb, h(c["ADa"]), h(c["ADb"]), sid, True)),
                "isk_b": x(cpace.isk(yb, Yb, Ya, h(c["ADb"]), h(c["ADa"]), sid, False))})
print(json.dumps(out))
""")
    cases = load("cpace")["suite_sha256"]["cases"]
    assert len(got) == len(cases) > 0
    for r, c in zip(got, cases):
        assert r == {"gen_str": c["generator_string"], "g": c["g"], "Ya": c["Ya"], "Yb": c["Yb"],
                     "isk_a": c["ISK"], "isk_b": c["ISK"]}, c["name"]


def test_mpy_ct_eq(micropython):
    got = mp(micropython, """
from lock.kdf import ct_eq
a = bytes(range(32))
print(json.dumps([ct_eq(a, bytes(a)), ct_eq(b"", b""), ct_eq(a, b"\\x01" + a[1:]), ct_eq(a, a[:31] + b"\\x00"),
                  ct_eq(a, a[:31]), ct_eq(a[:31], a), ct_eq(bytearray(a), a)]))
""")
    assert got == [True, True, False, False, False, False, True]


# ------------------------------------------------------------------ vectors under CPython (lockctl)


def test_host_x25519_rfc7748():
    v = load("x25519")
    for c in v["scalar_mult"]:
        assert host.x25519(h(c["scalar"]), h(c["u"])).hex() == c["out"], c["name"]
    d = v["dh"]
    assert host.public_key(h(d["alice_private"])).hex() == d["alice_public"]
    assert host.public_key(h(d["bob_private"])).hex() == d["bob_public"]
    assert host.x25519(h(d["alice_private"]), h(d["bob_public"])).hex() == d["shared"]
    assert host.x25519(h(d["bob_private"]), h(d["alice_public"])).hex() == d["shared"]
    k = u = h("09" + "00" * 31)
    want = {c["iterations"]: c["out"] for c in v["iterated"]}
    for i in range(1, max(want) + 1):
        k, u = host.x25519(k, u), k
        if i in want:
            assert k.hex() == want[i]


def test_host_hmac_hkdf_pbkdf2():
    for c in load("hmac")["cases"]:
        assert host.hmac_sha256(h(c["key"]), h(c["data"])).hex().startswith(c["mac"]), c["name"]
    for c in load("hkdf")["cases"]:
        assert host.hkdf_extract(h(c["salt"]), h(c["ikm"])).hex() == c["prk"], c["name"]
        assert host.hkdf_expand(h(c["prk"]), h(c["info"]), c["length"]).hex() == c["okm"], c["name"]
        assert host.hkdf(h(c["ikm"]), h(c["salt"]), h(c["info"]), c["length"]).hex() == c["okm"], c["name"]
    for c in load("pbkdf2")["cases"]:
        dk = host.pbkdf2_sha256(h(c["password"]), h(c["salt"]), c["iterations"], c["length"])
        assert dk.hex() == c["dk"], c["name"]


def test_host_ccm_vectors():
    v = load("ccm")
    for c in v["external"] + v["generated"]:
        ccm = host.CCM(h(c["key"]), c["tag_len"])
        assert ccm.seal(h(c["nonce"]), h(c["plaintext"]), h(c["aad"])).hex() == c["sealed"], c["name"]
        assert ccm.open(h(c["nonce"]), h(c["sealed"]), h(c["aad"])) == h(c["plaintext"]), c["name"]


def test_host_cpace_draft_vectors_sha512_end_to_end():
    """With H = SHA-512 the CPython side reproduces the draft's whole X25519 exchange, ISK included."""
    v = load("cpace")
    g, e = v["draft_x25519_sha512"]["generator"], v["draft_x25519_sha512"]["exchange"]
    gen_str = host.generator_string(h(g["DSI"]), h(g["PRS"]), h(g["CI"]), h(g["sid"]), g["s_in_bytes"])
    assert gen_str.hex() == g["generator_string"]
    import hashlib
    assert hashlib.sha512(gen_str).hexdigest()[:64] == g["hash_generator_string"]
    assert host.map_to_curve(h(g["decoded_u"])).hex() == g["g"]
    gen = host.generator(h(g["PRS"]), h(g["CI"]), h(g["sid"]), hash_name="sha512")
    assert gen.hex() == g["g"]
    Ya, Yb = host.share(gen, h(e["ya"])), host.share(gen, h(e["yb"]))
    assert (Ya.hex(), Yb.hex()) == (e["Ya"], e["Yb"])
    sid = h(g["sid"])
    assert host.isk(h(e["ya"]), Ya, Yb, h(e["ADa"]), h(e["ADb"]), sid, True, "sha512").hex() == e["ISK_sha512"]
    assert host.isk(h(e["yb"]), Yb, Ya, h(e["ADb"]), h(e["ADa"]), sid, False, "sha512").hex() == e["ISK_sha512"]
    s = v["strings"]
    assert [host.prepend_len(h(a)).hex() for a, _ in s["prepend_len"]] == [o for _, o in s["prepend_len"]]
    assert host.lv_cat(*[h(a) for a in s["lv_cat"]["args"]]).hex() == s["lv_cat"]["out"]
    lo = v["low_order"]
    for c in lo["cases"]:
        assert host.x25519(h(lo["s"]), h(c["u"])).hex() == c["q"]
        assert (host.isk(h(lo["s"]), Ya, h(c["u"]), b"", b"", b"", True) is None) == c["abort"]
    for bad in (b"", Yb[:31], Yb + b"0"):
        assert host.isk(h(e["ya"]), Ya, bad, b"", b"", b"", True) is None


def test_host_cpace_sha256_suite():
    for c in load("cpace")["suite_sha256"]["cases"]:
        prs, ci, sid = h(c["PRS"]), h(c["CI"]), h(c["sid"])
        assert host.generator_string(host.DSI, prs, ci, sid, 64).hex() == c["generator_string"]
        g = host.generator(prs, ci, sid)
        assert g.hex() == c["g"]
        Ya, Yb = host.share(g, h(c["ya"])), host.share(g, h(c["yb"]))
        assert (Ya.hex(), Yb.hex()) == (c["Ya"], c["Yb"])
        assert host.isk(h(c["ya"]), Ya, Yb, h(c["ADa"]), h(c["ADb"]), sid, True).hex() == c["ISK"]
        assert host.isk(h(c["yb"]), Yb, Ya, h(c["ADb"]), h(c["ADa"]), sid, False).hex() == c["ISK"]


def test_generated_vectors_are_current():
    """The generated sections are what the current CPython code produces (rerun tools/gen_crypto_vectors.py)."""
    import gen_crypto_vectors as gen
    assert load("ccm")["generated"] == gen.ccm_generated()
    cp = load("cpace")
    assert cp["suite_sha256"] == gen.cpace_generated(cp["draft_x25519_sha512"])


# ------------------------------------------------------------------ random cross-checks, both directions


def test_random_x25519_and_kdf_match(micropython):
    cases = [(os.urandom(32), os.urandom(32)) for _ in range(6)]
    kdf = [(os.urandom(n), os.urandom(m), os.urandom(k), L) for n, m, k, L in
           [(1, 0, 0, 1), (32, 16, 10, 32), (70, 3, 40, 100), (64, 64, 64, 255)]]
    pb = [(os.urandom(6), os.urandom(16), 3, 48), (os.urandom(80), os.urandom(1), 1, 20)]
    got = mp(micropython, """
from lock.x25519 import x25519, public_key
from lock import kdf
X = %r
K = %r
PB = %r
print(json.dumps({"x": [x(x25519(h(s), h(u))) for s, u in X], "pub": [x(public_key(h(s))) for s, _ in X],
                  "hmac": [x(kdf.hmac_sha256(h(a), h(b))) for a, b, _, _ in K],
                  "hkdf": [x(kdf.hkdf(h(a), h(b), h(c), n)) for a, b, c, n in K],
                  "pb": [x(kdf.pbkdf2_sha256(h(a), h(b), i, n)) for a, b, i, n in PB]}))
""" % ([(s.hex(), u.hex()) for s, u in cases], [(a.hex(), b.hex(), c.hex(), n) for a, b, c, n in kdf],
       [(a.hex(), b.hex(), i, n) for a, b, i, n in pb]))
    assert got["x"] == [host.x25519(s, u).hex() for s, u in cases]
    assert got["pub"] == [host.public_key(s).hex() for s, _ in cases]
    assert got["hmac"] == [host.hmac_sha256(a, b).hex() for a, b, _, _ in kdf]
    assert got["hkdf"] == [host.hkdf(a, b, c, n).hex() for a, b, c, n in kdf]
    assert got["pb"] == [host.pbkdf2_sha256(a, b, i, n).hex() for a, b, i, n in pb]


def test_random_ccm_both_directions(micropython):
    cases = []
    for n_pt, n_aad in [(0, 0), (1, 1), (15, 0), (16, 16), (33, 2), (64, 9), (200, 0), (31, 300)]:
        cases.append((os.urandom(16), os.urandom(13), os.urandom(n_pt), os.urandom(n_aad)))
    from_host = [host.CCM(k).seal(n, p, a) for k, n, p, a in cases]
    got = mp(micropython, """
from lock.ccm import CCM
C = %r
HOST = %r
print(json.dumps({"seal": [x(CCM(h(k)).seal(h(n), h(p), h(a))) for k, n, p, a in C],
                  "open": [x(CCM(h(k)).open(h(n), h(s), h(a))) for (k, n, p, a), s in zip(C, HOST)]}))
""" % ([tuple(b.hex() for b in c) for c in cases], [s.hex() for s in from_host]))
    assert got["seal"] == [s.hex() for s in from_host]  # firmware output == cryptography output
    assert got["open"] == [p.hex() for _, _, p, _ in cases]  # firmware opens what cryptography sealed
    for (k, n, p, a), s in zip(cases, got["seal"]):
        assert host.CCM(k).open(n, h(s), a) == p  # cryptography opens what the firmware sealed


def test_ccm_tampering_is_rejected(micropython):
    key, nonce, pt, aad = os.urandom(16), os.urandom(13), os.urandom(40), b"frame header"
    sealed = host.CCM(key).seal(nonce, pt, aad)

    def flip(b, i):
        b = bytearray(b)
        b[i] ^= 0x01
        return bytes(b)

    variants = {
        "ciphertext": (nonce, flip(sealed, 3), aad),
        "last ciphertext byte": (nonce, flip(sealed, len(pt) - 1), aad),
        "tag": (nonce, flip(sealed, len(sealed) - 1), aad),
        "aad": (nonce, sealed, b"frame headeR"),
        "no aad": (nonce, sealed, b""),
        "nonce": (flip(nonce, 12), sealed, aad),
        "truncated": (nonce, sealed[:-1], aad),
        "too short for a tag": (nonce, sealed[:15], aad),
        "empty": (nonce, b"", aad),
    }
    names = list(variants)
    got = mp(micropython, """
from lock.ccm import CCM
c = CCM(h(%r))
V = %r
print(json.dumps({"ok": x(c.open(h(%r), h(%r), h(%r))), "bad": [x(c.open(h(n), h(d), h(a))) for n, d, a in V]}))
""" % (key.hex(), [tuple(b.hex() for b in variants[k]) for k in names], nonce.hex(), sealed.hex(), aad.hex()))
    assert got["ok"] == pt.hex()
    assert dict(zip(names, got["bad"])) == {k: None for k in names}
    for k in names:
        assert host.CCM(key).open(*variants[k]) is None, k


def test_ccm_rejects_bad_parameters(micropython):
    got = mp(micropython, """
from lock.ccm import CCM
res = []
for f in (lambda: CCM(bytes(16), 5), lambda: CCM(bytes(16)).seal(bytes(6), b"x"),
          lambda: CCM(bytes(16)).seal(bytes(14), b"x"), lambda: CCM(bytes(16)).open(bytes(14), bytes(20))):
    try:
        f()
        res.append("accepted")
    except ValueError:
        res.append("ValueError")
print(json.dumps(res))
""")
    assert got == ["ValueError"] * 4


@pytest.mark.parametrize("firmware_is_initiator", [True, False])
def test_cpace_exchange_micropython_with_cpython(micropython, firmware_is_initiator):
    prs, ci, sid = b"482913", b"lock-ci", os.urandom(16)
    ad_fw, ad_host = b"lock", b"phone"
    y_host = host.new_scalar()
    Y_host = host.share(host.generator(prs, ci, sid), y_host)
    wrong_Y_host = host.share(host.generator(b"482914", ci, sid), y_host)

    got = mp(micropython, """
from lock import cpace
g = cpace.generator(h(%r), h(%r), h(%r))
y = cpace.new_scalar()
Y = cpace.share(g, y)
print(json.dumps({"Y": x(Y), "isk": x(cpace.isk(y, Y, h(%r), %r, %r, h(%r), %r)),
                  "isk_wrong": x(cpace.isk(y, Y, h(%r), %r, %r, h(%r), %r))}))
""" % (prs.hex(), ci.hex(), sid.hex(), Y_host.hex(), ad_fw, ad_host, sid.hex(), firmware_is_initiator,
       wrong_Y_host.hex(), ad_fw, ad_host, sid.hex(), firmware_is_initiator))
    Y_fw = h(got["Y"])
    isk_host = host.isk(y_host, Y_host, Y_fw, ad_host, ad_fw, sid, not firmware_is_initiator)
    assert isk_host is not None and len(isk_host) == 32
    assert got["isk"] == isk_host.hex()
    # A peer that used another code: both sides still get a key, but not the same one.
    isk_wrong_host = host.isk(y_host, wrong_Y_host, Y_fw, ad_host, ad_fw, sid, not firmware_is_initiator)
    assert got["isk_wrong"] is not None and isk_wrong_host is not None
    assert got["isk_wrong"] != isk_wrong_host.hex()
    # Swapped roles or another sid do not agree either.
    assert host.isk(y_host, Y_host, Y_fw, ad_host, ad_fw, sid, firmware_is_initiator).hex() != got["isk"]
    assert host.isk(y_host, Y_host, Y_fw, ad_host, ad_fw, os.urandom(16), not firmware_is_initiator).hex() != got["isk"]
