#include "liveness.h"

#include <algorithm>
#include <limits>

namespace hbd {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

LivenessEvent Event(LivenessEvent::Type type, std::string_view node, std::string_view link = {}) {
  LivenessEvent e;
  e.type = type;
  e.node = std::string(node);
  e.link = std::string(link);
  return e;
}

}  // namespace

const char* LivenessEventName(LivenessEvent::Type t) {
  switch (t) {
    case LivenessEvent::Type::PeerUp: return "peer-up";
    case LivenessEvent::Type::PeerLate: return "peer-late";
    case LivenessEvent::Type::PeerDead: return "peer-dead";
    case LivenessEvent::Type::PeerRestart: return "peer-restart";
    case LivenessEvent::Type::Replay: return "replay";
    case LivenessEvent::Type::LinkUp: return "link-up";
    case LivenessEvent::Type::LinkDead: return "link-dead";
    case LivenessEvent::Type::OwnStall: return "own-stall";
  }
  return "?";
}

double StallThresholdMs(double keepaliveMs) { return std::max(5.0, keepaliveMs / 2); }

double AdvertisedDeadtime(double dtMs) {
  if (!(dtMs > 0)) return 0;
  return std::min(dtMs, kMaxAdvertisedDeadtimeMs);
}

Liveness::Liveness(LivenessConfig cfg, double startMono) : cfg_(std::move(cfg)), graceUntil_(-kInfinity) {
  peers_.reserve(cfg_.nodes.size() + cfg_.pingNodes.size());  // never reallocated: index_ views stay valid
  for (const std::string& node : cfg_.nodes) Add(node, false, startMono);
  for (const std::string& node : cfg_.pingNodes) Add(node, true, startMono);
}

void Liveness::Add(const std::string& node, bool ping, double startMono) {
  if (node == cfg_.localNode || index_.count(node)) return;
  Peer p;
  p.node = node;
  p.lastStatus = startMono;
  p.dtMs = cfg_.deadtimeMs;
  p.ping = ping;
  peers_.push_back(std::move(p));
  index_.emplace(peers_.back().node, peers_.size() - 1);
}

Liveness::Peer* Liveness::Find(std::string_view node) {
  auto it = index_.find(node);
  return it == index_.end() ? nullptr : &peers_[it->second];
}

const Liveness::Peer* Liveness::Find(std::string_view node) const {
  auto it = index_.find(node);
  return it == index_.end() ? nullptr : &peers_[it->second];
}

bool Liveness::IsPeer(const std::string& node) const {
  const Peer* p = Find(node);
  return p && !p->ping;
}

bool Liveness::IsPingNode(const std::string& node) const {
  const Peer* p = Find(node);
  return p && p->ping;
}

double Liveness::Timeout(const Peer& p) const {
  if (p.ping) return cfg_.deadpingMs > 0 ? cfg_.deadpingMs : cfg_.deadtimeMs;
  return commUp_ ? p.dtMs : cfg_.initdeadMs;
}

const char* Liveness::PeerState(const std::string& node) const {
  const Peer* p = Find(node);
  if (!p) return nullptr;
  switch (p->state) {
    case State::Init: return "init";
    case State::Up: return "up";
    case State::Dead: return "dead";
  }
  return nullptr;
}

void SeqWindow::Reset() {
  high_ = -1;
  for (uint64_t& b : bits_) b = 0;
}

bool SeqWindow::Admit(int64_t seq) {
  if (seq < 0) return true;
  if (high_ < 0 || seq > high_) {
    if (high_ < 0 || seq - high_ >= kSize) {
      for (uint64_t& b : bits_) b = 0;
    } else {
      for (int64_t s = high_ + 1; s < seq; ++s) Clear(s);  // slots of seqs now out of the window
    }
    high_ = seq;
    Set(seq);
    return true;
  }
  if (high_ - seq >= kSize || Test(seq)) return false;
  Set(seq);
  return true;
}

StatusOutcome Liveness::Status(double now, const StatusInput& s) {
  StatusOutcome out;
  if (s.node == cfg_.localNode) {
    OwnLink(s.link, out.events);
    return out;
  }
  Peer* p = Find(s.node);
  if (!p || p->ping) return out;
  const int64_t oldGeneration = p->generation;
  if (!CheckGeneration(*p, s.generation, true, out.events)) return out;
  if (s.seq == p->lastSeq) {
    // The same status again: a copy on another medium proves that link; a replay proves nothing.
    auto it = std::find_if(p->links.begin(), p->links.end(), [&](const auto& kv) { return kv.first == s.link; });
    if (it == p->links.end() || it->second.lastSeq < s.seq) TouchLink(now, *p, s.link, s.seq, out.events);
    return out;
  }
  // A copy of an older status seen already (a replay, or a retransmission on a second medium).
  if (!p->seen.Admit(s.seq)) return out;
  out.accepted = true;
  // Older: only sequence tracking may use it (a retransmitted or reordered status).
  if (s.seq < p->lastSeq) return out;
  p->lastSeq = s.seq;
  // A peer that announced its shutdown sends its last statuses: sequenced, but it stays gone.
  if (p->departed) return out;
  UpInfo up;
  up.status = s.status;
  up.generation = s.generation;
  up.restarted = oldGeneration >= 0 && s.generation > oldGeneration;
  up.returned = p->state == State::Dead && p->heardAny;  // heard in this generation before
  Heard(now, *p, s.link, s.seq, up, out.events);
  const double dt = AdvertisedDeadtime(s.dtMs);
  if (dt > 0) p->dtMs = dt;
  return out;
}

void Liveness::MarkDead(std::string_view node) {
  Peer* p = Find(node);
  if (!p || p->ping) return;
  p->state = State::Dead;
  p->departed = true;
}

