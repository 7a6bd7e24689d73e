// The UDP media of spec §3.6: bcast, mcast and ucast, each a send socket and a receive socket
// bound to its interface so that every received packet is attributed to the medium it came in on.
// Non-blocking sockets; the engine thread polls the receive socket and reopens the medium when
// its interface is re-created (new ifindex).
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clock.h"
#include "fd.h"
#include "sys_error.h"

namespace hbd {

struct MediumSpec {
  enum class Kind { Bcast, Mcast, Ucast };
  Kind kind = Kind::Bcast;
  std::string iface;
  std::string group;  // mcast
  uint16_t port = 0;  // mcast (bcast and ucast use the udpPort)
  int ttl = 1;        // mcast
  bool loop = false;  // mcast
  std::string peer;   // ucast: IPv4 address or host name

  // The link name heartbeat uses for this medium: the interface.
  const std::string& Link() const { return iface; }
  // "bcast eth0", "mcast eth0 239.0.0.1:694", "ucast eth0 10.0.0.2": for error messages.
  std::string Describe() const;
};

struct Datagram {
  const uint8_t* data = nullptr;  // points into the caller's receive buffer
  size_t length = 0;
  bool truncated = false;     // longer than the receive buffer
  Nanos kernelRealtime = 0;   // SO_TIMESTAMPNS arrival time (CLOCK_REALTIME); 0 when absent
  sockaddr_in from{};         // the sender, for auth-fail reports only (formatted when reported)
};

class Medium {
 public:
  Medium(MediumSpec spec, uint16_t udpPort) : spec_(std::move(spec)), udpPort_(udpPort), describe_(spec_.Describe()) {}

  const MediumSpec& spec() const { return spec_; }
  bool open() const { return recv_.valid(); }
  int receiveFd() const { return recv_.get(); }
  int ifindex() const { return ifindex_; }

  // Opens both sockets (closing any old ones first). On failure the medium stays closed.
  std::optional<SysError> Open();
  void Close();
  // Re-reads the destination that depends on the interface's address (bcast: SIOCGIFBRDADDR).
  void RefreshDestination();
  std::optional<SysError> Send(const std::string& bytes);
  // One datagram into `buffer` (kReceiveBuffer bytes, reused); false when nothing is queued.
  bool Receive(std::vector<uint8_t>& buffer, Datagram* out, std::optional<SysError>* err);
  // Our own broadcasts (and looped multicasts) come back to the receive socket, one wake-up of the
  // engine each for nothing. Given the source of one of them (an authenticated packet of ours),
  // a socket filter makes the kernel drop every later copy from that address and port that never
  // left this host (looped back, or in on lo); nothing that came from the wire. Tried once per
  // open socket: true when it is to be tried (not yet attached nor failed).
  bool WantsOwnFilter() const { return open() && !ownFilterTried_; }
  std::optional<SysError> DropOwn(const sockaddr_in& own);

 private:
  std::optional<SysError> OpenSend(int ifindex);
  std::optional<SysError> OpenReceive(int ifindex);

  MediumSpec spec_;
  uint16_t udpPort_;
  std::string describe_;  // spec_.Describe(), for receive errors
  Fd send_;
  Fd recv_;
  int ifindex_ = 0;
  sockaddr_in dest_{};
  in_addr peer_{};  // ucast
  bool peerResolved_ = false;
  bool ownFilterTried_ = false;  // for the current receive socket
};

// Largest datagram read: heartbeat's MAXMSG plus one byte to notice longer ones.
constexpr size_t kReceiveBuffer = 256 * 1024 + 1;

// One datagram from the non-blocking socket `fd` into `buffer` (resized to kReceiveBuffer), with
// its kernel timestamp when SO_TIMESTAMPNS is on; false when nothing is queued. `what` names the
// socket in errors (made a string only then: no allocation per packet).
bool ReadDatagram(int fd, std::vector<uint8_t>& buffer, Datagram* out, std::optional<SysError>* err, std::string_view what);

// An IPv4 literal, or a host name through getaddrinfo (blocking: call it on the JS thread).
std::optional<SysError> ResolvePeer(const std::string& peer, in_addr* out, const std::string& what);

}  // namespace hbd
