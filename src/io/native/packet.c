/*
 * vrrpd_packet: the one thing Node and raw-socket cannot do for vrrpd, send a whole Ethernet frame
 * (a gratuitous ARP) on an interface through an AF_PACKET socket. One function, synchronous: a
 * GARP burst is a handful of 42-byte frames, each sendto() takes microseconds (the socket is kept
 * open, see below). See
 * native-notes/garp.md for why this is an addon rather than a spawned arping.
 *
 *   sendFrames(ifname: string, frames: Uint8Array[]): number   // frames sent; throws on error
 *   ipv4Addresses(): { ifname: string, address: number }[]      // getifaddrs order, host order
 *
 * ipv4Addresses exists because Node's os.networkInterfaces() (libuv) leaves out every interface
 * that is not UP and RUNNING: the primary address of a link without carrier would be unknown
 * exactly when the daemon has to decide FAULT or pick a source address.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>

/* The JS side branches on error.code (ENETDOWN when the link is down, ENODEV when it vanished,
 * EPERM without CAP_NET_RAW), so hand it the errno name, not a lossy class. */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *code = strerrorname_np(err);
  napi_throw_error(env, code != NULL ? code : "EIO", msg);
  return NULL;
}

static napi_value send_frames(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, NULL, "sendFrames(ifname, frames[])");
    return NULL;
  }
  char ifname[IF_NAMESIZE + 1];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok || len == 0 || len >= IF_NAMESIZE) {
    napi_throw_type_error(env, NULL, "ifname must be an interface name");
    return NULL;
  }
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  if (!is_array) {
    napi_throw_type_error(env, NULL, "frames must be an array of Uint8Array");
    return NULL;
  }
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, "if_nametoindex", errno);

  /* One socket for the life of the process: closing an AF_PACKET socket waits for an RCU grace
   * period (packet_release -> synchronize_net), about 10 ms, which would block the event loop on
   * every burst. Protocol 0 means the socket is never hooked into receive, so keeping it costs
   * nothing; the destination interface is chosen per sendto() by sll_ifindex. */
  static int cached_fd = -1;
  if (cached_fd < 0) {
    cached_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (cached_fd < 0) return throw_errno(env, "socket(AF_PACKET)", errno);
  }
  int fd = cached_fd;

  struct sockaddr_ll addr;
  memset(&addr, 0, sizeof addr);
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = (int)ifindex;
  addr.sll_protocol = htons(ETH_P_ARP);
  addr.sll_halen = ETH_ALEN;

  uint32_t count = 0, sent = 0;
  napi_get_array_length(env, argv[1], &count);
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    napi_typedarray_type type;
    size_t length;
    void *data;
    napi_value ab;
    size_t offset;
    if (napi_get_element(env, argv[1], i, &item) != napi_ok ||
        napi_get_typedarray_info(env, item, &type, &length, &data, &ab, &offset) != napi_ok ||
        type != napi_uint8_array || length < 14) {
      napi_throw_type_error(env, NULL, "each frame must be a Uint8Array of at least 14 bytes");
      return NULL;
    }
    memcpy(addr.sll_addr, data, ETH_ALEN); /* destination MAC from the frame itself */
    if (sendto(fd, data, length, 0, (struct sockaddr *)&addr, sizeof addr) < 0) {
      return throw_errno(env, "sendto(AF_PACKET)", errno);
    }
    sent++;
  }
  napi_value result;
  napi_create_uint32(env, sent, &result);
  return result;
}

static napi_value ipv4_addresses(napi_env env, napi_callback_info info) {
  (void)info;
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) != 0) return throw_errno(env, "getifaddrs", errno);
  napi_value result;
  napi_create_array(env, &result);
  uint32_t index = 0;
  for (struct ifaddrs *entry = list; entry != NULL; entry = entry->ifa_next) {
    if (entry->ifa_addr == NULL || entry->ifa_addr->sa_family != AF_INET || entry->ifa_name == NULL) continue;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)entry->ifa_addr;
    napi_value item, name, address;
    napi_create_object(env, &item);
    napi_create_string_utf8(env, entry->ifa_name, NAPI_AUTO_LENGTH, &name);
    napi_create_uint32(env, ntohl(sin->sin_addr.s_addr), &address);
    napi_set_named_property(env, item, "ifname", name);
    napi_set_named_property(env, item, "address", address);
    napi_set_element(env, result, index++, item);
  }
  freeifaddrs(list);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "sendFrames", NAPI_AUTO_LENGTH, send_frames, NULL, &fn);
  napi_set_named_property(env, exports, "sendFrames", fn);
  napi_create_function(env, "ipv4Addresses", NAPI_AUTO_LENGTH, ipv4_addresses, NULL, &fn);
  napi_set_named_property(env, exports, "ipv4Addresses", fn);
  return exports;
}
