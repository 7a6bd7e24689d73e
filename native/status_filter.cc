#include "status_filter.h"

namespace hbd {

StatusFilter::StatusFilter(const std::vector<std::string>& peers, double holdMs) : holdMs_(holdMs) {
  peers_.resize(peers.size());
  for (size_t i = 0; i < peers.size(); i++) {
    peers_[i].node = peers[i];
    peers_[i].st.reserve(16);  // "active" and its kin: comparing and keeping them never allocates
  }
}

// A handful of nodes: a linear search beats hashing the name.
StatusFilter::Peer* StatusFilter::Find(std::string_view node) {
  for (Peer& p : peers_) {
    if (p.node == node) return &p;
  }
  return nullptr;
}

StatusFilter::Verdict StatusFilter::Status(std::string_view node, int64_t generation, int64_t seq, std::string_view st, bool protocol, double mono, double wall, std::vector<EngineEvent>* out) {
  Peer* p = Find(node);
  if (!p) return Verdict::Pass;
  if (p->known && generation == p->generation && seq == p->last + 1 && st == p->st && protocol == p->protocol) {
    if (p->held == 0) p->heldFrom = seq;
    p->monos[p->held++] = mono;
    p->lastWall = wall;
    p->last = seq;
    if (p->held == kMaxRun) Flush(*p, out);
    return Verdict::Hold;
  }
  Flush(*p, out);
  if (p->known && generation < p->generation) return Verdict::Pass;  // liveness drops these first
  if (p->known && generation == p->generation && seq <= p->last) return Verdict::Pass;  // a retransmission: content not applied
  p->known = true;
  p->generation = generation;
  p->last = seq;
  p->st.assign(st);
  p->protocol = protocol;
  return Verdict::PassNewest;
}

void StatusFilter::Passing(std::string_view node, int64_t generation, std::optional<int64_t> seq, std::vector<EngineEvent>* out) {
  Peer* p = Find(node);
  if (!p || !seq) return;
  Flush(*p, out);
  if (p->known && generation == p->generation) {
    if (*seq > p->last) p->last = *seq;
  } else {
    p->known = false;  // a message of another generation: let the next status set the reference
  }
}

void StatusFilter::Forget(std::string_view node, std::vector<EngineEvent>* out) {
  Peer* p = Find(node);
  if (!p) return;
  Flush(*p, out);
  p->known = false;
}

void StatusFilter::FlushDue(double now, std::vector<EngineEvent>* out) {
  for (Peer& p : peers_) {
    if (p.held > 0 && now - p.monos[0] >= holdMs_) Flush(p, out);
  }
}

void StatusFilter::Flush(Peer& p, std::vector<EngineEvent>* out) {
  if (p.held == 0) return;
  const double lastMono = p.monos[p.held - 1];
  out->push_back({lastMono, p.lastWall, StatusAdvanceEvent{p.node, p.generation, p.heldFrom, std::vector<double>(p.monos.begin(), p.monos.begin() + static_cast<std::ptrdiff_t>(p.held))}});
  p.held = 0;
}

}  // namespace hbd
