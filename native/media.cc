#include "media.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/ip.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace hbd {

namespace {

constexpr int kReceiveSocketBuffer = 4 * 1024 * 1024;

std::optional<SysError> SetInt(int fd, int level, int opt, int value, const char* name, const std::string& what) {
  if (setsockopt(fd, level, opt, &value, sizeof value) == 0) return std::nullopt;
  return LastError(std::string("setsockopt(") + name + ")", what);
}

std::optional<SysError> BindToDevice(int fd, const std::string& iface, const std::string& what) {
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface.c_str(), static_cast<socklen_t>(iface.size() + 1)) == 0) return std::nullopt;
  return LastError("setsockopt(SO_BINDTODEVICE)", what);
}

std::optional<SysError> NewUdpSocket(Fd* fd, const std::string& what) {
  fd->reset(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd->valid()) return LastError("socket", what);
  return std::nullopt;
}

// SIOCGIFBRDADDR / SIOCGIFADDR for the interface.
std::optional<SysError> InterfaceAddress(const std::string& iface, unsigned long request, const char* name, in_addr* out, const std::string& what) {
  Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return LastError("socket", what);
  ifreq req{};
  std::strncpy(req.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  if (ioctl(s.get(), request, &req) != 0) return LastError(std::string("ioctl(") + name + ")", what);
  *out = reinterpret_cast<const sockaddr_in*>(&req.ifr_addr)->sin_addr;
  return std::nullopt;
}

sockaddr_in Endpoint(in_addr addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = addr;
  sa.sin_port = htons(port);
  return sa;
}

std::string FormatEndpoint(const sockaddr_in& sa) {
  char ip[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(sa.sin_port));
}

}  // namespace

std::optional<SysError> ResolvePeer(const std::string& peer, in_addr* out, const std::string& what) {
  if (inet_pton(AF_INET, peer.c_str(), out) == 1) return std::nullopt;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(peer.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res) {
    // getaddrinfo has its own error space; ENOENT-style "no such host" is what the user needs.
    SysError e{"getaddrinfo", rc == EAI_SYSTEM ? errno : ENOENT, what + ": cannot resolve " + peer + " (" + gai_strerror(rc) + ")"};
    return e;
  }
  *out = reinterpret_cast<const sockaddr_in*>(res->ai_addr)->sin_addr;
  freeaddrinfo(res);
  return std::nullopt;
}

std::string MediumSpec::Describe() const {
  switch (kind) {
    case Kind::Bcast: return "bcast " + iface;
    case Kind::Mcast: return "mcast " + iface + " " + group + ":" + std::to_string(port);
    case Kind::Ucast: return "ucast " + iface + " " + peer;
  }
  return iface;
}

std::optional<SysError> Medium::Open() {
  Close();
  const unsigned idx = if_nametoindex(spec_.iface.c_str());
  if (idx == 0) return LastError("if_nametoindex", spec_.Describe() + ": interface " + spec_.iface);
  if (auto e = OpenSend(static_cast<int>(idx))) {
    Close();
    return e;
  }
  if (auto e = OpenReceive(static_cast<int>(idx))) {
    Close();
    return e;
  }
  ifindex_ = static_cast<int>(idx);
  return std::nullopt;
}

void Medium::Close() {
  send_.reset();
  recv_.reset();
  ifindex_ = 0;
  ownFilterTried_ = false;
}

