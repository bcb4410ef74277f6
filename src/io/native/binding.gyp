{
  "targets": [
    {
      "target_name": "vrrpd_packet",
      "sources": ["packet.c", "spawn.c", "vrrp6.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
