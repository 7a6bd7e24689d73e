#include "addr.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <bitset>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hbd {

namespace {

// IPaddr tries alias numbers below 512 (spec §10.2).
constexpr int kMaxAlias = 512;
// Big enough for any dump part the kernel builds (it sizes them to at most 32 KiB).
constexpr size_t kReceiveBuffer = 32768;

struct AddrView {
  int family;
  int ifindex;
  int prefix;
  const uint8_t* address;  // family-sized
  const uint8_t* broadcast;  // nullptr when absent
  const char* label;  // nullptr when absent
  size_t labelLen;
};

void AddAttr(nlmsghdr* h, size_t cap, uint16_t type, const void* data, size_t len) {
  const size_t at = NLMSG_ALIGN(h->nlmsg_len);
  if (at + RTA_LENGTH(len) > cap) return;  // callers size their buffers for every attribute
  auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(h) + at);
  a->rta_type = type;
  a->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
  std::memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = static_cast<uint32_t>(at + RTA_ALIGN(a->rta_len));
}

// Built only when something failed: the success path allocates nothing.
std::string What(const Vip* vip) { return vip ? "address " + vip->Describe() : "address list"; }

SysError Failure(const char* syscall, int err, const Vip& vip, const std::string& more = {}) {
  return SysError{syscall, err, "address " + vip.Describe() + more};
}

// The N of "iface:N", or -1 when `label` is not such an alias label of iface.
int AliasNumber(const char* label, size_t len, const char* iface) {
  const size_t n = std::strlen(iface);
  if (len <= n + 1 || std::strncmp(label, iface, n) != 0 || label[n] != ':') return -1;
  int v = 0;
  for (size_t i = n + 1; i < len; i++) {
    if (label[i] < '0' || label[i] > '9' || v >= kMaxAlias) return -1;
    v = v * 10 + (label[i] - '0');
  }
  return v;
}

}  // namespace

int InterfaceIndex(int fd, const char* name) {
  ifreq req{};
  std::strncpy(req.ifr_name, name, sizeof req.ifr_name - 1);
  return ioctl(fd, SIOCGIFINDEX, &req) == 0 ? req.ifr_ifindex : 0;
}

size_t IpAddress::size() const { return family == AF_INET6 ? 16 : 4; }

bool ParseIp(int family, const std::string& text, IpAddress* out) {
  IpAddress a;
  a.family = family;
  if (inet_pton(family, text.c_str(), a.bytes) != 1) return false;
  *out = a;
  return true;
}

std::string IpText(const IpAddress& a) {
  char buf[INET6_ADDRSTRLEN] = "?";
  inet_ntop(a.family, a.bytes, buf, sizeof buf);
  return buf;
}

std::string Vip::Describe() const { return IpText(address) + "/" + std::to_string(prefix) + " on " + iface; }

// What a dump is looked at for: Add (presence and labels in use) or List (everything).
struct Rtnl::Scan {
  void (*visit)(Scan* self, const AddrView& v);
};

namespace {

struct PresenceScan : Rtnl::Scan {
  const Vip* vip;
  int ifindex;
  int foundOn = 0;  // ifindex holding the address, 0: none
  int foundPrefix = 0;
  char foundLabel[IF_NAMESIZE] = "";
  std::bitset<kMaxAlias> used;

  static void Visit(Rtnl::Scan* s, const AddrView& v) {
    auto* self = static_cast<PresenceScan*>(s);
    const Vip& vip = *self->vip;
    if (v.label) {
      const int n = AliasNumber(v.label, v.labelLen, vip.iface);
      if (n >= 0 && n < kMaxAlias) self->used.set(static_cast<size_t>(n));
    }
    if (v.family != vip.address.family || std::memcmp(v.address, vip.address.bytes, vip.address.size()) != 0) return;
    // The interface asked for wins over another one holding it too.
    if (self->foundOn != 0 && self->foundOn == self->ifindex) return;
    self->foundOn = v.ifindex;
    self->foundPrefix = v.prefix;
    self->foundLabel[0] = '\0';
    if (v.label) {
      const size_t n = std::min(v.labelLen, sizeof self->foundLabel - 1);
      std::memcpy(self->foundLabel, v.label, n);
      self->foundLabel[n] = '\0';
    }
  }
};

struct ListScan : Rtnl::Scan {
  int ifindex;
  std::vector<AddrEntry>* out;

