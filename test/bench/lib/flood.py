# Send random, invalid protocol-112 packets to one address at a fixed rate for a bounded time,
# from inside a lab namespace (the traffic never leaves the lab's bridge).
#   python3 flood.py DEST RATE_PER_SECOND SECONDS
# Each payload is 8..60 random bytes whose first byte is never 0x21 (VRRPv2 advert), so none can
# be a valid advert; TTL 255 so the packets get past the receiver's first check and exercise the
# parser. Prints the number of packets sent.
import os
import random
import socket
import sys
import time

dest, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
start = time.monotonic()
end = start + seconds
sent = 0
while True:
    now = time.monotonic()
    if now >= end:
        break
    due = int((now - start) * rate)
    while sent < due:
        payload = bytearray(os.urandom(random.randint(8, 60)))
        if payload[0] == 0x21:
            payload[0] = 0x31
        try:
            s.sendto(payload, (dest, 0))
        except OSError:
            pass
        sent += 1
    time.sleep(0.002)
print(sent)
