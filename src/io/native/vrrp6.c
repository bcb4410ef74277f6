/*
 * VRRPv3 over IPv6: one raw IPv6 socket (protocol 112) per interface, opened, configured, read and
 * written here because npm raw-socket cannot do three things this needs (native-notes/ipv6.md):
 * recvmsg() with ancillary data (the hop limit, the destination and the traffic class of every
 * advert: an IPv6 raw socket delivers no IP header), sendmsg() with IPV6_PKTINFO (the source
 * address: the link-local one, or unicast_src_ip), and a scope id on the destination.
 *
 *   open6(ifname, multicast, onPacket): handle        // throws errno names (ENODEV, EPERM, ...)
 *     onPacket(packet: Buffer | null, detail?: string | number)   // from the event loop
 *       packet: a 40-byte IPv6 header rebuilt from what recvmsg reported (version 6, traffic
 *       class, payload length, next header 112, hop limit, source, destination; flow label 0)
 *       followed by the VRRP message, so the core checks IPv6 adverts as it checks IPv4 packets.
 *       detail with a packet: how long ago the kernel received it (SO_TIMESTAMPNS), in ms.
 *       null with a code: the socket failed (the caller closes and reopens).
 *   send6(handle, payload, source16 | null, destination16): void   // throws errno names
 *   close6(handle): void
 *
 * The checksum: not IPV6_CHECKSUM. With it the kernel would also verify received adverts and drop
 * bad ones silently, and vrrpd counts every drop by reason; the core computes and verifies the
 * checksum over the IPv6 pseudo-header itself, and sendmsg's IPV6_PKTINFO pins the source address
 * the checksum was computed with. Likewise the hop limit is read (IPV6_RECVHOPLIMIT) and judged by
 * the core, not filtered by IPV6_MINHOPCOUNT, so an advert with hop limit 254 is counted.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29
#endif

#define VRRP_PROTO 112
#define IPV6_HDR 40

typedef struct sock6_s {
  struct sock6_s *next;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int fd;
  unsigned ifindex;
  uint32_t id;
  uv_poll_t poll;
  int closing;
} sock6_t;

static __thread sock6_t *sockets = NULL;
static __thread uint32_t next_id = 1;

static napi_value throw6(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *code = strerrorname_np(err);
  napi_throw_error(env, code != NULL ? code : "EIO", msg);
  return NULL;
}

static sock6_t *find6(uint32_t id) {
  for (sock6_t *s = sockets; s != NULL; s = s->next)
    if (s->id == id && !s->closing) return s;
  return NULL;
}

/* age_ms: how long ago the kernel received the packet (its SO_TIMESTAMPNS stamp against the
 * realtime clock now), or a negative number when it came without a stamp. */
double vrrpd_stamp_age_ms(const struct timespec *stamp); /* packet.c */

