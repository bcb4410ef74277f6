/*
 * vrrpd_packet: the one thing Node and raw-socket cannot do for vrrpd, send a whole Ethernet frame
 * (a gratuitous ARP) on an interface through an AF_PACKET socket. One function, synchronous: a
 * GARP burst is a handful of 42-byte frames, each sendto() takes microseconds (the socket is kept
 * open, see below). See
 * native-notes/garp.md for why this is an addon rather than a spawned arping.
 *
 *   sendFrames(ifname: string, frames: Uint8Array[]): number   // frames sent; throws on error
 *   ipv4Addresses(): { ifname: string, address: number }[]      // getifaddrs order, host order
 *   ipv6Addresses(): { ifname: string, address: string }[]      // getifaddrs order, 32 hex digits
 *   addressChange(add: boolean, ifname: string, address: number | Uint8Array, prefixLength: number,
 *                 label: string | null, broadcast: number | null): void  // throws errno names
 *                 (address: an IPv4 number in host order, or the 16 bytes of an IPv6 address)
 *   clearAmbientCapabilities(): void       // prctl(PR_CAP_AMBIENT_CLEAR_ALL); throws errno names
 *   clearInheritableCapabilities(): void   // capset with an empty inheritable set; throws
 *   peerCredentials(fd: number): { pid, uid, gid, groups: number[] }  // SO_PEERCRED + SO_PEERGROUPS
 *   rawSocketFds(protocol: number): number[]   // this process's AF_INET raw sockets of that protocol
 *   receiveAgeMs(fd: number): number | undefined  // how long ago the last packet read was received
 *
 * ipv4Addresses exists because Node's os.networkInterfaces() (libuv) leaves out every interface
 * that is not UP and RUNNING: the primary address of a link without carrier would be unknown
 * exactly when the daemon has to decide FAULT or pick a source address.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <net/if.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <time.h>

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
    /* The protocol the kernel tags the frame with (skb->protocol, what qdiscs and taps see): the
     * frame's own EtherType, ARP for a gratuitous ARP, IPv6 for a neighbour advertisement. */
    memcpy(&addr.sll_protocol, (const unsigned char *)data + 12, sizeof addr.sll_protocol);
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

/* ipv6Addresses: every IPv6 address with its interface, from getifaddrs() as ipv4Addresses (and
 * for the same reason), the address as 32 hex digits (JS reads it as a bigint). `vrrpd drain` waits
 * on it for IPv6 VIPs to leave. */
static napi_value ipv6_addresses(napi_env env, napi_callback_info info) {
  (void)info;
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) != 0) return throw_errno(env, "getifaddrs", errno);
  napi_value result;
  napi_create_array(env, &result);
  uint32_t index = 0;
  for (struct ifaddrs *entry = list; entry != NULL; entry = entry->ifa_next) {
    if (entry->ifa_addr == NULL || entry->ifa_addr->sa_family != AF_INET6 || entry->ifa_name == NULL) continue;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)entry->ifa_addr;
    char hex[33];
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", sin6->sin6_addr.s6_addr[i]);
    napi_value item, name, address;
    napi_create_object(env, &item);
    napi_create_string_utf8(env, entry->ifa_name, NAPI_AUTO_LENGTH, &name);
    napi_create_string_utf8(env, hex, 32, &address);
    napi_set_named_property(env, item, "ifname", name);
    napi_set_named_property(env, item, "address", address);
    napi_set_element(env, result, index++, item);
  }
  freeifaddrs(list);
  return result;
}

/* addressChange: add or delete one IPv4 or IPv6 address over rtnetlink, as keepalived does, instead of
 * fork/exec of `ip addr add` (3-15 ms of a blocked event loop for a Node process on a loaded
 * 2-core machine, and the gratuitous ARP waits for it). The kernel applies RTM_NEWADDR inside
 * sendmsg(), so the ack is waiting when recv() runs: the call takes tens of microseconds. One
 * socket is kept open; every request carries its own sequence number and a 1 s receive timeout
 * bounds the wait, so a lost ack cannot hang the daemon. Errors are thrown with the kernel's errno
 * name (EEXIST: already there, EADDRNOTAVAIL: not there, ENODEV, EPERM), like `ip` reports them. */
