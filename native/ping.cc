#include "ping.h"

#include <arpa/inet.h>
#include <linux/icmp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "control.h"
#include "engine_receive.h"

namespace hbd {

namespace {

constexpr size_t kIcmpHeader = 8;  // type, code, checksum, identifier, sequence
constexpr size_t kMinIpHeader = 20;

uint16_t ReadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void WriteBe16(uint16_t v, char* p) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v & 0xff);
}

std::string AddressText(in_addr a) {
  char ip[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &a, ip, sizeof ip);
  return ip;
}

std::string Directive(const PingNodeSpec& n) { return (n.group ? "ping_group " : "ping ") + n.name; }

}  // namespace

uint16_t InternetChecksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += ReadBe16(data + i);
  if (len % 2) sum += static_cast<uint32_t>(data[len - 1]) << 8;  // the odd byte, zero-padded
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::string EchoRequest(uint16_t ident, uint16_t seq, const std::string& payload) {
  std::string pkt(kIcmpHeader, '\0');
  pkt[0] = static_cast<char>(ICMP_ECHO);
  pkt[1] = 0;
  WriteBe16(ident, &pkt[4]);
  WriteBe16(seq, &pkt[6]);
  pkt += payload;
  WriteBe16(InternetChecksum(reinterpret_cast<const uint8_t*>(pkt.data()), pkt.size()), &pkt[2]);
  return pkt;
}

std::optional<EchoReply> ParseEchoReply(const uint8_t* packet, size_t len, uint16_t ident) {
  if (len < kMinIpHeader || packet[0] >> 4 != 4) return std::nullopt;
  const size_t ihl = static_cast<size_t>(packet[0] & 0x0f) * 4;
  if (ihl < kMinIpHeader || len < ihl + kIcmpHeader || packet[9] != IPPROTO_ICMP) return std::nullopt;
  const uint8_t* icmp = packet + ihl;
  if (icmp[0] != ICMP_ECHOREPLY || icmp[1] != 0 || ReadBe16(icmp + 4) != ident) return std::nullopt;
  EchoReply r;
  std::memcpy(&r.source, packet + 12, sizeof r.source);
  r.seq = ReadBe16(icmp + 6);
  r.payload = icmp + kIcmpHeader;
  r.length = len - ihl - kIcmpHeader;
  return r;
}

std::variant<std::string, EncodeError> PingStatusPacket(const PingNodeSpec& node, int64_t ts, WireFormat format, const AuthKeys& keys) {
  Message m;
  SetField(m, "t", FieldType::String, "NS_st");
  SetField(m, "st", FieldType::String, "ping");
  SetField(m, "info", FieldType::String, node.group ? "ping_group" : "ping");
  SetField(m, "src", FieldType::String, node.name);
  SetField(m, "ts", FieldType::String, Hex(ts));
  // NetstringAuth is `netstring` plus the inner auth: exactly what add_msg_auth + msg2wirefmt give.
  return Encode(m, format == WireFormat::Netstring ? WireFormat::NetstringAuth : format, keys);
}

uint16_t NewPingIdent() {
  static std::atomic<uint16_t> engines{0};
  return static_cast<uint16_t>(getpid() + 0x0100 * engines.fetch_add(1));
}

PingMedium::PingMedium(std::vector<PingNodeSpec> nodes, uint16_t ident) : nodes_(std::move(nodes)), ident_(ident) {
  for (size_t i = 0; i < nodes_.size(); i++) {
    for (const std::string& a : nodes_[i].addresses) targets_.push_back(Target{i, a, {}, {}});
  }
}

