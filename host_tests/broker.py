"""Real MQTT parts for the bridge's tests: Debian's mosquitto on a free loopback port, a paho client standing in
for Home Assistant, and `lockbridge run` as a subprocess."""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

from sim import VENV_BIN, free_port_pair

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")


def mosquitto_binary():
    found = shutil.which("mosquitto") or next((p for p in MOSQUITTO_PATHS if os.access(p, os.X_OK)), None)
    if not found:
        raise AssertionError("Debian's mosquitto is not installed: apt-get install mosquitto (.ci/run does)")
    return found


class Mosquitto:
    """A broker of our own (no persistence: a restart forgets retained messages, the hard case)."""

    def __init__(self, tmp_path, users=None, tls=None):
        """`users`: {name: password} (then nobody else gets in); `tls`: (ca, cert, key) files for a second
        listener on `tls_port`."""
        tmp = pathlib.Path(tmp_path)
        self.port = free_port_pair()
        self.tls_port = self.port + 1
        lines = ["listener %d 127.0.0.1" % self.port]
        if tls:
            lines += ["listener %d 127.0.0.1" % self.tls_port, "cafile %s" % tls[0], "certfile %s" % tls[1],
                      "keyfile %s" % tls[2]]
        if users:
            passwords = tmp / "mosquitto.passwd"
            for i, (name, password) in enumerate(users.items()):
                subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) +
                               [str(passwords), name, password], check=True, capture_output=True)
            lines += ["allow_anonymous false", "password_file %s" % passwords]
        else:
            lines += ["allow_anonymous true"]
        lines += ["persistence false", "user %s" % os.environ.get("USER", "root")]  # never drop to `mosquitto`
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.log = tmp / "mosquitto.log"
        self.proc = None
        self.start()

    def start(self):
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([mosquitto_binary(), "-c", str(self.conf)], stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise AssertionError("mosquitto did not start:\n" + self.log.read_text())

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


class HomeAssistant:
    """What Home Assistant's MQTT integration sees: every message on the discovery and bridge topics, with
    the time it arrived; `retained` = the broker's current retained value per topic as a newcomer sees it."""

    def __init__(self, port, version=mqtt.MQTTv5, prefix="homeassistant", base="lockbridge", login=None):
        self.messages = []   # (monotonic time, topic, payload str, retain flag)
        self.latest = {}
        self.cond = threading.Condition()
        self.topics = [prefix + "/#", base + "/#"]
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=version)
        if login:
            self.c.username_pw_set(*login)
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.reconnect_delay_set(0.2, 1)
        self.c.connect("127.0.0.1", port, keepalive=10)
        self.c.loop_start()

    def _on_connect(self, c, userdata, flags, reason, properties=None):
        for t in self.topics:
            c.subscribe(t, 1)

    def _on_message(self, c, userdata, m):
        with self.cond:
            payload = m.payload.decode(errors="replace")
            self.messages.append((time.monotonic(), m.topic, payload, bool(m.retain)))
            self.latest[m.topic] = payload
            self.cond.notify_all()

    def publish(self, topic, payload, qos=1, retain=False):
        self.c.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def wait(self, topic, predicate=lambda v: True, timeout=20, since=None, what=None):
        """The first message on `topic` (after monotonic time `since`, if given) whose payload satisfies
        `predicate`: (arrival time, payload)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, top, payload, _ in self.messages:
                    if top == topic and (since is None or t >= since) and predicate(payload):
                        return t, payload
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(round(t - (since or 0), 2), p) for t, top, p, _ in self.messages if top == topic][-8:]
                    raise AssertionError("timed out waiting for %s on %s; last seen: %s"
                                         % (what or "a message", topic, seen))
                self.cond.wait(left)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def snapshot(port, prefix="homeassistant", base="lockbridge", settle=1.5, version=mqtt.MQTTv5):
    """What a Home Assistant that connects now knows after `settle` s: topic -> latest payload, from the
    retained messages and whatever was published meanwhile (an empty payload deletes a topic)."""
    ha = HomeAssistant(port, version, prefix, base)
    time.sleep(settle)
    ha.close()
    with ha.cond:
        return {top: p for top, p in ha.latest.items() if p}


class BridgeProcess:
    """`lockbridge run` with its own config dir; its output lines are kept for the test's report."""

    def __init__(self, config_home, *args):
        self.env = dict(os.environ, XDG_CONFIG_HOME=str(config_home))
        self.args = [str(VENV_BIN / "lockbridge"), *args]
        self.output = []
        self.start()

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=self.env)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc):
        for line in proc.stdout:
            self.output.append(line)

    def log(self):
        return "".join(self.output[-60:])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode


def lockbridge(config_home, *args, timeout=60):
    """One `lockbridge --json` command: (exit code, JSON output or the error line)."""
    r = subprocess.run([str(VENV_BIN / "lockbridge"), "--json", *args], capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ, XDG_CONFIG_HOME=str(config_home)))
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else r.stderr.strip())