std::optional<SysError> Medium::OpenSend(int ifindex) {
  const std::string what = spec_.Describe() + ": send socket";
  if (auto e = NewUdpSocket(&send_, what)) return e;
  const int fd = send_.get();
  switch (spec_.kind) {
    case MediumSpec::Kind::Bcast: {
      if (auto e = SetInt(fd, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST", what)) return e;
      if (auto e = SetInt(fd, SOL_SOCKET, SO_DONTROUTE, 1, "SO_DONTROUTE", what)) return e;
      if (auto e = BindToDevice(fd, spec_.iface, what)) return e;
      in_addr brd{};
      if (auto e = InterfaceAddress(spec_.iface, SIOCGIFBRDADDR, "SIOCGIFBRDADDR", &brd, what + ": broadcast address of " + spec_.iface)) return e;
      dest_ = Endpoint(brd, udpPort_);
      return std::nullopt;
    }
    case MediumSpec::Kind::Mcast: {
      in_addr group{};
      if (inet_pton(AF_INET, spec_.group.c_str(), &group) != 1) return SysError{"inet_pton", EINVAL, what + ": group " + spec_.group};
      ip_mreqn via{};
      via.imr_ifindex = ifindex;
      if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &via, sizeof via) != 0) return LastError("setsockopt(IP_MULTICAST_IF)", what);
      if (auto e = SetInt(fd, IPPROTO_IP, IP_MULTICAST_TTL, spec_.ttl, "IP_MULTICAST_TTL", what)) return e;
      if (auto e = SetInt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, spec_.loop ? 1 : 0, "IP_MULTICAST_LOOP", what)) return e;
      dest_ = Endpoint(group, spec_.port);
      return std::nullopt;
    }
    case MediumSpec::Kind::Ucast: {
      if (auto e = SetInt(fd, IPPROTO_IP, IP_TOS, IPTOS_LOWDELAY, "IP_TOS", what)) return e;
      if (auto e = BindToDevice(fd, spec_.iface, what)) return e;
      // Resolved once, at start on the JS thread: a reopen on the engine thread must not wait for DNS.
      if (!peerResolved_) {
        if (auto e = ResolvePeer(spec_.peer, &peer_, what)) return e;
        peerResolved_ = true;
      }
      dest_ = Endpoint(peer_, udpPort_);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<SysError> Medium::OpenReceive(int ifindex) {
  const std::string what = spec_.Describe() + ": receive socket";
  if (auto e = NewUdpSocket(&recv_, what)) return e;
  const int fd = recv_.get();
  if (auto e = SetInt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", what)) return e;
  if (auto e = SetInt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS", what)) return e;
  // Room for a burst: under a flood of bad packets the peers' genuine ones wait here while the
  // engine works through it, instead of being dropped. Above rmem_max only with CAP_NET_ADMIN
  // (SO_RCVBUFFORCE); the kernel's default otherwise, which also works.
  if (SetInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, kReceiveSocketBuffer, "SO_RCVBUFFORCE", what)) SetInt(fd, SOL_SOCKET, SO_RCVBUF, kReceiveSocketBuffer, "SO_RCVBUF", what);
  // Bound to the device, so that a packet's link is the medium whose socket read it.
  if (auto e = BindToDevice(fd, spec_.iface, what)) return e;
  in_addr bindAddr{};
  bindAddr.s_addr = htonl(INADDR_ANY);
  uint16_t port = udpPort_;
  if (spec_.kind == MediumSpec::Kind::Mcast) {
    if (inet_pton(AF_INET, spec_.group.c_str(), &bindAddr) != 1) return SysError{"inet_pton", EINVAL, what + ": group " + spec_.group};
    port = spec_.port;
    // Only the groups this socket joined, not every group joined on the host.
    if (auto e = SetInt(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL", what)) return e;
  }
  const sockaddr_in local = Endpoint(bindAddr, port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) return LastError("bind", what + " on " + FormatEndpoint(local));
  if (spec_.kind == MediumSpec::Kind::Mcast) {
    ip_mreqn join{};
    join.imr_multiaddr = bindAddr;
    join.imr_ifindex = ifindex;
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) != 0) return LastError("setsockopt(IP_ADD_MEMBERSHIP)", what + " " + spec_.group);
  }
  return std::nullopt;
}

void Medium::RefreshDestination() {
  if (spec_.kind != MediumSpec::Kind::Bcast || !open()) return;
  in_addr brd{};
  if (!InterfaceAddress(spec_.iface, SIOCGIFBRDADDR, "SIOCGIFBRDADDR", &brd, spec_.Describe())) dest_ = Endpoint(brd, udpPort_);
}

std::optional<SysError> Medium::Send(const std::string& bytes) {
  if (!send_.valid()) return SysError{"sendto", ENODEV, spec_.Describe() + ": medium closed (interface gone)"};
  const ssize_t n = sendto(send_.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&dest_), sizeof dest_);
  if (n < 0) return LastError("sendto", spec_.Describe() + ": sending to " + FormatEndpoint(dest_));
  return std::nullopt;
}

std::optional<SysError> Medium::DropOwn(const sockaddr_in& own) {
  ownFilterTried_ = true;
  // Classic BPF on a UDP socket sees the datagram from its UDP header (offset 0: the source
  // port); the IP header is reached through SKF_NET_OFF (offset 12: the source address), the
  // packet's type and input device through SKF_AD_OFF. Only a copy that never left this host is
  // dropped: the kernel's loopback copy of a broadcast or multicast we sent (PACKET_LOOPBACK), or
  // a datagram that came in on lo (ucast to an address of our own). `own` is the source of an
  // authenticated packet claiming our name, which anyone can replay from a peer's address and
  // port: a packet from the wire must never match, or the kernel would drop that peer's beats.
  constexpr uint32_t kLoopbackIfindex = 1;  // lo's in every namespace (the kernel's LOOPBACK_IFINDEX)
  const uint32_t addr = ntohl(own.sin_addr.s_addr);
  const uint32_t port = ntohs(own.sin_port);
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF) + SKF_AD_PKTTYPE),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_LOOPBACK, 2, 0),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF) + SKF_AD_IFINDEX),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kLoopbackIfindex, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_NET_OFF) + 12),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, addr, 0, 3),
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0),           // ours, come back: dropped by the kernel
      BPF_STMT(BPF_RET | BPF_K, 0xffffffff),  // everything else, whole
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
  if (setsockopt(recv_.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0) return std::nullopt;
  return LastError("setsockopt(SO_ATTACH_FILTER)", spec_.Describe() + ": receive socket; our own packets on it are still read and ignored by the engine");
}

bool Medium::Receive(std::vector<uint8_t>& buffer, Datagram* out, std::optional<SysError>* err) {
  *err = std::nullopt;
  if (!recv_.valid()) return false;
  return ReadDatagram(recv_.get(), buffer, out, err, describe_);
}

bool ReadDatagram(int fd, std::vector<uint8_t>& buffer, Datagram* out, std::optional<SysError>* err, std::string_view what) {
  *err = std::nullopt;
  if (buffer.size() < kReceiveBuffer) buffer.resize(kReceiveBuffer);
  sockaddr_in from{};
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec)) + 64];
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) *err = LastError("recvmsg", std::string(what));
    return false;
  }
  out->data = buffer.data();
  out->truncated = (msg.msg_flags & MSG_TRUNC) != 0 || static_cast<size_t>(n) > buffer.size();
  out->length = std::min(static_cast<size_t>(n), buffer.size());
  out->kernelRealtime = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      out->kernelRealtime = ToNanos(ts);
    }
  }
  out->from = from;
  return true;
}

}  // namespace hbd
