// Gratuitous ARP frames (RFC 5227 §3, RFC 5944 §4.6): the new owner of an IPv4 address tells the
// segment its MAC. Both forms are built because some switches and routers update their tables
// only from requests and others only from replies. Each is a complete Ethernet frame for an
// AF_PACKET SOCK_RAW socket, padded to the 60-byte Ethernet minimum.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hbd {

constexpr size_t kArpFrameSize = 60;

// Request (opcode 1): sender = target = ip, target hardware ff:ff:ff:ff:ff:ff, as IPaddr's send_arp.
void BuildArpRequest(const uint8_t mac[6], const uint8_t ip[4], uint8_t out[kArpFrameSize]);
// Reply (opcode 2): sender = target = ip, target hardware = our MAC, to the Ethernet broadcast.
void BuildArpReply(const uint8_t mac[6], const uint8_t ip[4], uint8_t out[kArpFrameSize]);

}  // namespace hbd
