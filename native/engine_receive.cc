#include "engine_receive.h"

#include <utility>

namespace hbd {

namespace {

// Counts a failure; `describe` (reason, claimed node) runs only for the first of its source's
// window, so that a flood costs a table lookup per packet, not strings.
template <typename Describe>
void AuthFail(const ReceiveContext& ctx, const Datagram& d, const std::string& link, double mono, Describe describe) {
  char source[32];
  FormatSource(d.from, source);
  AuthFailEvent* e = ctx.authFails.Note(link, source, mono);
  if (!e) return;
  auto [reason, node] = describe();
  e->reason = EscapeForLog(reason, 512);
  if (node) e->node = EscapeForLog(*node);
}

std::string DecodeReason(const DecodeError& err) { return std::string(DecodeErrorCodeName(err.code)) + " at byte " + std::to_string(err.offset) + ": " + err.detail; }

using Description = std::pair<std::string, std::optional<std::string>>;

// The full decode of a packet refused before parsing: its exact reason and claimed src.
Description DescribeRefused(const ReceiveContext& ctx, const Datagram& d) {
  auto decoded = Decode(d.data, d.length, &ctx.keys);
  if (auto* err = std::get_if<DecodeError>(&decoded)) return {DecodeReason(*err), std::nullopt};
  const Decoded& packet = std::get<Decoded>(decoded);
  const std::string* src = StringField(packet.message, "src");
  // Decode can only disagree with the pre-check about the trailer's framing (e.g. leading zeros).
  return {packet.auth.verdict != Verdict::Ok ? VerdictReason(packet.auth) : "auth trailer not in canonical form", src ? std::optional<std::string>(*src) : std::nullopt};
}

// A packet of an older generation (a capture replayed after its sender restarted) is refused like
// a forged one: counted per source and second, never one event per packet — whoever holds a
// capture chooses the rate. The wording is lib/transport/inbound.ts replayReason()'s.
void Append(const ReceiveContext& ctx, const Datagram& d, const std::string& link, std::vector<LivenessEvent>&& events, double mono, double wall, std::vector<EngineEvent>* out) {
  for (LivenessEvent& e : events) {
    if (e.type != LivenessEvent::Type::Replay) {
      out->push_back({mono, wall, std::move(e)});
      continue;
    }
    AuthFail(ctx, d, link, mono, [&] {
      return Description{"replayed packet of an older generation [gen = " + std::to_string(e.generation) + ", curgen = " + std::to_string(e.currentGeneration) + "]", e.node};
    });
  }
}

// Only accepted packets teach a UUID (a replayed one must not).
void Learn(const ReceiveContext& ctx, const ControlView& c) {
  if (c.srcuuid && c.srcuuid->size() == 16) ctx.outbox.LearnUuid(c.src, *c.srcuuid);
}

}  // namespace

std::string VerdictReason(const AuthVerdict& v) {
  switch (v.verdict) {
    case Verdict::BadSignature: return "bad signature (key " + std::to_string(v.index) + ", " + AuthMethodName(v.method) + ")";
    case Verdict::UnknownKeyIndex: return "key index " + std::to_string(v.index) + " is not in authkeys";
    case Verdict::Unsigned: return "unsigned packet";
    case Verdict::Unverified: return "signature not verified";
    case Verdict::Ok: break;
  }
  return "ok";
}

bool ReceiveDatagram(const ReceiveContext& ctx, const Datagram& d, const std::string& link, double mono, double wall, std::vector<EngineEvent>* out) {
  AuthVerdict verified;
  const PreAuth pre = ctx.verifier.Check(d.data, d.length, &verified);
  if (pre == PreAuth::Fail) {
    AuthFail(ctx, d, link, mono, [&] { return DescribeRefused(ctx, d); });
    return false;
  }
  auto decoded = Decode(d.data, d.length, pre == PreAuth::Ok ? nullptr : &ctx.keys);
  if (auto* err = std::get_if<DecodeError>(&decoded)) {
    AuthFail(ctx, d, link, mono, [&] { return Description{DecodeReason(*err), std::nullopt}; });
    return false;
  }
  Decoded& packet = std::get<Decoded>(decoded);
  if (pre == PreAuth::Ok) packet.auth = verified;
  auto claimed = [&]() -> std::optional<std::string> {
    const std::string* src = StringField(packet.message, "src");
    return src ? std::optional<std::string>(*src) : std::nullopt;
  };
  if (packet.auth.verdict != Verdict::Ok) {
    AuthFail(ctx, d, link, mono, [&] { return Description{VerdictReason(packet.auth), claimed()}; });
    return false;
  }
  auto control = ReadControlFields(packet.message);
  if (auto* why = std::get_if<std::string>(&control)) {
    AuthFail(ctx, d, link, mono, [&] { return Description{*why, claimed()}; });
    return false;
  }
  const ControlView& c = std::get<ControlView>(control);
  if (c.src != ctx.localNode && !ctx.liveness.IsPeer(c.src)) {
    AuthFail(ctx, d, link, mono, [&] { return Description{"unknown node", c.src}; });
    return false;
  }
  if (c.type == "status") {
    StatusInput s;
    s.node = c.src;
    s.link = link;
    s.generation = c.generation;
    s.seq = *c.seq;
    const std::string* st = StringField(packet.message, "st");
    if (st) s.status = *st;
    const std::string* dt = StringField(packet.message, "dt");
    const auto dtMs = dt ? ParseHex(*dt) : std::nullopt;
    s.dtMs = dtMs ? static_cast<double>(*dtMs) : 0;
    StatusOutcome r = ctx.liveness.Status(mono, s);
    if (!r.events.empty()) ctx.statuses.Forget(c.src, out);
    Append(ctx, d, link, std::move(r.events), mono, wall, out);
    if (!r.accepted) return c.src == ctx.localNode;
    Learn(ctx, c);
    const auto verdict = ctx.statuses.Status(c.src, c.generation, s.seq, s.status, StringField(packet.message, "protocol") != nullptr, mono, wall, out);
    if (verdict != StatusFilter::Verdict::Hold) {
      out->push_back({mono, wall, StatusEvent{c.src, link, std::move(packet.message), s.seq, c.generation, verdict == StatusFilter::Verdict::PassNewest}});
    }
    return c.src == ctx.localNode;
  }
  StatusOutcome r = ctx.liveness.Packet(mono, c.src, link, c.generation, c.seq ? *c.seq : -1);
  if (!r.events.empty()) ctx.statuses.Forget(c.src, out);
  Append(ctx, d, link, std::move(r.events), mono, wall, out);
  if (r.accepted) {
    Learn(ctx, c);
    ctx.statuses.Passing(c.src, c.generation, c.seq, out);
    const bool forUs = IsForUs(c, ctx.localNode, ctx.localUuid);
    const std::optional<int64_t> seq = c.seq;
    const int64_t generation = c.generation;
    std::string src = c.src;
    out->push_back({mono, wall, MessageEvent{std::move(src), link, std::move(packet.message), seq, generation, forUs}});
  }
  return c.src == ctx.localNode;
}

}  // namespace hbd