std::optional<SysError> PingMedium::Open() {
  Close();
  if (!resolved_) {
    for (Target& t : targets_) {
      in_addr a{};
      if (auto e = ResolvePeer(t.address, &a, Directive(nodes_[t.node]))) return e;
      t.dest.sin_family = AF_INET;
      t.dest.sin_addr = a;
    }
    resolved_ = true;
  }
  const std::string what = "ping nodes: raw ICMP socket";
  sock_.reset(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (!sock_.valid()) {
    SysError e = LastError("socket(SOCK_RAW, IPPROTO_ICMP)", what);
    if (e.err == EPERM || e.err == EACCES) e.detail += " (needs root or CAP_NET_RAW, as heartbeat's ping media do)";
    return e;
  }
  const int on = 1;
  if (setsockopt(sock_.get(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) {
    SysError e = LastError("setsockopt(SO_TIMESTAMPNS)", what);
    Close();
    return e;
  }
  // Only echo replies reach us. Without the filter ParseEchoReply still drops the rest, but every
  // ICMP packet of the host then wakes the engine: worth a warning, not a refusal to start.
  icmp_filter filter{};
  filter.data = ~(1u << ICMP_ECHOREPLY);
  filterError_.reset();
  if (setsockopt(sock_.get(), SOL_RAW, ICMP_FILTER, &filter, sizeof filter) != 0) filterError_ = LastError("setsockopt(ICMP_FILTER)", what + ": every ICMP packet of this host is read and dropped by the engine");
  return std::nullopt;
}

std::vector<std::pair<std::string, SysError>> PingMedium::Send(int64_t ts, WireFormat format, const AuthKeys& keys) {
  std::vector<std::pair<std::string, SysError>> failures;
  if (!open()) return failures;
  std::vector<std::string> payloads;
  for (const PingNodeSpec& n : nodes_) {
    auto packet = PingStatusPacket(n, ts, format, keys);
    if (auto* err = std::get_if<EncodeError>(&packet)) {
      payloads.emplace_back();  // keeps the indexes; this node's targets report it below
      failures.emplace_back(n.name, SysError{"encode", EINVAL, Directive(n) + ": NS_st: " + err->detail});
      continue;
    }
    payloads.push_back(std::move(std::get<std::string>(packet)));
  }
  for (Target& t : targets_) {
    if (payloads[t.node].empty()) continue;
    const std::string pkt = EchoRequest(ident_, seq_++, payloads[t.node]);
    if (sendto(sock_.get(), pkt.data(), pkt.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&t.dest), sizeof t.dest) >= 0) {
      t.lastError.clear();
      continue;
    }
    SysError e = LastError("sendto", Directive(nodes_[t.node]) + ": echo request to " + t.address);
    const std::string key = e.syscall + ":" + ErrnoName(e.err);
    if (key == t.lastError) continue;
    t.lastError = key;
    failures.emplace_back(t.address, std::move(e));
  }
  return failures;
}

bool PingMedium::Receive(std::vector<uint8_t>& buffer, Datagram* out, std::optional<SysError>* err) {
  *err = std::nullopt;
  if (!open()) return false;
  return ReadDatagram(sock_.get(), buffer, out, err, "ping nodes: raw ICMP socket");
}

void PingMedium::Accept(const Datagram& d, const PingCheck& check, Liveness& live, double mono, double wall, std::vector<EngineEvent>* out) const {
  const auto reply = ParseEchoReply(d.data, d.length, ident_);
  if (!reply) return;
  const std::string from = AddressText(reply->source);
  auto fail = [&](const std::string& link, std::string reason, std::optional<std::string> node) {
    out->push_back({mono, wall, AuthFailEvent{link, from, std::move(reason), std::move(node)}});
  };
  if (d.truncated) return fail(from, "echo reply longer than " + std::to_string(kReceiveBuffer - 1) + " bytes", std::nullopt);
  auto decoded = Decode(reply->payload, reply->length, &check.keys);
  if (auto* err = std::get_if<DecodeError>(&decoded)) {
    return fail(from, "echo reply: " + std::string(DecodeErrorCodeName(err->code)) + " at byte " + std::to_string(err->offset) + ": " + err->detail, std::nullopt);
  }
  const Decoded& packet = std::get<Decoded>(decoded);
  const std::string* src = StringField(packet.message, "src");
  std::optional<std::string> claimed = src ? std::optional<std::string>(*src) : std::nullopt;
  if (packet.auth.verdict != Verdict::Ok) return fail(from, "echo reply: " + VerdictReason(packet.auth), claimed);
  // The ping node named by src, answering from one of its own addresses, in the plugin's words.
  const Target* target = nullptr;
  for (const Target& t : targets_) {
    if (src && nodes_[t.node].name == *src && t.dest.sin_addr.s_addr == reply->source.s_addr) target = &t;
  }
  if (!target) return fail(from, "echo reply: src " + (src ? "\"" + *src + "\"" : std::string("(none)")) + " is not a ping node at " + from, claimed);
  const PingNodeSpec& node = nodes_[target->node];
  const std::string* t = StringField(packet.message, "t");
  const std::string* info = StringField(packet.message, "info");
  const char* plugin = node.group ? "ping_group" : "ping";
  if (!t || *t != "NS_st" || !info || *info != plugin) return fail(target->address, "echo reply: not the NS_st of " + Directive(node) + " (t, info)", claimed);
  const std::string* ts = StringField(packet.message, "ts");
  const auto stamp = ts ? ParseHex(*ts) : std::nullopt;
  if (!stamp) return fail(target->address, "echo reply: ts is not hex", claimed);
  if (*stamp + check.maxAgeSec < check.nowSec) {
    return fail(target->address, "echo reply: stale (ts " + std::to_string(check.nowSec - *stamp) + " s old, limit " + std::to_string(check.maxAgeSec) + " s): replayed?", claimed);
  }
  StatusOutcome r = live.Ping(mono, node.name, target->address);
  for (LivenessEvent& e : r.events) out->push_back({mono, wall, std::move(e)});
}

}  // namespace hbd