  static void Visit(Rtnl::Scan* s, const AddrView& v) {
    auto* self = static_cast<ListScan*>(s);
    if (self->ifindex != 0 && v.ifindex != self->ifindex) return;
    AddrEntry e;
    e.address.family = v.family;
    std::memcpy(e.address.bytes, v.address, e.address.size());
    e.ifindex = v.ifindex;
    char name[IF_NAMESIZE] = "";
    e.iface = if_indextoname(static_cast<unsigned>(v.ifindex), name) ? name : "";
    e.prefix = v.prefix;
    if (v.broadcast) {
      IpAddress b;
      b.family = v.family;
      std::memcpy(b.bytes, v.broadcast, b.size());
      e.broadcast = b;
    }
    if (v.label) {
      std::string label(v.label, v.labelLen);
      if (label != e.iface) e.label = std::move(label);
    }
    self->out->push_back(std::move(e));
  }
};

}  // namespace

std::optional<SysError> Rtnl::Open() {
  fd_.reset(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd_.valid()) return LastError("socket(AF_NETLINK)", "address actions");
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd_.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    SysError e = LastError("bind(AF_NETLINK)", "address actions");
    fd_.reset();
    return e;
  }
  // The kernel answers at once; the bound only guards against a wedged netlink.
  timeval tv{2, 0};
  setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return std::nullopt;
}

bool Rtnl::Transact(void* msg, uint32_t len, int* kernelErr, SysError* err, const char* op, const Vip* vip) {
  auto* h = static_cast<nlmsghdr*>(msg);
  h->nlmsg_seq = ++seq_;
  h->nlmsg_len = len;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_.get(), msg, len, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) < 0) {
    const int e = errno;
    *err = SysError{std::string("sendto(") + op + ")", e, What(vip)};
    return false;
  }
  alignas(nlmsghdr) char buf[8192];
  for (;;) {
    const ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      *err = SysError{std::string("recv(") + op + ")", e, What(vip)};
      return false;
    }
    int left = static_cast<int>(n);
    for (const nlmsghdr* r = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(r, static_cast<unsigned>(left)); r = NLMSG_NEXT(r, left)) {
      if (r->nlmsg_seq != h->nlmsg_seq || r->nlmsg_type != NLMSG_ERROR) continue;  // a stale answer
      *kernelErr = -static_cast<const nlmsgerr*>(NLMSG_DATA(r))->error;
      return true;
    }
  }
}