static int nl_fd = -1;
static uint32_t nl_seq = 0;

static int nl_open(void) {
  if (nl_fd >= 0) return 0;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  struct sockaddr_nl local = { .nl_family = AF_NETLINK };
  struct timeval timeout = { .tv_sec = 1, .tv_usec = 0 };
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0) {
    int err = errno;
    close(fd);
    return err;
  }
  nl_fd = fd;
  return 0;
}

static void nl_attr(struct nlmsghdr *nh, unsigned short type, const void *data, size_t length) {
  struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = RTA_LENGTH(length);
  memcpy(RTA_DATA(rta), data, length);
  nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static napi_value address_change(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) {
    napi_throw_type_error(env, "EINVAL", "addressChange(add, ifname, address, prefixLength, label, broadcast)");
    return NULL;
  }
  bool add = false;
  char ifname[IF_NAMESIZE + 1];
  size_t ifname_length = 0;
  uint32_t address = 0, prefix = 0, broadcast = 0;
  /* An IPv4 address comes as a number, an IPv6 one as its 16 bytes (network order). */
  unsigned char address6[16] = { 0 };
  bool ipv6 = false;
  bool is_typedarray = false;
  if (argc >= 3 && napi_is_typedarray(env, argv[2], &is_typedarray) == napi_ok && is_typedarray) {
    napi_typedarray_type type;
    size_t length = 0;
    void *data = NULL;
    napi_value ab;
    size_t offset;
    if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, &ab, &offset) != napi_ok || type != napi_uint8_array || length != 16) {
      napi_throw_type_error(env, "EINVAL", "addressChange: an IPv6 address is a Uint8Array of 16 bytes");
      return NULL;
    }
    memcpy(address6, data, 16);
    ipv6 = true;
  }
  char label[IFNAMSIZ + 1];
  size_t label_length = 0;
  napi_valuetype label_type, broadcast_type;
  if (napi_get_value_bool(env, argv[0], &add) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], ifname, sizeof ifname, &ifname_length) != napi_ok ||
      (!ipv6 && napi_get_value_uint32(env, argv[2], &address) != napi_ok) || napi_get_value_uint32(env, argv[3], &prefix) != napi_ok ||
      napi_typeof(env, argv[4], &label_type) != napi_ok || napi_typeof(env, argv[5], &broadcast_type) != napi_ok || prefix > (ipv6 ? 128u : 32u) ||
      ifname_length == 0 || ifname_length >= IF_NAMESIZE) {
    napi_throw_type_error(env, "EINVAL", "addressChange: bad arguments");
    return NULL;
  }
  if (ipv6 && (label_type == napi_string || broadcast_type == napi_number)) {
    /* Labels and broadcast addresses exist only for IPv4 in the kernel. */
    napi_throw_type_error(env, "EINVAL", "addressChange: an IPv6 address takes no label and no broadcast");
    return NULL;
  }
  if (label_type == napi_string &&
      (napi_get_value_string_utf8(env, argv[4], label, sizeof label, &label_length) != napi_ok || label_length == 0 || label_length >= IFNAMSIZ)) {
    napi_throw_type_error(env, "EINVAL", "addressChange: bad label");
    return NULL;
  }
  if (broadcast_type == napi_number && napi_get_value_uint32(env, argv[5], &broadcast) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "addressChange: bad broadcast");
    return NULL;
  }
  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, add ? "RTM_NEWADDR" : "RTM_DELADDR", errno == ENXIO ? ENODEV : errno);
  int err = nl_open();
  if (err != 0) return throw_errno(env, "socket(NETLINK_ROUTE)", err);

  union {
    struct nlmsghdr nh;
    char bytes[256];
  } request;
  memset(&request, 0, sizeof request);
  struct nlmsghdr *nh = &request.nh;
  nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
  nh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
  nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  nh->nlmsg_seq = ++nl_seq;
  struct ifaddrmsg *ifa = NLMSG_DATA(nh);
  ifa->ifa_family = ipv6 ? AF_INET6 : AF_INET;
  ifa->ifa_prefixlen = (unsigned char)prefix;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = ifindex;
  if (ipv6) {
    /* As keepalived: IFA_LOCAL alone names the address, and an add carries IFA_F_NODAD. Without it
     * the VIP would first be `tentative` (not usable for a second or more) and, during a brief
     * dual master, the other node's copy would make it `dadfailed` for good: VRRP is the duplicate
     * detection here. IFA_FLAGS (32 bits, Linux 3.14) and the old 8-bit field both carry it. */
    nl_attr(nh, IFA_LOCAL, address6, sizeof address6);
    if (add) {
      uint32_t flags = IFA_F_NODAD;
      ifa->ifa_flags = IFA_F_NODAD;
      nl_attr(nh, IFA_FLAGS, &flags, sizeof flags);
    }
  } else {
    uint32_t net_address = htonl(address);
    nl_attr(nh, IFA_LOCAL, &net_address, sizeof net_address);
    nl_attr(nh, IFA_ADDRESS, &net_address, sizeof net_address);
  }
  if (add && label_type == napi_string) nl_attr(nh, IFA_LABEL, label, label_length + 1);
  if (add && broadcast_type == napi_number) {
    uint32_t net_broadcast = htonl(broadcast);
    nl_attr(nh, IFA_BROADCAST, &net_broadcast, sizeof net_broadcast);
  }
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(nl_fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    return throw_errno(env, add ? "RTM_NEWADDR" : "RTM_DELADDR", errno);
  }
  for (;;) {
    char reply[4096];
    ssize_t got = recv(nl_fd, reply, sizeof reply, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      int recv_err = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
      /* A late ack would be mistaken for the next request's: start over with a fresh socket. */
      close(nl_fd);
      nl_fd = -1;
      return throw_errno(env, "recv(NETLINK_ROUTE)", recv_err);
    }
    for (struct nlmsghdr *msg = (struct nlmsghdr *)reply; NLMSG_OK(msg, (size_t)got); msg = NLMSG_NEXT(msg, got)) {
      if (msg->nlmsg_seq != nl_seq || msg->nlmsg_type != NLMSG_ERROR) continue;
      const struct nlmsgerr *ack = NLMSG_DATA(msg);
      if (ack->error == 0) return NULL;
      return throw_errno(env, add ? "RTM_NEWADDR" : "RTM_DELADDR", -ack->error);
    }
  }
}


