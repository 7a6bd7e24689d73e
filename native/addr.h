// Virtual addresses over rtnetlink (what IPaddr/IPaddr2/IPv6addr do with ifconfig or ip): add with
// prefix, broadcast and alias label, delete, list. Idempotent: an address already present on the
// interface, or already gone, is success with `changed` false. Fixed-size values and a stack
// receive buffer, so the engine thread can run Add at a death deadline without allocating (only
// errors build strings).
#pragma once
#include <net/if.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "clock.h"
#include "fd.h"
#include "sys_error.h"

namespace hbd {

struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  uint8_t bytes[16] = {};
  size_t size() const;
};

bool ParseIp(int family, const std::string& text, IpAddress* out);

// if_nametoindex over a socket we already hold (ioctl SIOCGIFINDEX): glibc's opens and closes one
// of its own on every call, which the takeover fast path can do without. 0 with errno on failure.
int InterfaceIndex(int fd, const char* name);
std::string IpText(const IpAddress& a);

// One virtual address, resolved (lib/resources/address.ts VipSpec).
struct Vip {
  IpAddress address;
  int prefix = 0;
  bool hasBroadcast = false;
  IpAddress broadcast;      // IPv4 only
  char iface[IF_NAMESIZE] = "";
  char label[IF_NAMESIZE] = "";  // IPv4; empty: the first free "iface:N"

  // "198.18.0.100/24 on eth0", for messages.
  std::string Describe() const;
};

struct AddDone {
  bool changed = false;
  char label[IF_NAMESIZE] = "";  // the label the address carries (IPv4), empty for IPv6
  Nanos at = 0;                  // CLOCK_MONOTONIC when the kernel acknowledged (or we found it)
};

struct RemoveDone {
  bool changed = false;
  Nanos at = 0;
};

struct AddrEntry {
  IpAddress address;
  int ifindex = 0;
  std::string iface;
  int prefix = 0;
  std::optional<IpAddress> broadcast;
  std::string label;  // IPv4 alias label when it differs from the interface name, else empty
};

// One NETLINK_ROUTE socket used request by request (no multicast groups: it hears only answers).
class Rtnl {
 public:
  struct Scan;
  std::optional<SysError> Open();
  bool open() const { return fd_.valid(); }

  // On failure these return false with *err set (errno name + "RTM_…" + the address and interface).
  bool Add(const Vip& vip, AddDone* done, SysError* err);
  bool Remove(const Vip& vip, RemoveDone* done, SysError* err);
  // family: AF_INET, AF_INET6 or AF_UNSPEC (both); ifindex 0: every interface.
  bool List(int family, int ifindex, std::vector<AddrEntry>* out, SysError* err);

 private:
  bool Dump(int family, Scan* scan, SysError* err, const Vip* vip);  // vip: for error messages
  // Sends one request and waits for its acknowledgement; *kernelErr is 0 or the kernel's errno.
  bool Transact(void* msg, uint32_t len, int* kernelErr, SysError* err, const char* op, const Vip* vip);

  Fd fd_;
  uint32_t seq_ = 0;
};

}  // namespace hbd