static void call_js(sock6_t *s, const unsigned char *packet, size_t length, const char *error_code, double age_ms) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[2], callback, receiver, result;
  int argc = 1;
  if (packet != NULL) {
    napi_create_buffer_copy(env, length, packet, NULL, &argv[0]);
    if (age_ms >= 0) {
      napi_create_double(env, age_ms, &argv[1]);
      argc = 2;
    }
  } else {
    napi_get_null(env, &argv[0]);
    napi_create_string_utf8(env, error_code, NAPI_AUTO_LENGTH, &argv[1]);
    argc = 2;
  }
  napi_get_reference_value(env, s->callback, &callback);
  napi_get_global(env, &receiver);
  if (napi_make_callback(env, s->context, receiver, callback, (size_t)argc, argv, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  sock6_t *s = handle->data;
  if (status < 0) {
    uv_poll_stop(handle);
    call_js(s, NULL, 0, "EIO", -1);
    return;
  }
  /* Everything waiting now: a burst of adverts costs one wake-up. A bounded count keeps one busy
   * socket from starving the rest of the loop. */
  for (int round = 0; round < 64 && !s->closing; round++) {
    unsigned char buffer[IPV6_HDR + 65536];
    unsigned char control[256];
    struct sockaddr_in6 from;
    struct iovec iov = { .iov_base = buffer + IPV6_HDR, .iov_len = sizeof buffer - IPV6_HDR };
    struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control, .msg_controllen = sizeof control };
    ssize_t got = recvmsg(s->fd, &msg, MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      const char *code = strerrorname_np(errno);
      uv_poll_stop(handle);
      call_js(s, NULL, 0, code != NULL ? code : "EIO", -1);
      return;
    }
    if (msg.msg_flags & MSG_TRUNC) continue; /* bigger than any advert: nothing to judge */
    int hop_limit = -1, tclass = 0;
    struct in6_addr destination;
    memset(&destination, 0, sizeof destination);
    double age_ms = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
        struct timespec stamp;
        memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
        age_ms = vrrpd_stamp_age_ms(&stamp);
        continue;
      }
      if (c->cmsg_level != IPPROTO_IPV6) continue;
      if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) memcpy(&hop_limit, CMSG_DATA(c), sizeof(int));
      else if (c->cmsg_type == IPV6_TCLASS && c->cmsg_len >= CMSG_LEN(sizeof(int))) memcpy(&tclass, CMSG_DATA(c), sizeof(int));
      else if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
        struct in6_pktinfo info;
        memcpy(&info, CMSG_DATA(c), sizeof info);
        destination = info.ipi6_addr;
      }
    }
    /* Without the ancillary data the packet cannot be judged (hop limit, destination): a hop limit
     * of 0 in the rebuilt header makes the core drop it as bad_ttl rather than trust it. */
    if (hop_limit < 0) hop_limit = 0;
    if (got > 0xffff) continue;
    unsigned char *h = buffer;
    h[0] = (unsigned char)(0x60 | ((tclass >> 4) & 0x0f));
    h[1] = (unsigned char)((tclass & 0x0f) << 4);
    h[2] = 0;
    h[3] = 0;
    h[4] = (unsigned char)((got >> 8) & 0xff);
    h[5] = (unsigned char)(got & 0xff);
    h[6] = VRRP_PROTO;
    h[7] = (unsigned char)hop_limit;
    memcpy(h + 8, &from.sin6_addr, 16);
    memcpy(h + 24, &destination, 16);
    call_js(s, buffer, IPV6_HDR + (size_t)got, NULL, age_ms);
  }
}

static int setint(int fd, int level, int option, int value) {
  return setsockopt(fd, level, option, &value, sizeof value);
}

static napi_value open6(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char ifname[IF_NAMESIZE + 1];
  size_t ifname_length = 0;
  bool multicast = false;
  napi_valuetype cb_type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &ifname_length) != napi_ok || ifname_length == 0 ||
      ifname_length >= IF_NAMESIZE || napi_get_value_bool(env, argv[1], &multicast) != napi_ok ||
      napi_typeof(env, argv[2], &cb_type) != napi_ok || cb_type != napi_function) {
    napi_throw_type_error(env, "EINVAL", "open6(ifname, multicast, onPacket)");
    return NULL;
  }
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw6(env, "if_nametoindex", errno == ENXIO ? ENODEV : errno);
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_PROTO);
  if (fd < 0) return throw6(env, "socket(AF_INET6, SOCK_RAW, 112)", errno);
  const char *step = NULL;
  /* One socket per interface: only its packets in, and out through it whatever the routes say. */
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)ifname_length + 1) != 0) step = "SO_BINDTODEVICE";
  else if (setint(fd, SOL_SOCKET, SO_RCVBUF, 256 * 1024) != 0) step = "SO_RCVBUF";
  /* Each packet's arrival time: Master_Down runs from it, not from when the loop read it. */
  else if (setint(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1) != 0) step = "SO_TIMESTAMPNS";
  else if (setint(fd, SOL_SOCKET, SO_SNDBUFFORCE, 1024 * 1024) != 0 && setint(fd, SOL_SOCKET, SO_SNDBUF, 1024 * 1024) != 0) step = "SO_SNDBUF";
  /* RFC 5798 5.1.2.3 and what keepalived sends: hop limit 255 both ways, traffic class 0xc0. */
  else if (setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255) != 0) step = "IPV6_MULTICAST_HOPS";
  else if (setint(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255) != 0) step = "IPV6_UNICAST_HOPS";
  else if (setint(fd, IPPROTO_IPV6, IPV6_TCLASS, 0xc0) != 0) step = "IPV6_TCLASS";
  else if (setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)ifindex) != 0) step = "IPV6_MULTICAST_IF";
  else if (setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) != 0) step = "IPV6_MULTICAST_LOOP";
  /* What the core needs to judge an advert, since no IPv6 header comes with it. */
  else if (setint(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) != 0) step = "IPV6_RECVHOPLIMIT";
  else if (setint(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) != 0) step = "IPV6_RECVPKTINFO";
  else if (setint(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, 1) != 0) step = "IPV6_RECVTCLASS";
  if (step == NULL) {
    /* Only the groups this socket joined (Linux 4.20); older kernels deliver what the host joined,
     * which the core then drops by VRID or destination. */
    (void)setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0);
    if (multicast) {
      struct ipv6_mreq mreq;
      memset(&mreq, 0, sizeof mreq);
      inet_pton(AF_INET6, "ff02::12", &mreq.ipv6mr_multiaddr);
      mreq.ipv6mr_interface = ifindex; /* this interface only */
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) step = "IPV6_ADD_MEMBERSHIP";
    }
  }
  if (step != NULL) {
    int err = errno;
    close(fd);
    return throw6(env, step, err);
  }
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) {
    close(fd);
    return throw6(env, "napi_get_uv_event_loop", EIO);
  }
  sock6_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return throw6(env, "calloc", ENOMEM);
  }
  s->env = env;
  s->fd = fd;
  s->ifindex = ifindex;
  s->id = next_id++;
  napi_value resource_name;
  napi_create_string_utf8(env, "vrrpd.vrrp6", NAPI_AUTO_LENGTH, &resource_name);
  napi_create_reference(env, argv[2], 1, &s->callback);
  napi_async_init(env, NULL, resource_name, &s->context);
  uv_poll_init(loop, &s->poll, fd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  s->next = sockets;
  sockets = s;
  napi_value result;
  napi_create_uint32(env, s->id, &result);
  return result;
}

