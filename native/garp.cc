#include "garp.h"

#include <cstring>

namespace hbd {

namespace {

constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void Build(uint16_t op, const uint8_t mac[6], const uint8_t ip[4], const uint8_t targetMac[6], uint8_t* f) {
  std::memset(f, 0, kArpFrameSize);
  std::memcpy(f, kBroadcast, 6);  // Ethernet destination
  std::memcpy(f + 6, mac, 6);     // Ethernet source
  f[12] = 0x08, f[13] = 0x06;     // EtherType ARP
  uint8_t* a = f + 14;
  a[0] = 0x00, a[1] = 0x01;       // hardware type Ethernet
  a[2] = 0x08, a[3] = 0x00;       // protocol type IPv4
  a[4] = 6, a[5] = 4;             // address sizes
  a[6] = 0x00, a[7] = static_cast<uint8_t>(op);
  std::memcpy(a + 8, mac, 6);     // sender hardware
  std::memcpy(a + 14, ip, 4);     // sender protocol
  std::memcpy(a + 18, targetMac, 6);
  std::memcpy(a + 24, ip, 4);     // target protocol: the same address (gratuitous)
}

}  // namespace

void BuildArpRequest(const uint8_t mac[6], const uint8_t ip[4], uint8_t out[kArpFrameSize]) { Build(1, mac, ip, kBroadcast, out); }

void BuildArpReply(const uint8_t mac[6], const uint8_t ip[4], uint8_t out[kArpFrameSize]) { Build(2, mac, ip, mac, out); }

}  // namespace hbd