static void set_close_on_exec(int fd, void *context) {
  if (fd < 3) return;
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0 && !(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0) (*(uint32_t *)context)++;
}

/* The one int32 argument of rawSocketFds, receiveAgeMs and peerCredentials; throws a TypeError
 * with the call's usage and returns 0 when it is missing or not a number. */
static int int32_argument(napi_env env, napi_callback_info info, const char *usage, int32_t *out) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], out) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

/* Every open descriptor of this process but the directory stream's own, as /proc/self/fd lists them. */
static void each_open_fd(void (*visit)(int fd, void *context), void *context) {
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return;
  int self = dirfd(dir);
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    int fd = atoi(entry->d_name);
    if (fd != self) visit(fd, context);
  }
  closedir(dir);
}

/* How long ago a kernel receive stamp (CLOCK_REALTIME) was, in ms; vrrp6.c uses it too. */
double vrrpd_stamp_age_ms(const struct timespec *stamp) {
  struct timespec now;
  if (clock_gettime(CLOCK_REALTIME, &now) != 0) return -1;
  return (double)(now.tv_sec - stamp->tv_sec) * 1e3 + (double)(now.tv_nsec - stamp->tv_nsec) / 1e6;
}

/* closeOnExec: set FD_CLOEXEC on every descriptor from 3 up that lacks it. npm raw-socket opens
 * its socket without SOCK_CLOEXEC, so every `ip`, check script and notify script would inherit the
 * VRRP socket (and could send on it, or keep it alive). Node and libuv open everything else with
 * CLOEXEC already, and stdio for children is dup2'ed, so marking all of them is safe.
 * Returns how many descriptors it changed. */