bool Rtnl::Dump(int family, Scan* scan, SysError* err, const Vip* vip) {
  struct {
    nlmsghdr h;
    ifaddrmsg ifa;
  } req{};
  req.h.nlmsg_type = RTM_GETADDR;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = ++seq_;
  req.h.nlmsg_len = sizeof req;
  req.ifa.ifa_family = static_cast<uint8_t>(family);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_.get(), &req, sizeof req, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) < 0) {
    const int e = errno;
    *err = SysError{"sendto(RTM_GETADDR)", e, What(vip)};
    return false;
  }
  alignas(nlmsghdr) char buf[kReceiveBuffer];
  for (;;) {
    // MSG_TRUNC: the real length, so a dump part that did not fit is an error, not lost addresses.
    const ssize_t n = recv(fd_.get(), buf, sizeof buf, MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      *err = SysError{"recv(RTM_GETADDR)", e, What(vip)};
      return false;
    }
    if (static_cast<size_t>(n) > sizeof buf) {
      *err = SysError{"recv(RTM_GETADDR)", EMSGSIZE, What(vip) + ": a dump part of " + std::to_string(n) + " bytes, more than " + std::to_string(sizeof buf)};
      return false;
    }
    int left = static_cast<int>(n);
    for (const nlmsghdr* r = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(r, static_cast<unsigned>(left)); r = NLMSG_NEXT(r, left)) {
      if (r->nlmsg_seq != req.h.nlmsg_seq) continue;
      if (r->nlmsg_type == NLMSG_DONE) return true;
      if (r->nlmsg_type == NLMSG_ERROR) {
        *err = SysError{"RTM_GETADDR", -static_cast<const nlmsgerr*>(NLMSG_DATA(r))->error, What(vip)};
        return false;
      }
      if (r->nlmsg_type != RTM_NEWADDR || r->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) continue;
      const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(r));
      if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) continue;
      AddrView v{ifa->ifa_family, static_cast<int>(ifa->ifa_index), ifa->ifa_prefixlen, nullptr, nullptr, nullptr, 0};
      const uint8_t* address = nullptr;
      const uint8_t* local = nullptr;
      const size_t size = ifa->ifa_family == AF_INET6 ? 16 : 4;
      int alen = static_cast<int>(IFA_PAYLOAD(r));
      for (const rtattr* a = IFA_RTA(ifa); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        const auto* data = static_cast<const uint8_t*>(RTA_DATA(a));
        const size_t len = RTA_PAYLOAD(a);
        if (a->rta_type == IFA_ADDRESS && len == size) address = data;
        else if (a->rta_type == IFA_LOCAL && len == size) local = data;
        else if (a->rta_type == IFA_BROADCAST && len == size) v.broadcast = data;
        else if (a->rta_type == IFA_LABEL) {
          v.label = reinterpret_cast<const char*>(data);
          v.labelLen = strnlen(v.label, len);
        }
      }
      // IPv4: IFA_LOCAL is the interface's own address (IFA_ADDRESS the peer on point-to-point links).
      v.address = local ? local : address;
      if (v.address) scan->visit(scan, v);
    }
  }
}

bool Rtnl::Add(const Vip& vip, AddDone* done, SysError* err) {
  const int ifindex = InterfaceIndex(fd_.get(), vip.iface);
  if (ifindex == 0) {
    const int e = errno;  // saved before the message is built
    *err = Failure("ioctl(SIOCGIFINDEX)", e, vip, ": interface " + std::string(vip.iface));
    return false;
  }
  PresenceScan scan;
  scan.visit = &PresenceScan::Visit;
  scan.vip = &vip;
  scan.ifindex = ifindex;
  if (!Dump(vip.address.family, &scan, err, &vip)) return false;
  done->label[0] = '\0';
  if (scan.foundOn == ifindex) {
    done->changed = false;
    if (vip.address.family == AF_INET) std::memcpy(done->label, scan.foundLabel, sizeof done->label);
    done->at = MonoNanos();
    return true;
  }
  if (scan.foundOn != 0) {
    char other[IF_NAMESIZE] = "?";
    if_indextoname(static_cast<unsigned>(scan.foundOn), other);
    *err = Failure("RTM_NEWADDR", EADDRINUSE, vip, ": it is already configured on " + std::string(other) + " (remove it there first)");
    return false;
  }
  char label[IF_NAMESIZE] = "";
  if (vip.address.family == AF_INET) {
    if (vip.label[0] != '\0') {
      std::memcpy(label, vip.label, sizeof label);
    } else {
      size_t n = 0;
      while (n < kMaxAlias && scan.used.test(n)) n++;
      char want[32];
      std::snprintf(want, sizeof want, "%s:%zu", vip.iface, n);
      if (n == kMaxAlias || std::strlen(want) >= IF_NAMESIZE) {
        *err = Failure("RTM_NEWADDR", n == kMaxAlias ? ENOSPC : ENAMETOOLONG, vip,
                       n == kMaxAlias ? ": every alias label " + std::string(vip.iface) + ":0…511 is taken"
                                      : ": alias label " + std::string(want) + " is longer than 15 characters (give a label, or a shorter interface name)");
        return false;
      }
      std::memcpy(label, want, std::strlen(want) + 1);
    }
  }
  struct {
    nlmsghdr h;
    ifaddrmsg ifa;
    char attrs[128];
  } req{};
  req.h.nlmsg_type = RTM_NEWADDR;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.ifa.ifa_family = static_cast<uint8_t>(vip.address.family);
  req.ifa.ifa_prefixlen = static_cast<uint8_t>(vip.prefix);
  req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  req.ifa.ifa_index = static_cast<uint32_t>(ifindex);
  // A taken-over IPv6 address must answer at once: without NODAD it stays tentative for about a
  // second of duplicate address detection, and the old owner is dead anyway (keepalived does the same).
  if (vip.address.family == AF_INET6) req.ifa.ifa_flags = IFA_F_NODAD;
  AddAttr(&req.h, sizeof req, IFA_LOCAL, vip.address.bytes, vip.address.size());
  AddAttr(&req.h, sizeof req, IFA_ADDRESS, vip.address.bytes, vip.address.size());
  if (vip.hasBroadcast) AddAttr(&req.h, sizeof req, IFA_BROADCAST, vip.broadcast.bytes, 4);
  if (label[0] != '\0') AddAttr(&req.h, sizeof req, IFA_LABEL, label, std::strlen(label) + 1);
  int kernelErr = 0;
  if (!Transact(&req, req.h.nlmsg_len, &kernelErr, err, "RTM_NEWADDR", &vip)) return false;
  done->at = MonoNanos();
  // EEXIST: added by someone else between the dump and now; present is what was asked for.
  if (kernelErr != 0 && kernelErr != EEXIST) {
    std::string more = label[0] ? " label " + std::string(label) : std::string();
    // What the kernel's bare EACCES means here.
    if (kernelErr == EACCES && vip.address.family == AF_INET6) more += " (IPv6 is disabled on " + std::string(vip.iface) + ": sysctl net.ipv6.conf." + vip.iface + ".disable_ipv6=0)";
    *err = Failure("RTM_NEWADDR", kernelErr, vip, more);
    return false;
  }
  done->changed = kernelErr == 0;
  std::memcpy(done->label, label, sizeof label);
  return true;
}

