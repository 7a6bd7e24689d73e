#include "netlink.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace hbd {

namespace {

std::string LinkName(const nlmsghdr* h) {
  const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
  int len = static_cast<int>(IFLA_PAYLOAD(h));
  for (const rtattr* a = IFLA_RTA(info); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_IFNAME) return std::string(static_cast<const char*>(RTA_DATA(a)), strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
  }
  return {};
}

}  // namespace

std::optional<SysError> LinkWatch::Open() {
  fd_.reset(socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd_.valid()) return LastError("socket(AF_NETLINK)", "link watch");
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR;
  if (bind(fd_.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    fd_.reset();
    return LastError("bind(AF_NETLINK)", "link watch");
  }
  return std::nullopt;
}

std::vector<LinkChange> LinkWatch::Drain() {
  std::vector<LinkChange> out;
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    // MSG_TRUNC: the real length even when the datagram did not fit, so that a cut-off batch is
    // noticed (its later messages are lost) and answered like lost notifications: re-check all.
    const ssize_t n = recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == ENOBUFS) {
        out.push_back({LinkChange::Kind::Resync, 0, {}});
        continue;
      }
      break;  // EAGAIN: drained
    }
    if (static_cast<size_t>(n) > sizeof buf) {
      out.push_back({LinkChange::Kind::Resync, 0, {}});
      continue;
    }
    int len = static_cast<int>(n);
    for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(len)); h = NLMSG_NEXT(h, len)) {
      switch (h->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK: {
          if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) break;
          const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
          const auto kind = h->nlmsg_type == RTM_NEWLINK ? LinkChange::Kind::LinkNew : LinkChange::Kind::LinkGone;
          out.push_back({kind, info->ifi_index, LinkName(h)});
          break;
        }
        case RTM_NEWADDR: {
          if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) break;
          const auto* addr = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
          char name[IF_NAMESIZE] = "";
          const int index = static_cast<int>(addr->ifa_index);
          out.push_back({LinkChange::Kind::AddrNew, index, if_indextoname(addr->ifa_index, name) ? name : ""});
          break;
        }
        default:
          break;
      }
    }
  }
  return out;
}

}  // namespace hbd
