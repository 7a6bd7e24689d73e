// The engine's side of the takeover fast path (native/plan.h), kept apart from the engine loop:
// a peer-dead from Liveness::Tick runs that peer's plan at once on this thread, and the announce
// rounds that follow are due times folded into the engine's timerfd.
#include "clock.h"
#include "engine.h"

namespace hbd {

std::optional<SysError> Engine::SetTakeoverPlan(const std::string& node, std::optional<PlanSpec> plan) { return plans_.Set(node, std::move(plan)); }

void Engine::RunTakeoverPlans(size_t from, double deadAtMs, std::vector<EngineEvent>& events) {
  for (size_t i = from; i < events.size(); i++) {
    const auto* dead = std::get_if<LivenessEvent>(&events[i].body);
    if (!dead || dead->type != LivenessEvent::Type::PeerDead) continue;
    auto report = plans_.Execute(dead->node, MsToNanosCeil(deadAtMs));
    if (!report) continue;
    const Nanos now = MonoNanos();
    events.insert(events.begin() + static_cast<std::ptrdiff_t>(i) + 1, EngineEvent{NanosToMs(now), NanosToMs(now + RealtimeOffset()), std::move(*report)});
    i++;
  }
}

void Engine::FireAnnouncements(Nanos now, std::vector<EngineEvent>& events) {
  std::vector<SysError> failures;
  plans_.Fire(now, &failures);
  for (SysError& e : failures) events.push_back(EngineEvent{NanosToMs(now), NanosToMs(now + RealtimeOffset()), WarningEvent{std::move(e)}});
}

}  // namespace hbd