static int read16(napi_env env, napi_value value, struct in6_addr *out) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, &ab, &offset) != napi_ok || type != napi_uint8_array || length != 16) return -1;
  memcpy(out, data, 16);
  return 0;
}

static napi_value send6(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint32_t id = 0;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  napi_value ab;
  size_t offset;
  napi_valuetype source_type;
  struct in6_addr source = IN6ADDR_ANY_INIT, destination = IN6ADDR_ANY_INIT;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 || napi_get_value_uint32(env, argv[0], &id) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, &ab, &offset) != napi_ok || type != napi_uint8_array ||
      napi_typeof(env, argv[2], &source_type) != napi_ok || read16(env, argv[3], &destination) != 0 ||
      (source_type != napi_null && read16(env, argv[2], &source) != 0)) {
    napi_throw_type_error(env, "EINVAL", "send6(handle, payload, source16 | null, destination16)");
    return NULL;
  }
  sock6_t *s = find6(id);
  if (s == NULL) return throw6(env, "send6", EBADF);
  struct sockaddr_in6 to;
  memset(&to, 0, sizeof to);
  to.sin6_family = AF_INET6;
  to.sin6_addr = destination;
  /* ff02::12 and link-local peers need the interface; a global peer ignores it. */
  if (IN6_IS_ADDR_MC_LINKLOCAL(&destination) || IN6_IS_ADDR_LINKLOCAL(&destination)) to.sin6_scope_id = s->ifindex;
  struct iovec iov = { .iov_base = data, .iov_len = length };
  union {
    char bytes[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1 };
  if (source_type != napi_null) {
    /* The source the checksum was computed with: the link-local address or unicast_src_ip. */
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
    struct in6_pktinfo pktinfo;
    memset(&pktinfo, 0, sizeof pktinfo);
    pktinfo.ipi6_addr = source;
    pktinfo.ipi6_ifindex = s->ifindex;
    memcpy(CMSG_DATA(c), &pktinfo, sizeof pktinfo);
  }
  for (;;) {
    if (sendmsg(s->fd, &msg, MSG_DONTWAIT) >= 0) return NULL;
    if (errno == EINTR) continue;
    return throw6(env, "sendmsg", errno);
  }
}

static void on_closed(uv_handle_t *handle) {
  sock6_t *s = handle->data;
  close(s->fd);
  napi_delete_reference(s->env, s->callback);
  napi_async_destroy(s->env, s->context);
  free(s);
}

static napi_value close6(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t id = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_uint32(env, argv[0], &id) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "close6(handle)");
    return NULL;
  }
  for (sock6_t **p = &sockets; *p != NULL; p = &(*p)->next) {
    sock6_t *s = *p;
    if (s->id != id || s->closing) continue;
    *p = s->next;
    s->closing = 1;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_closed);
    return NULL;
  }
  return NULL;
}

void vrrpd_register_vrrp6(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "open6", NAPI_AUTO_LENGTH, open6, NULL, &fn);
  napi_set_named_property(env, exports, "open6", fn);
  napi_create_function(env, "send6", NAPI_AUTO_LENGTH, send6, NULL, &fn);
  napi_set_named_property(env, exports, "send6", fn);
  napi_create_function(env, "close6", NAPI_AUTO_LENGTH, close6, NULL, &fn);
  napi_set_named_property(env, exports, "close6", fn);
}