bool Rtnl::Remove(const Vip& vip, RemoveDone* done, SysError* err) {
  const int ifindex = InterfaceIndex(fd_.get(), vip.iface);
  if (ifindex == 0) {
    const int e = errno;  // saved before the message is built
    *err = Failure("ioctl(SIOCGIFINDEX)", e, vip, ": interface " + std::string(vip.iface));
    return false;
  }
  // The kernel deletes an IPv6 address only under its exact prefix length: use the one it has.
  PresenceScan scan;
  scan.visit = &PresenceScan::Visit;
  scan.vip = &vip;
  scan.ifindex = ifindex;
  if (!Dump(vip.address.family, &scan, err, &vip)) return false;
  done->changed = false;
  if (scan.foundOn != ifindex) {
    done->at = MonoNanos();
    return true;
  }
  struct {
    nlmsghdr h;
    ifaddrmsg ifa;
    char attrs[64];
  } req{};
  req.h.nlmsg_type = RTM_DELADDR;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.ifa.ifa_family = static_cast<uint8_t>(vip.address.family);
  req.ifa.ifa_prefixlen = static_cast<uint8_t>(scan.foundPrefix);
  req.ifa.ifa_index = static_cast<uint32_t>(ifindex);
  AddAttr(&req.h, sizeof req, IFA_LOCAL, vip.address.bytes, vip.address.size());
  int kernelErr = 0;
  if (!Transact(&req, req.h.nlmsg_len, &kernelErr, err, "RTM_DELADDR", &vip)) return false;
  done->at = MonoNanos();
  if (kernelErr != 0 && kernelErr != EADDRNOTAVAIL) {
    *err = Failure("RTM_DELADDR", kernelErr, vip);
    return false;
  }
  done->changed = kernelErr == 0;
  return true;
}

bool Rtnl::List(int family, int ifindex, std::vector<AddrEntry>* out, SysError* err) {
  ListScan scan;
  scan.visit = &ListScan::Visit;
  scan.ifindex = ifindex;
  scan.out = out;
  return Dump(family, &scan, err, nullptr);
}

}  // namespace hbd