StatusOutcome Liveness::Ping(double now, const std::string& node, const std::string& link) {
  StatusOutcome out;
  Peer* p = Find(node);
  if (!p || !p->ping) return out;
  UpInfo up;
  up.status = "ping";
  Heard(now, *p, link, -1, up, out.events);
  out.accepted = true;
  return out;
}

void Liveness::Heard(double now, Peer& p, std::string_view link, int64_t seq, const UpInfo& up, std::vector<LivenessEvent>& events) {
  const double gap = now - p.lastStatus;
  if (p.state == State::Up && p.heardAny && gap > cfg_.warntimeMs) {
    LivenessEvent e = Event(LivenessEvent::Type::PeerLate, p.node, link);
    e.gapMs = gap;
    events.push_back(std::move(e));
  }
  if (p.state != State::Up) {
    LivenessEvent e = Event(LivenessEvent::Type::PeerUp, p.node, link);
    e.status = std::string(up.status);
    e.generation = up.generation;
    e.restarted = up.restarted;
    e.returned = up.returned;
    events.push_back(std::move(e));
    p.state = State::Up;
  }
  p.lastStatus = now;
  p.heardAny = true;
  TouchLink(now, p, link, seq, events);
}

StatusOutcome Liveness::Packet(double now, const std::string& node, const std::string& link, int64_t generation, int64_t seq) {
  StatusOutcome out;
  if (node == cfg_.localNode) {
    OwnLink(link, out.events);
    return out;
  }
  Peer* p = Find(node);
  if (!p || p->ping) return out;
  if (!CheckGeneration(*p, generation, false, out.events)) return out;
  // A message of a newer generation than its statuses have shown is passed on unjudged.
  if (generation == p->generation && !p->seen.Admit(seq)) return out;  // a copy: proves nothing
  TouchLink(now, *p, link, -1, out.events);
  out.accepted = true;
  return out;
}

std::vector<LivenessEvent> Liveness::Stalled(double now, double lateMs) {
  graceUntil_ = std::max(graceUntil_, now + 2 * cfg_.keepaliveMs + StallThresholdMs(cfg_.keepaliveMs));
  LivenessEvent e = Event(LivenessEvent::Type::OwnStall, "");
  e.lateMs = lateMs;
  return {e};
}

std::vector<LivenessEvent> Liveness::Tick(double now) {
  std::vector<LivenessEvent> events;
  if (now < graceUntil_) return events;
  for (Peer& p : peers_) {
    const double timeout = Timeout(p);
    if (p.state != State::Dead && now >= p.lastStatus + timeout) {
      p.state = State::Dead;
      LivenessEvent e = Event(LivenessEvent::Type::PeerDead, p.node);
      e.silentMs = now - p.lastStatus;
      e.timeoutMs = timeout;
      events.push_back(std::move(e));
    }
    for (auto& [link, l] : p.links) {
      if (l.up && now >= l.lastSeen + timeout) {
        l.up = false;
        events.push_back(Event(LivenessEvent::Type::LinkDead, p.node, link));
      }
    }
  }
  return events;
}

double Liveness::NextDeadline() const {
  double next = kInfinity;
  for (const Peer& p : peers_) {
    const double timeout = Timeout(p);
    if (p.state != State::Dead) next = std::min(next, p.lastStatus + timeout);
    for (const auto& [link, l] : p.links) {
      if (l.up) next = std::min(next, l.lastSeen + timeout);
    }
  }
  return next == kInfinity ? next : std::max(next, graceUntil_);
}

// Replays of an older generation are refused. Only a status starts a new generation (heartbeat:
// should_drop_message): then the sequence, the last-heard time and the link seqs start over.
bool Liveness::CheckGeneration(Peer& p, int64_t generation, bool isStatus, std::vector<LivenessEvent>& events) {
  if (p.generation >= 0 && generation < p.generation) {
    LivenessEvent e = Event(LivenessEvent::Type::Replay, p.node);
    e.generation = generation;
    e.currentGeneration = p.generation;
    events.push_back(std::move(e));
    return false;
  }
  if (isStatus && generation > p.generation) {
    if (p.generation >= 0) {
      LivenessEvent e = Event(LivenessEvent::Type::PeerRestart, p.node);
      e.oldGeneration = p.generation;
      e.generation = generation;
      events.push_back(std::move(e));
    }
    p.generation = generation;
    p.lastSeq = -1;
    p.seen.Reset();
    p.heardAny = false;  // no "Late heartbeat" measured across the restart
    p.departed = false;
    for (auto& [name, l] : p.links) l.lastSeq = -1;
  }
  return true;
}

void Liveness::TouchLink(double now, Peer& p, std::string_view link, int64_t seq, std::vector<LivenessEvent>& events) {
  auto it = std::find_if(p.links.begin(), p.links.end(), [&](const auto& kv) { return kv.first == link; });
  if (it == p.links.end()) {
    p.links.emplace_back(std::string(link), Link{false, now, -1});
    it = p.links.end() - 1;
  }
  it->second.lastSeen = now;
  it->second.lastSeq = std::max(it->second.lastSeq, seq);
  if (!it->second.up) {
    it->second.up = true;
    events.push_back(Event(LivenessEvent::Type::LinkUp, p.node, link));
  }
}

void Liveness::OwnLink(std::string_view link, std::vector<LivenessEvent>& events) {
  if (std::find(ownLinks_.begin(), ownLinks_.end(), link) != ownLinks_.end()) return;
  ownLinks_.emplace_back(link);
  events.push_back(Event(LivenessEvent::Type::LinkUp, cfg_.localNode, link));
}

}  // namespace hbd
