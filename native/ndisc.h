// Unsolicited neighbour advertisement (RFC 4861 §7.2.6), the IPv6 twin of gratuitous ARP, as a
// complete Ethernet frame for an AF_PACKET SOCK_RAW socket: from the address itself to the
// all-nodes group ff02::1, hop limit 255 (receivers drop anything else as off-link), Override set
// and Solicited clear, with the target link-layer address option carrying our MAC.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hbd {

constexpr size_t kNaFrameSize = 14 + 40 + 32;  // Ethernet, IPv6, NA with one 8-byte option

void BuildUnsolicitedNa(const uint8_t mac[6], const uint8_t ip[16], uint8_t out[kNaFrameSize]);

}  // namespace hbd
