{
  "targets": [
    {
      "target_name": "vrrpd_packet",
      "sources": ["packet.c", "spawn.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