static napi_value close_on_exec(napi_env env, napi_callback_info info) {
  (void)info;
  uint32_t changed = 0;
  each_open_fd(set_close_on_exec, &changed);
  napi_value result;
  napi_create_uint32(env, changed, &result);
  return result;
}

/* clearAmbientCapabilities / clearInheritableCapabilities: the daemon keeps its effective and
 * permitted capabilities (it needs CAP_NET_RAW and CAP_NET_ADMIN itself), but a program it execs
 * as a non-root user only gets the ambient set, plus what the inheritable set lets a file's
 * inheritable capabilities bring. Emptying both, once at start, means check and notify scripts
 * start with no capabilities at all. Capabilities are per thread: the calling thread is the main
 * one, and libuv forks every child from it. Lowering either set never needs a capability. */
static napi_value clear_ambient_capabilities(napi_env env, napi_callback_info info) {
  (void)info;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    /* EINVAL: a kernel before 4.3, which has no ambient set, so there is nothing to clear. */
    if (errno != EINVAL) return throw_errno(env, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", errno);
  }
  return NULL;
}

static napi_value clear_inheritable_capabilities(napi_env env, napi_callback_info info) {
  (void)info;
  struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capget, &header, data) != 0) return throw_errno(env, "capget", errno);
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) data[i].inheritable = 0;
  if (syscall(SYS_capset, &header, data) != 0) return throw_errno(env, "capset", errno);
  return NULL;
}

/* peerCredentials: who is at the other end of a connected AF_UNIX socket, as the kernel recorded
 * it at connect() (native-notes/peer-credentials.md): SO_PEERCRED for pid, uid and primary gid,
 * SO_PEERGROUPS (Linux 4.13) for the supplementary groups. Node exposes neither. The control socket
 * lets only root and members of its group run the commands that change state. */
static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  int32_t fd = -1;
  if (!int32_argument(env, info, "peerCredentials(fd)", &fd)) return NULL;
  if (fd < 0) {
    napi_throw_type_error(env, NULL, "peerCredentials(fd)");
    return NULL;
  }
  struct ucred cred;
  socklen_t length = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  gid_t groups[256];
  socklen_t groups_length = sizeof groups;
  uint32_t count = 0;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &groups_length) == 0) {
    count = groups_length / sizeof(gid_t);
  } else if (errno != ERANGE && errno != ENOPROTOOPT) {
    return throw_errno(env, "getsockopt(SO_PEERGROUPS)", errno);
  } else {
    /* More than 256 groups, or a kernel without SO_PEERGROUPS: the groups stay unknown and only the
     * primary gid counts (fail closed: a member is refused, nobody is let in by mistake). */
    count = 0;
  }
  napi_value result, value, list;
  napi_create_object(env, &result);
  napi_create_int32(env, cred.pid, &value);
  napi_set_named_property(env, result, "pid", value);
  napi_create_uint32(env, cred.uid, &value);
  napi_set_named_property(env, result, "uid", value);
  napi_create_uint32(env, cred.gid, &value);
  napi_set_named_property(env, result, "gid", value);
  napi_create_array_with_length(env, count, &list);
  for (uint32_t i = 0; i < count; i++) {
    napi_create_uint32(env, groups[i], &value);
    napi_set_element(env, list, i, value);
  }
  napi_set_named_property(env, result, "groups", list);
  return result;
}

/* rawSocketFds(protocol): raw-socket (the npm module the IPv4 transport reads with) does not say
 * which descriptor it opened. The transport lists these before and after it creates a socket; the
 * one that is new is its own (the loop is single-threaded, nothing else opens one in between). */
struct raw_socket_list {
  napi_env env;
  napi_value list;
  uint32_t count;
  int32_t protocol;
};

