// Announcing that an address moved here: gratuitous ARP (IPv4, request and reply) or an unsolicited
// neighbour advertisement (IPv6), sent in rounds — a burst at takeover (IPaddr2: 5 rounds 200 ms
// apart), optionally followed by a periodic refresh. One job per address; its frames are built
// once (Prepare) and re-sent as they are, so sending a round allocates nothing. Used by the engine's
// takeover plan (native/plan.h) and by the standalone bursts of native/actions_js.cc.
#pragma once
#include <net/if.h>

#include <cstdint>
#include <optional>

#include "addr.h"
#include "clock.h"
#include "fd.h"
#include "garp.h"
#include "ndisc.h"
#include "sys_error.h"

namespace hbd {

// An AF_PACKET socket that only sends (protocol 0: the kernel hands it no frames). Needs CAP_NET_RAW.
std::optional<SysError> OpenPacketSocket(Fd* out);

struct AnnounceJob {
  IpAddress address;
  char iface[IF_NAMESIZE] = "";
  int rounds = 0;         // burst rounds still to send
  Nanos interval = 0;     // between burst rounds
  Nanos refresh = 0;      // after the burst, one round every this long until cancelled; 0: none
  Nanos next = 0;         // when the next round is due (CLOCK_MONOTONIC)
  Nanos firstAt = 0;      // when the first frame left; 0: not yet
  int framesSent = 0;
  bool failedOnce = false;  // a failure was reported: later ones are not (one report per address)

  // Resolves the interface (index, MAC) and builds the frames, unless already done for this index.
  bool Prepare(int sock, SysError* err);
  // Sends one round now (both ARP forms, or one NA) and schedules the next one.
  bool SendRound(int sock, Nanos now, SysError* err);
  // Nothing more to send (a refreshing job is never done; its owner cancels it).
  bool done() const { return rounds <= 0 && refresh == 0; }
  // "gratuitous ARP for 198.18.0.100 on eth0", for messages.
  std::string Describe() const;

 private:
  int ifindex_ = 0;
  uint8_t frames_[2][kNaFrameSize > kArpFrameSize ? kNaFrameSize : kArpFrameSize] = {};
  size_t frameSize_ = 0;
  int frameCount_ = 0;
};

}  // namespace hbd
