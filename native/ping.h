// Ping nodes (spec §7.8; heartbeat's ping and ping_group plugins): one raw ICMP socket serves all
// of them. Each status beat of ours sends every address of every ping node an ICMP echo request
// whose payload is the NS_st status we want to hear back "from" that node; the kernel at the
// address echoes it, and an authenticated, fresh echo counts as a status from the ping node, its
// link being the address that answered. Raw sockets need root (CAP_NET_RAW), as heartbeat's do.
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "codec.h"
#include "engine_events.h"
#include "fd.h"
#include "liveness.h"
#include "media.h"
#include "sys_error.h"

namespace hbd {

struct PingNodeSpec {
  std::string name;                    // `ping IP`: the IP as written; `ping_group NAME IP…`: NAME
  std::vector<std::string> addresses;  // IPv4 literals or host names, resolved by PingMedium::Open()
  bool group = false;
};

// The RFC 1071 Internet checksum, as the 16-bit big-endian value the ICMP header carries.
uint16_t InternetChecksum(const uint8_t* data, size_t len);

// An ICMP echo request (type 8, code 0) carrying `ident`, `seq` and `payload`, checksum filled in.
std::string EchoRequest(uint16_t ident, uint16_t seq, const std::string& payload);

struct EchoReply {
  in_addr source{};                  // from the IP header: who answered
  uint16_t seq = 0;
  const uint8_t* payload = nullptr;  // points into the datagram
  size_t length = 0;
};

// An IPv4 datagram read from the raw socket, when it is an ICMP echo reply (type 0) with `ident`;
// nullopt for everything else: the socket sees all ICMP, and other programs' pings are no error.
std::optional<EchoReply> ParseEchoReply(const uint8_t* packet, size_t len, uint16_t ident);

// heartbeat's NS_st for `node`: t, st=ping, info=ping|ping_group, src, ts (hex), then the classic
// inner auth, which the plugins add in every msgfmt (so `netstring` sends it too), encoded as
// msg2wirefmt does.
std::variant<std::string, EncodeError> PingStatusPacket(const PingNodeSpec& node, int64_t ts, WireFormat format, const AuthKeys& keys);

// A per-engine identifier (heartbeat: the pid's low 16 bits), distinct for engines in one process.
uint16_t NewPingIdent();

// What an echo reply needs checked against: our keys, and how old its ts may be (replay guard).
struct PingCheck {
  const AuthKeys& keys;
  int64_t nowSec = 0;     // wall clock, unix seconds
  int64_t maxAgeSec = 0;  // older echoes are refused: NS_st has no seq, only our status's ts
};

class PingMedium {
 public:
  PingMedium(std::vector<PingNodeSpec> nodes, uint16_t ident);

  const std::vector<PingNodeSpec>& nodes() const { return nodes_; }
  bool open() const { return sock_.valid(); }
  int fd() const { return sock_.get(); }

  // Resolves every address (once: a reopen must not wait for DNS) and opens the socket.
  std::optional<SysError> Open();
  void Close() { sock_.reset(); }
  // Set by Open() when the kernel refused the echo-reply-only filter (the socket works without).
  const std::optional<SysError>& filterError() const { return filterError_; }

  // One echo request per address of every ping node, for our status stamped `ts`. Returns the
  // failures as (link, error), each reported once until that address works again.
  std::vector<std::pair<std::string, SysError>> Send(int64_t ts, WireFormat format, const AuthKeys& keys);
  // One datagram into `buffer` (kReceiveBuffer bytes, reused); false when nothing is queued.
  bool Receive(std::vector<uint8_t>& buffer, Datagram* out, std::optional<SysError>* err);
  // A datagram from Receive(): when it is an echo reply of ours, checks it (auth, NS_st of the ping
  // node whose address answered, fresh) and counts it with `live`; appends the events it causes.
  void Accept(const Datagram& d, const PingCheck& check, Liveness& live, double mono, double wall, std::vector<EngineEvent>* out) const;

 private:
  struct Target {
    size_t node;          // index into nodes_
    std::string address;  // as configured: the link name
    sockaddr_in dest{};
    std::string lastError;  // "syscall:ERRNO" last reported, empty while it works
  };

  std::vector<PingNodeSpec> nodes_;
  std::vector<Target> targets_;
  uint16_t ident_;
  uint16_t seq_ = 0;
  bool resolved_ = false;
  Fd sock_;
  std::optional<SysError> filterError_;
};

}  // namespace hbd
