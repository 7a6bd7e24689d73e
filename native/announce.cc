#include "announce.h"

#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace hbd {

std::optional<SysError> OpenPacketSocket(Fd* out) {
  out->reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (out->valid()) return std::nullopt;
  SysError e = LastError("socket(AF_PACKET)", "gratuitous ARP / neighbour advertisement socket");
  if (e.err == EPERM || e.err == EACCES) e.detail += " (needs root or CAP_NET_RAW, as IPaddr's send_arp does)";
  return e;
}

std::string AnnounceJob::Describe() const {
  return std::string(address.family == AF_INET6 ? "unsolicited neighbour advertisement" : "gratuitous ARP") + " for " + IpText(address) + " on " + iface;
}

bool AnnounceJob::Prepare(int sock, SysError* err) {
  const int index = InterfaceIndex(sock, iface);
  if (index == 0) {
    const int e = errno;  // saved before the message is built
    *err = SysError{"ioctl(SIOCGIFINDEX)", e, Describe() + ": interface " + iface};
    return false;
  }
  if (index == ifindex_ && frameCount_ > 0) return true;  // a re-created interface may have a new MAC
  ifreq req{};
  std::memcpy(req.ifr_name, iface, sizeof req.ifr_name);
  if (ioctl(sock, SIOCGIFHWADDR, &req) != 0) {
    const int e = errno;
    *err = SysError{"ioctl(SIOCGIFHWADDR)", e, Describe() + ": interface " + iface};
    return false;
  }
  if (req.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
    *err = SysError{"ioctl(SIOCGIFHWADDR)", EPROTONOSUPPORT, Describe() + ": interface " + iface + " is not Ethernet (hardware type " + std::to_string(req.ifr_hwaddr.sa_family) + ")"};
    return false;
  }
  const auto* mac = reinterpret_cast<const uint8_t*>(req.ifr_hwaddr.sa_data);
  if (address.family == AF_INET) {
    BuildArpRequest(mac, address.bytes, frames_[0]);
    BuildArpReply(mac, address.bytes, frames_[1]);
    frameSize_ = kArpFrameSize;
    frameCount_ = 2;
  } else {
    BuildUnsolicitedNa(mac, address.bytes, frames_[0]);
    frameSize_ = kNaFrameSize;
    frameCount_ = 1;
  }
  ifindex_ = index;
  return true;
}

bool AnnounceJob::SendRound(int sock, Nanos now, SysError* err) {
  // The next round keeps its slot on the schedule even when this one fails (a link still coming up).
  if (rounds > 0) rounds--;
  next = (rounds > 0 ? next + interval : next + refresh);
  if (next <= now) next = now + (rounds > 0 ? interval : refresh);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex_;
  to.sll_protocol = htons(address.family == AF_INET ? ETH_P_ARP : ETH_P_IPV6);
  to.sll_halen = 6;
  for (int i = 0; i < frameCount_; i++) {
    if (sendto(sock, frames_[i], frameSize_, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
      const int e = errno;
      *err = SysError{"sendto", e, Describe()};
      return false;
    }
    if (firstAt == 0) firstAt = MonoNanos();
    framesSent++;
  }
  return true;
}

}  // namespace hbd