static void add_if_raw_socket(int fd, void *context) {
  struct raw_socket_list *found = context;
  int domain = 0, type = 0, proto = 0;
  socklen_t len = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_INET) return;
  len = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_RAW) return;
  len = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0 || proto != found->protocol) return;
  napi_value value;
  napi_create_int32(found->env, fd, &value);
  napi_set_element(found->env, found->list, found->count++, value);
}

static napi_value raw_socket_fds(napi_env env, napi_callback_info info) {
  struct raw_socket_list found = { .env = env, .count = 0, .protocol = -1 };
  if (!int32_argument(env, info, "rawSocketFds(protocol)", &found.protocol)) return NULL;
  napi_create_array(env, &found.list);
  each_open_fd(add_if_raw_socket, &found);
  return found.list;
}

/* receiveAgeMs(fd): the kernel stamps each packet when it arrives (CLOCK_REALTIME); SIOCGSTAMPNS
 * gives the stamp of the packet the last read returned. Its age against the realtime clock now is
 * how long the packet waited for the event loop, which the daemon takes off its receive time:
 * Master_Down then runs from the packet's arrival, as keepalived's does from its own (prompt) read.
 * The first call on a socket turns stamping on and has no stamp yet: undefined. */
static napi_value receive_age_ms(napi_env env, napi_callback_info info) {
  int32_t fd = -1;
  if (!int32_argument(env, info, "receiveAgeMs(fd)", &fd)) return NULL;
  struct timespec stamp;
  napi_value result;
  double age = ioctl(fd, SIOCGSTAMPNS, &stamp) == 0 ? vrrpd_stamp_age_ms(&stamp) : -1;
  if (age < 0) napi_get_undefined(env, &result);
  else napi_create_double(env, age, &result);
  return result;
}

void vrrpd_register_spawn(napi_env env, napi_value exports); /* spawn.c */
void vrrpd_register_vrrp6(napi_env env, napi_value exports); /* vrrp6.c */

NAPI_MODULE_INIT() {
  vrrpd_register_spawn(env, exports);
  vrrpd_register_vrrp6(env, exports);
  {
    napi_value fn;
    napi_create_function(env, "closeOnExec", NAPI_AUTO_LENGTH, close_on_exec, NULL, &fn);
    napi_set_named_property(env, exports, "closeOnExec", fn);
  }
  napi_value fn;
  napi_create_function(env, "sendFrames", NAPI_AUTO_LENGTH, send_frames, NULL, &fn);
  napi_set_named_property(env, exports, "sendFrames", fn);
  napi_create_function(env, "ipv4Addresses", NAPI_AUTO_LENGTH, ipv4_addresses, NULL, &fn);
  napi_set_named_property(env, exports, "ipv4Addresses", fn);
  napi_create_function(env, "ipv6Addresses", NAPI_AUTO_LENGTH, ipv6_addresses, NULL, &fn);
  napi_set_named_property(env, exports, "ipv6Addresses", fn);
  napi_create_function(env, "addressChange", NAPI_AUTO_LENGTH, address_change, NULL, &fn);
  napi_set_named_property(env, exports, "addressChange", fn);
  napi_create_function(env, "clearAmbientCapabilities", NAPI_AUTO_LENGTH, clear_ambient_capabilities, NULL, &fn);
  napi_set_named_property(env, exports, "clearAmbientCapabilities", fn);
  napi_create_function(env, "clearInheritableCapabilities", NAPI_AUTO_LENGTH, clear_inheritable_capabilities, NULL, &fn);
  napi_set_named_property(env, exports, "clearInheritableCapabilities", fn);
  napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, peer_credentials, NULL, &fn);
  napi_set_named_property(env, exports, "peerCredentials", fn);
  napi_create_function(env, "rawSocketFds", NAPI_AUTO_LENGTH, raw_socket_fds, NULL, &fn);
  napi_set_named_property(env, exports, "rawSocketFds", fn);
  napi_create_function(env, "receiveAgeMs", NAPI_AUTO_LENGTH, receive_age_ms, NULL, &fn);
  napi_set_named_property(env, exports, "receiveAgeMs", fn);
  return exports;
}
