// The engine's takeover fast path: per peer, a standing plan from the resource policy — "when this
// peer is declared dead, add these addresses and start their announcements" — run by the engine
// thread at the death deadline itself, so the addresses move on time even while JavaScript is
// blocked. JavaScript replaces a plan under a short lock (Set); everything the engine needs at fire
// time (sockets, frames, result slots) is built then, so executing allocates nothing until the
// report. A plan fires once; the policy sets it again when it wants. After the first round the
// announce bursts continue from the engine's own timer (NextDeadline/Fire).
#pragma once
#include <memory>
#include <mutex>

#include "pi_mutex.h"
#include <optional>
#include <string>
#include <vector>

#include "addr.h"
#include "announce.h"
#include "clock.h"
#include "fd.h"
#include "sys_error.h"

namespace hbd {

struct PlanSpec {
  std::vector<Vip> vips;  // in group order
  int count = 5;          // announce rounds per address
  double intervalMs = 200;
};

struct PlanVipResult {
  Vip vip;
  bool ok = false;       // added (or present) and the first announcement left
  bool changed = false;
  char label[IF_NAMESIZE] = "";
  Nanos addedAt = 0;     // 0: the add failed
  Nanos firstAnnounceAt = 0;  // 0: none left
  std::optional<SysError> error;  // the first failure (add, or the first announcement)
};

// What a fired plan reports (the 'plan-executed' event).
struct PlanReport {
  std::string node;
  double deadAtMono = 0;  // ms: the death deadline the plan ran at
  std::vector<PlanVipResult> results;
};

class TakeoverPlans {
 public:
  // JavaScript's thread. nullopt clears the node's plan. Opens the netlink and packet sockets on
  // first use (so a missing privilege is an error now, not at a death) and builds the frames for
  // interfaces that exist (others are resolved when the plan fires).
  std::optional<SysError> Set(const std::string& node, std::optional<PlanSpec> spec);

  // The engine thread, when `node` has just been declared dead at `deadAt`: runs its plan if one is set.
  std::optional<PlanReport> Execute(const std::string& node, Nanos deadAt);
  // The engine thread: when the next announce round is due (kNever-like max when none).
  Nanos NextDeadline();
  // The engine thread: sends the rounds due at `now`. Failures of later rounds are reported once per address.
  void Fire(Nanos now, std::vector<SysError>* failures);

 private:
  struct Plan {
    std::string node;
    PlanSpec spec;
    std::vector<AnnounceJob> jobs;  // one per address
    std::vector<PlanVipResult> results;
  };

  PiMutex mu_;  // shared with the realtime engine thread: priority inheritance
  std::vector<std::unique_ptr<Plan>> pending_;  // at most one per node
  std::vector<std::unique_ptr<Plan>> running_;  // fired, announcing; capacity kept ≥ pending + running
  Rtnl rtnl_;        // used by the engine thread only, once opened
  Fd packet_;
};

}  // namespace hbd
