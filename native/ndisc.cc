#include "ndisc.h"

#include <cstring>

namespace hbd {

namespace {

constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
constexpr size_t kIcmpLength = 32;
constexpr uint8_t kIcmpv6 = 58;

// The ICMPv6 checksum: the one's complement sum over the pseudo-header (RFC 8200 §8.1) and the message.
uint16_t Icmpv6Checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t* icmp, size_t len) {
  uint32_t sum = 0;
  auto add = [&sum](const uint8_t* p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  };
  add(src, 16);
  add(dst, 16);
  sum += static_cast<uint32_t>(len);
  sum += kIcmpv6;
  add(icmp, len);  // len is even
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

void BuildUnsolicitedNa(const uint8_t mac[6], const uint8_t ip[16], uint8_t out[kNaFrameSize]) {
  std::memset(out, 0, kNaFrameSize);
  const uint8_t dstMac[6] = {0x33, 0x33, 0, 0, 0, 0x01};  // RFC 2464 §7: 33:33 + the group's low 32 bits
  std::memcpy(out, dstMac, 6);
  std::memcpy(out + 6, mac, 6);
  out[12] = 0x86, out[13] = 0xdd;
  uint8_t* ip6 = out + 14;
  ip6[0] = 0x60;  // version 6, traffic class and flow label 0
  ip6[4] = 0, ip6[5] = kIcmpLength;
  ip6[6] = kIcmpv6;
  ip6[7] = 255;
  std::memcpy(ip6 + 8, ip, 16);
  std::memcpy(ip6 + 24, kAllNodes, 16);
  uint8_t* na = ip6 + 40;
  na[0] = 136;      // neighbour advertisement
  na[4] = 0x20;     // R=0 S=0 O=1
  std::memcpy(na + 8, ip, 16);  // target
  na[24] = 2;       // option: target link-layer address
  na[25] = 1;       // in units of 8 bytes
  std::memcpy(na + 26, mac, 6);
  const uint16_t sum = Icmpv6Checksum(ip, kAllNodes, na, kIcmpLength);
  na[2] = static_cast<uint8_t>(sum >> 8), na[3] = static_cast<uint8_t>(sum & 0xff);
}

}  // namespace hbd
