// Which of a peer's statuses JavaScript needs to see (JS hears about changes, not every packet).
// lib/membership needs every seq of a peer (gaps, retransmission requests, an ACK every 10th seq)
// but reads a status's content (st, protocol) only when it changes. A status that is exactly the
// next seq of the generation JavaScript last heard, with the same content as the newest one it
// heard, is therefore held back here and reported later, together with the ones after it, in one
// StatusAdvanceEvent (its seqs and arrival times, which membership applies as if each had come);
// everything else passes at once, after the run held back for its node, so that order is kept.
// A run goes out after holdMs (checked whenever the engine wakes: at the latest at its next beat),
// when kMaxRun statuses are held, or before a sequenced message or liveness event of its node.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine_events.h"

namespace hbd {

class StatusFilter {
 public:
  static constexpr size_t kMaxRun = 32;
  enum class Verdict { Hold, Pass, PassNewest };

  // `peers`: the normal nodes other than the local one; statuses of other nodes always pass.
  StatusFilter(const std::vector<std::string>& peers, double holdMs);

  // A status liveness accepted; `st`/`protocol`: its st field and whether it has a protocol field.
  Verdict Status(std::string_view node, int64_t generation, int64_t seq, std::string_view st, bool protocol, double mono, double wall, std::vector<EngineEvent>* out);
  // A message of `node` goes to JavaScript now. A sequenced one (`seq` of `generation`) is
  // sequenced by JavaScript after the held run, which goes first; an unsequenced one (NS_ackmsg,
  // NS_rexmit, …) touches no seq of the peer's stream and leaves the run alone.
  void Passing(std::string_view node, int64_t generation, std::optional<int64_t> seq, std::vector<EngineEvent>* out);
  // JavaScript's view of `node` changes in ways the filter does not follow (a liveness event: a
  // death, return, restart, replay or link change; a shutdown notice): its held run goes out and
  // its next status passes.
  void Forget(std::string_view node, std::vector<EngineEvent>* out);
  // The runs held for holdMs or longer at `now` (mono ms).
  void FlushDue(double now, std::vector<EngineEvent>* out);

 private:
  struct Peer {
    std::string node;
    bool known = false;       // JavaScript heard a status of `generation` (the filter's reference)
    int64_t generation = 0;
    int64_t last = 0;         // the highest seq of `generation` JavaScript has or will have
    std::string st;           // content of the newest status passed
    bool protocol = false;
    size_t held = 0;          // statuses held: seqs heldFrom … last
    int64_t heldFrom = 0;
    double lastWall = 0;
    std::array<double, kMaxRun> monos{};
  };

  Peer* Find(std::string_view node);
  void Flush(Peer& p, std::vector<EngineEvent>* out);

  std::vector<Peer> peers_;
  double holdMs_;
};

}  // namespace hbd
