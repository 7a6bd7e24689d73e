#include "engine_receive.h"

namespace hbd {

namespace {

void AuthFail(const Datagram& d, const std::string& link, double mono, double wall, std::string reason, std::optional<std::string> node, std::vector<EngineEvent>* out) {
  out->push_back({mono, wall, AuthFailEvent{link, d.source, std::move(reason), std::move(node)}});
}

void Append(std::vector<LivenessEvent>&& events, double mono, double wall, std::vector<EngineEvent>* out) {
  for (LivenessEvent& e : events) out->push_back({mono, wall, std::move(e)});
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

void ReceiveDatagram(const ReceiveContext& ctx, const Datagram& d, const std::string& link, double mono, double wall, std::vector<EngineEvent>* out) {
  auto decoded = Decode(d.data, d.length, &ctx.keys);
  if (auto* err = std::get_if<DecodeError>(&decoded)) {
    AuthFail(d, link, mono, wall, std::string(DecodeErrorCodeName(err->code)) + " at byte " + std::to_string(err->offset) + ": " + err->detail, std::nullopt, out);
    return;
  }
  Decoded& packet = std::get<Decoded>(decoded);
  const std::string* claimed = StringField(packet.message, "src");
  std::optional<std::string> claimedNode = claimed ? std::optional<std::string>(*claimed) : std::nullopt;
  if (packet.auth.verdict != Verdict::Ok) {
    AuthFail(d, link, mono, wall, VerdictReason(packet.auth), claimedNode, out);
    return;
  }
  auto control = ReadControlFields(packet.message);
  if (auto* why = std::get_if<std::string>(&control)) {
    AuthFail(d, link, mono, wall, *why, claimedNode, out);
    return;
  }
  const ControlView& c = std::get<ControlView>(control);
  if (c.src != ctx.localNode && !ctx.liveness.IsPeer(c.src)) {
    AuthFail(d, link, mono, wall, "unknown node", c.src, out);
    return;
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
    Append(std::move(r.events), mono, wall, out);
    if (r.accepted) Learn(ctx, c);
    if (r.accepted) out->push_back({mono, wall, StatusEvent{c.src, link, std::move(packet.message), s.seq, c.generation}});
    return;
  }
  StatusOutcome r = ctx.liveness.Packet(mono, c.src, link, c.generation);
  Append(std::move(r.events), mono, wall, out);
  if (r.accepted) {
    Learn(ctx, c);
    const bool forUs = IsForUs(c, ctx.localNode, ctx.localUuid);
    const std::optional<int64_t> seq = c.seq;
    const int64_t generation = c.generation;
    std::string src = c.src;
    out->push_back({mono, wall, MessageEvent{std::move(src), link, std::move(packet.message), seq, generation, forUs}});
  }
}

}  // namespace hbd
