# An aioble-compatible module for the simulated board: the same API as micropython-lib's aioble
# (peripheral role), with the radio replaced by loopback TCP (see core.py for the link format).
from .core import GattError, config, log_level, stop
from .device import Device, DeviceConnection, DeviceDisconnectedError
from .server import Service, Characteristic, BufferedCharacteristic, Descriptor, register_services
from .peripheral import advertise

ADDR_PUBLIC = 0
ADDR_RANDOM = 1
