{
  "targets": [
    {
      "target_name": "vrrpd_packet",
      "sources": ["packet.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
